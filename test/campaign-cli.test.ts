/**
 * `ferry campaign`, `ferry campaign merge` and `ferry replay` as a user runs them (the
 * real executable): records as whole lines, Ctrl-C and resuming, shards merged into what
 * one run gives, a trial replayed byte for byte (with its trace), `ferry report` on a
 * real campaign's output, and hostile campaign sections refused with their JSON path.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCampaignRecords } from '../host/reliability/campaign-records.js';
import { runFerry } from './helpers/ferry-cli.js';
import { FERRY_BIN, ROOT } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-campaign-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PAIR = join(ROOT, 'scenarios', 'pair-partitions.json');

function sortedLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '').sort();
}

function campaign(out: string, ...extra: string[]) {
  return runFerry(['campaign', PAIR, '--trials', '30', '--seed', '4', '--workers', '2', '-o', out, ...extra], 120_000);
}

/** One run of the whole campaign, the reference the others are compared with. */
const reference = join(dir, 'reference.jsonl');

describe('ferry campaign', () => {
  it('writes one record per trial and prints the summary; --json prints it as JSON', async () => {
    const result = campaign(reference, '--json');
    expect(result.stderr).toBe('');
    const summary = JSON.parse(result.stdout) as { trials: number; outcomes: { outcome: string; count: number }[]; verdict: { valid: boolean }; determinism: { checked: number[]; mismatches: number[] } };
    expect(summary.trials).toBe(30);
    expect(summary.outcomes.reduce((sum, row) => sum + row.count, 0)).toBe(30);
    expect(summary.determinism.mismatches).toEqual([]);
    expect(result.status).toBe(summary.verdict.valid ? 0 : 1);
    const records = await readCampaignRecords(reference);
    expect(records.map((record) => record.trial).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  }, 240_000);

  it('a rerun finds every trial there and runs none; the table form names outcomes and the verdict', () => {
    const copy = join(dir, 'again.jsonl');
    writeFileSync(copy, readFileSync(reference));
    const result = campaign(copy);
    expect(result.stdout).toMatch(/^campaign pair-partitions .*: 30 of 30 trials in .* \(0 run now\)$/m);
    expect(result.stdout).toMatch(/^double-active +0 +0\.0 % +< 9\.5e-2$/m);
    expect(result.stdout).toMatch(/^0 double-active in 30 trials: < 9\.5e-2 at 95 %$/m);
    expect(result.stdout).toMatch(/^verdict: (valid|INVALID)/m);
    expect(sortedLines(copy)).toEqual(sortedLines(reference));
  });

  it('Ctrl-C: exit 130 with whole lines only; the same command resumes to the records one run gives', async () => {
    const out = join(dir, 'interrupted.jsonl');
    const result = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [FERRY_BIN, 'campaign', PAIR, '--trials', '30', '--seed', '4', '--workers', '1', '-o', out], { cwd: ROOT });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
      const started = setInterval(() => {
        if (existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 3) { clearInterval(started); child.kill('SIGINT'); }
      }, 20);
      child.on('error', reject);
      child.on('close', (status) => { clearInterval(started); resolve({ status, stderr }); });
    });
    expect(result.status).toBe(130);
    expect(result.stderr).toMatch(/interrupted \(Ctrl-C\): \d+ trials in .*; run the same command again to resume/);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const partial = (await readCampaignRecords(out)).length;
    expect(partial).toBeLessThan(30);
    const resumed = runFerry(['campaign', PAIR, '--trials', '30', '--seed', '4', '--workers', '2', '-o', out], 120_000);
    expect(resumed.stdout).toMatch(new RegExp(`30 of 30 trials in .* \\(${30 - partial} run now\\)`));
    expect(sortedLines(out)).toEqual(sortedLines(reference));
  }, 240_000);

  it('refuses a results file of another campaign (exit 2, one line)', () => {
    const result = runFerry(['campaign', PAIR, '--trials', '31', '--seed', '4', '-o', reference]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ferry: error: results .*reference\.jsonl: holds another campaign \(scenario .*pair-partitions\.json, seed 4, 30 trials\): give another -o, or remove it to start afresh\n$/);
  });

  it('refuses bad options: no trials, a bad shard', () => {
    expect(runFerry(['campaign', PAIR, '-o', join(dir, 'x.jsonl')]).stderr).toMatch(/^ferry: error: campaign needs --trials <n>/);
    const shard = runFerry(['campaign', PAIR, '--trials', '3', '--shard', '3/2', '-o', join(dir, 'x.jsonl')]);
    expect(shard.status).toBe(2);
    expect(shard.stderr).toMatch(/--shard: expected i\/n with 1 <= i <= n/);
  });
});

