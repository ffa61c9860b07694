/** Runs the real `ferry` executable (bin/ferry.js) as a user would. */
import { spawnSync } from 'node:child_process';
import { FERRY_BIN, ROOT } from './paths.js';

export interface FerryResult {
  status: number | null;
  /** Raw bytes, as the guest wrote them. */
  stdoutBytes: Buffer;
  stdout: string;
  stderr: string;
}

export function runFerry(args: string[], timeoutMs = 50_000): FerryResult {
  const result = spawnSync(process.execPath, [FERRY_BIN, ...args], { cwd: ROOT, timeout: timeoutMs });
  if (result.error !== undefined) throw result.error;
  return {
    status: result.status,
    stdoutBytes: result.stdout,
    stdout: result.stdout.toString('utf8'),
    stderr: result.stderr.toString('utf8'),
  };
}

/** Non-empty lines of a stream. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}
