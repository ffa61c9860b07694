/**
 * The local TrialExecutor: a piscina pool of worker threads (pool-worker.ts), one per core
 * by default. Trials go in batches of a few, so each task is long enough that the
 * round trip to a worker does not count; batches are handed out as workers free up, and
 * each batch's lines come back as it finishes.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { TrialExecutor } from './executor.js';
import type { PoolBatch, PoolBatchResult } from './pool-worker.js';
import type { TrialSpec } from './trial.js';

export interface PoolOptions {
  /** Worker threads; default the machine's cores. */
  workers?: number;
  /** Trials per task; default a size that gives every worker several tasks. */
  batchSize?: number;
}

/** A batch is at most this many trials: short enough that Ctrl-C is served within seconds. */
const MAX_BATCH = 8;

export function defaultWorkers(): number {
  return availableParallelism();
}

/** The compiled worker: piscina loads it in a fresh thread (also when the host runs from its sources under vitest). */
function workerFile(): string {
  return pathToFileURL(join(packageRoot(), 'build', 'host', 'campaign', 'pool-worker.js')).href;
}

export function poolExecutor(options: PoolOptions = {}): TrialExecutor {
  const workers = options.workers ?? defaultWorkers();
  const pool = new Piscina<PoolBatch, PoolBatchResult>({ filename: workerFile(), minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
  return {
    async run(specs, onLine, signal) {
      const size = options.batchSize ?? Math.max(1, Math.min(MAX_BATCH, Math.floor(specs.length / (workers * 4))));
      const batches: TrialSpec[][] = [];
      for (let i = 0; i < specs.length; i += size) batches.push(specs.slice(i, i + size));
      let next = 0;
      let refused: string | undefined;
      // One feeder per worker: a batch starts only when one finishes, so an abort leaves nothing queued.
      const feeder = async (): Promise<void> => {
        while (next < batches.length && signal?.aborted !== true && refused === undefined) {
          const batch = batches[next++]!;
          const result = await pool.run({ specs: batch });
          if ('refused' in result) { refused = result.refused; return; }
          for (const { trial, line } of result.lines) onLine(trial, line);
        }
      };
      await Promise.all(Array.from({ length: Math.min(workers, batches.length) }, feeder));
      if (refused !== undefined) throw new ConfigError(refused);
    },
    async close() {
      await pool.destroy();
    },
  };
}