describe('shards and merge', () => {
  it('two shards merged give the records of one run, sorted by trial', () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    expect(campaign(a, '--shard', '1/2').stdout).toMatch(/15 of 30 trials .*\(15 run now\)/);
    expect(campaign(b, '--shard', '2/2').stdout).toMatch(/15 of 30 trials/);
    const all = join(dir, 'all.jsonl');
    const merged = runFerry(['campaign', 'merge', a, b, '-o', all]);
    expect(merged.status).toBe(0);
    expect(merged.stdout).toMatch(/^merged 2 files into .*all\.jsonl: 30 of 30 trials of pair-partitions \(seed 4\)$/m);
    expect(sortedLines(all)).toEqual(sortedLines(reference));
    const trials = readFileSync(all, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { trial: number }).trial);
    expect(trials).toEqual([...trials].sort((x, y) => x - y));
    // The same file twice: every trial given twice with the same record is kept once.
    expect(runFerry(['campaign', 'merge', all, a, '-o', join(dir, 'twice.jsonl')]).stdout).toMatch(/15 given twice with the same record/);
  }, 240_000);

  it('refuses mixing campaigns, and a trial given twice with different records', () => {
    const other = join(dir, 'other.jsonl');
    runFerry(['campaign', PAIR, '--trials', '30', '--seed', '5', '--shard', '1/10', '-o', other]);
    const mixed = runFerry(['campaign', 'merge', reference, other, '-o', join(dir, 'm.jsonl')]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/other\.jsonl: holds another campaign than .*reference\.jsonl/);
    const tampered = join(dir, 'tampered.jsonl');
    const first = readFileSync(reference, 'utf8').split('\n')[0]!;
    writeFileSync(tampered, `${first.replace('"deadlineMisses":', '"deadlineMisses":9')}\n`);
    const clash = runFerry(['campaign', 'merge', reference, tampered, '-o', join(dir, 'm.jsonl')]);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toMatch(/tampered\.jsonl: trial \d+ is also in .*reference\.jsonl with another record/);
  }, 240_000);
});

describe('ferry replay', () => {
  it('reruns a trial with a trace and finds its record byte-identical', () => {
    const trace = join(dir, 'trial.jsonl');
    const result = runFerry(['replay', reference, '--trial', '7', '--trace', trace]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^trial 7 \(seed \d+\): [a-z-]+; \d+ faults, \d+ failovers; trace in .*trial\.jsonl$/m);
    expect(result.stdout).toMatch(/the record is byte-identical to the one in/);
    const records = readFileSync(trace, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(records[0]!.event).toBe('run-start');
    expect(records.at(-1)!.event).toBe('run-end');
  });

  it('says where a record differs and exits 1; refuses a trial the file lacks', () => {
    const tampered = join(dir, 'replay-tampered.jsonl');
    const line = readFileSync(reference, 'utf8').split('\n').find((text) => text.includes('"trial":3,'))!;
    writeFileSync(tampered, `${line.replace('"deadlineMisses":', '"deadlineMisses":9')}\n`);
    const result = runFerry(['replay', tampered, '--trial', '3']);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/the record DIFFERS from the one in .*, from character \d+/);
    const missing = runFerry(['replay', tampered, '--trial', '4']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/has no trial 4/);
  });
});

