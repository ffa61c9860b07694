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
import { workerCrashLine } from './trial.js';
import type { TrialSpec } from './trial.js';

export interface PoolOptions {
  /** Worker threads; default the machine's cores. */
  workers?: number;
  /** Trials per task; default a size that gives every worker several tasks. */
  batchSize?: number;
}

/** A batch is at most this many trials: short enough that Ctrl-C is served within seconds. */
const MAX_BATCH = 8;

/** A worker's heap: a runaway trial ends its worker here, not the machine. */
const WORKER_HEAP_MB = 1024;

/** The error piscina gives when a worker thread died under a task (out of memory, or killed). */
function workerDied(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_WORKER_OUT_OF_MEMORY' || /worker (exited|terminated)/i.test(message)) return message;
  return undefined;
}

export function defaultWorkers(): number {
  return availableParallelism();
}

/** The compiled worker: piscina loads it in a fresh thread (also when the host runs from its sources under vitest). */
function workerFile(): string {
  return pathToFileURL(join(packageRoot(), 'build', 'host', 'campaign', 'pool-worker.js')).href;
}

export function poolExecutor(options: PoolOptions = {}): TrialExecutor {
  const workers = options.workers ?? defaultWorkers();
  // Started at the first trials, not before: a campaign refused for its input never starts a thread.
  let pool: Piscina<PoolBatch, PoolBatchResult> | undefined;
  return {
    async run(specs, onLine, signal) {
      if (specs.length === 0) return;
      pool ??= new Piscina<PoolBatch, PoolBatchResult>({
        filename: workerFile(), minThreads: workers, maxThreads: workers, idleTimeout: 60_000, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      });
      const threads = pool;
      const size = options.batchSize ?? Math.max(1, Math.min(MAX_BATCH, Math.floor(specs.length / (workers * 4))));
      const batches: TrialSpec[][] = [];
      for (let i = 0; i < specs.length; i += size) batches.push(specs.slice(i, i + size));
      let next = 0;
      let refused: string | undefined;
      // A worker that dies under a batch: its trials again one by one, and the one it dies under is a crash.
      const runOrIsolate = async (batch: TrialSpec[]): Promise<PoolBatchResult> => {
        try {
          return await threads.run({ specs: batch });
        } catch (error) {
          if (workerDied(error) === undefined) throw error;
        }
        const lines: { trial: number; line: string }[] = [];
        for (const spec of batch) {
          try {
            const alone = await threads.run({ specs: [spec] });
            if ('refused' in alone) return alone;
            lines.push(...alone.lines);
          } catch (error) {
            const why = workerDied(error);
            if (why === undefined) throw error;
            lines.push({ trial: spec.trial, line: await workerCrashLine(spec, why) });
          }
        }
        return { lines };
      };
      // One feeder per worker: a batch starts only when one finishes, so an abort leaves nothing queued.
      const feeder = async (): Promise<void> => {
        while (next < batches.length && signal?.aborted !== true && refused === undefined) {
          const batch = batches[next++]!;
          const result = await runOrIsolate(batch);
          if ('refused' in result) { refused = result.refused; return; }
          for (const { trial, line } of result.lines) onLine(trial, line);
        }
      };
      await Promise.all(Array.from({ length: Math.min(workers, batches.length) }, feeder));
      if (refused !== undefined) throw new ConfigError(refused);
    },
    async close() {
      await pool?.destroy();
    },
  };
}
