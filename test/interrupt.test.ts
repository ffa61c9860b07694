/**
 * Ctrl-C during a run (host/interrupt.ts): the run ends at its next quantum as if its
 * time were up — the summary printed, the trace closed with its end record — and ferry
 * exits with 130. The real executable, a real SIGINT.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FERRY_BIN, ROOT, hasCore } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs ferry with `args`, sends SIGINT once it has written its first trace records, and collects what it wrote. */
function interruptedRun(args: string[], trace: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    const started = setInterval(() => {
      // The trace is written beside its final name until the run ends (host/trace.ts): once it grows, the run is under way.
      const written = readdirSync(dir).some((name) => statSync(join(dir, name)).size > 0);
      if (written) { clearInterval(started); child.kill('SIGINT'); }
    }, 50);
    child.on('error', reject);
    child.on('close', (status) => { clearInterval(started); resolve({ status, stdout, stderr }); });
  });
}

describe.skipIf(!hasCore())('Ctrl-C', () => {
  it('a board run ends cleanly: summary, the trace\'s end record, exit 130', async () => {
    const trace = join(dir, 'board.jsonl');
    const result = await interruptedRun(['run', '--board', join(ROOT, 'boards', 'quad.json'), '--duration', '600s', '--summary', '--trace', trace], trace);
    expect(result.status).toBe(130);
    expect(result.stdout).toMatch(/^board quad: 4 processors, 8 VMs, .* of virtual time, interrupted \(Ctrl-C\)$/m);
    expect(result.stderr).toMatch(/^interrupted \(Ctrl-C\) after \d+ ns of virtual time$/m);
    const last = JSON.parse(readFileSync(trace, 'utf8').trimEnd().split('\n').pop()!) as { event: string; end: string; exitStatus: number };
    expect(last).toMatchObject({ event: 'run-end', end: 'interrupted', exitStatus: 130 });
  }, 60_000);
});