describe('ferry report on a real campaign', () => {
  it('reads the records and writes the report, with the board from the scenario', () => {
    const out = join(dir, 'report');
    const result = runFerry(['report', reference, '-o', out, '--json'], 120_000);
    expect(result.status).toBe(0);
    const written = JSON.parse(result.stdout) as { report: string; trials: number };
    expect(written.trials).toBe(30);
    expect(existsSync(written.report)).toBe(true);
  });
});

describe('hostile campaign sections', () => {
  const board = join(ROOT, 'boards', 'pair-protected.json');
  function refused(section: unknown): string {
    const name = `hostile-${Math.random().toString(36).slice(2)}`;
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ board, duration: '100ms', campaign: section }));
    const result = runFerry(['campaign', path, '--trials', '2', '-o', join(dir, `${name}.jsonl`)], 120_000);
    expect(result.status, `${result.stderr}${result.stdout}`).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l !== ''), result.stderr).toHaveLength(1);
    return result.stderr;
  }

  it.each([
    [{ repair: { time: '10ms' } }, /\/campaign\/repair: repairs what fails: it needs "failStop"/],
    [{ failStop: { distribution: 'exponential', perS: 1 }, repair: { time: '10ms', distribution: 'normal' } }, /\/campaign\/repair\/distribution: must be one of "exponential", "fixed"/],
    [{ failStop: { distribution: 'exponential', perS: 1 }, repair: { time: '0ms' } }, /\/campaign\/repair\/time: must be longer than 0/],
    [{ failStop: { distribution: 'weibull', perS: 1 } }, /\/campaign\/failStop\/perS: does not go with distribution "weibull"/],
    [{ failStop: { distribution: 'exponential' } }, /\/campaign\/failStop: an exponential distribution needs "perS"/],
    [{ failStop: { distribution: 'gamma' } }, /\/campaign\/failStop\/distribution: must be one of "exponential", "weibull"/],
    [{ failStop: { distribution: 'exponential', perS: -1 } }, /\/campaign\/failStop\/perS: must be at least 0/],
    [{ processors: [0, 9] }, /\/campaign\/processors\/1: is no processor of board pair-protected/],
    [{ partitions: { perS: 1, for: '5 seconds' } }, /\/campaign\/partitions\/for: must be a virtual time with a unit/],
    [{ flips: { vms: ['nope'] } }, /\/campaign\/flips\/vms\/0: names no VM of board pair-protected/],
    [{ links: { drop: 2 } }, /\/campaign\/links\/drop: must be at most 1/],
    [{ warning: { perS: 1 } }, /\/campaign\/warning\/lead: is required/],
    [{ horizon: '0ms' }, /\/campaign\/horizon: must be longer than 0/],
    [{ teleport: true }, /\/campaign\/teleport: unknown property/],
  ])('%j is refused with its JSON pointer', (section, message) => {
    expect(refused(section)).toMatch(message);
  });

  it('a processor without a failureRate cannot be accelerated', () => {
    const bare = JSON.parse(readFileSync(board, 'utf8')) as { processors: { failureRate?: string }[]; $schema?: string };
    delete bare.processors[1]!.failureRate;
    delete bare.$schema;
    const boardPath = join(dir, 'bare-board.json');
    writeFileSync(boardPath, JSON.stringify({ ...bare, vms: (bare as unknown as { vms: { image: string }[] }).vms.map((vm) => ({ ...vm, image: join(ROOT, 'guests', 'build', vm.image.replace(/^.*\//, '')) })) }));
    const path = join(dir, 'bare.json');
    writeFileSync(path, JSON.stringify({ board: boardPath, campaign: { horizon: '50ms', failStop: { distribution: 'exponential', acceleration: 1e6 } } }));
    const result = runFerry(['campaign', path, '--trials', '2', '-o', join(dir, 'h.jsonl')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/\/campaign\/failStop\/acceleration: processor 1 of board pair-protected has no failureRate to accelerate/);
  });
});
