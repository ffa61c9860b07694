/**
 * Runs the `ferry` command line in this process (host/cli.ts main) with its
 * output captured: the same parser, commands and error handling as bin/ferry.js,
 * without a node start per case, so a suite can try hundreds of inputs.
 */
import { main } from '../../host/cli.js';

export interface MainResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function ferryMain(args: string[]): Promise<MainResult> {
  const out: string[] = [];
  const err: string[] = [];
  const text = (chunk: Uint8Array | string): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  const status = await main(args, {
    stdout: { write: (chunk) => out.push(text(chunk)) },
    stderr: { write: (chunk) => err.push(text(chunk)) },
  });
  return { status, stdout: out.join(''), stderr: err.join('') };
}
