/**
 * Where trials run: a TrialExecutor takes trial specs and hands back each trial's record
 * line as it is done, in any order. The campaign (campaign-run.ts) does not care where:
 * the local worker-thread pool (pool.ts), a queue of machines, or this process
 * (inlineExecutor, for one trial — ferry replay — and for tests).
 */
import { runTrial } from './trial.js';
import type { TrialSpec } from './trial.js';

export type { TrialSpec };

export interface TrialExecutor {
  /**
   * Runs every spec and calls `onLine` with each trial's record line (no newline) as it
   * finishes; resolves once all are done. With `signal` aborted it starts no more trials,
   * lets those under way finish (their lines still come) and resolves.
   * A spec the trial runner refuses (a changed scenario, a trial out of range) rejects.
   */
  run(specs: readonly TrialSpec[], onLine: (trial: number, line: string) => void, signal?: AbortSignal): Promise<void>;
  /** Frees the executor's workers or connections. */
  close(): Promise<void>;
}

/** Runs the trials one after the other in this thread. */
export function inlineExecutor(): TrialExecutor {
  return {
    async run(specs, onLine, signal) {
      for (const spec of specs) {
        if (signal?.aborted === true) return;
        onLine(spec.trial, await runTrial(spec));
      }
    },
    async close() {},
  };
}
