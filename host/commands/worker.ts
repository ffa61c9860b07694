/**
 * `ferry worker --queue redis://host:port[/db] [--concurrency W] [--json]`: serves queued
 * campaigns (docs/campaigns.md, "On several machines") until SIGTERM or Ctrl-C. The loop
 * is host/queue/queue-worker.ts; this file parses options, prints the log and handles
 * the signals: the first lets running batches finish (exit 0), a second ends at once.
 */
import { Command, Option } from 'commander';
import { defaultWorkers, poolExecutor } from '../campaign/pool.js';
import { runQueueWorker } from '../queue/queue-worker.js';
import type { WorkerEvent } from '../queue/queue-worker.js';
import { parseRedisUrl } from '../queue/redis-url.js';
import type { RedisAddress } from '../queue/redis-url.js';
import { exitStatusHelp } from './exit-status.js';
import { parseWhole } from './options.js';
import type { Io, SetExitStatus } from './run.js';

interface WorkerFlags {
  queue: RedisAddress;
  concurrency?: number;
  dir?: string;
  json?: boolean;
}

/** More worker threads than this on one machine is a typing error. */
const MAX_CONCURRENCY = 1024;

const HELP = `
The worker takes batches of trials of any campaign queued on that Redis
(ferry campaign ... --queue), runs them on its worker threads and returns
their records. It runs a batch only if the campaign's Ferry version, core
(build/core.wasm) and scenario file (read from --dir, with its board) are its
own; otherwise it refuses the batch, and the campaign reports the refusal.
A worker that dies mid-batch has its batch run again by another worker after
about 15 s. One line per batch on stdout (--json: one JSON object per line).
docs/campaigns.md has a systemd unit and a Kubernetes manifest.
`;

export function addWorkerCommand(program: Command, io: Io, setExitStatus: SetExitStatus): void {
  program
    .command('worker')
    .description('run the trials of queued campaigns: batches from a Redis queue, on this machine\'s worker threads (docs/campaigns.md)')
    .addOption(new Option('--queue <redis-url>', 'the Redis that holds the queue: redis://host:port[/db]').argParser(parseRedisUrl).makeOptionMandatory())
    .option('--concurrency <threads>', `worker threads, each running one batch at a time (default: the machine's cores, ${defaultWorkers()} here)`, parseWhole('a number of threads', MAX_CONCURRENCY, 1))
    .option('--dir <directory>', 'where the campaigns\' scenario paths are read from (default: the current directory)')
    .option('--json', 'the log as one JSON object per line')
    .addHelpText('after', HELP + exitStatusHelp('worker'))
    .action(async (flags: WorkerFlags) => {
      await workerCommand(flags, io);
      setExitStatus(0);
    });
}

async function workerCommand(flags: WorkerFlags, io: Io): Promise<void> {
  const stop = stopSignal();
  try {
    await runQueueWorker({
      address: flags.queue,
      concurrency: flags.concurrency ?? defaultWorkers(),
      createExecutor: (threads) => poolExecutor({ workers: threads }),
      directory: flags.dir ?? process.cwd(),
      log: (event) => io.stdout.write(flags.json === true ? `${JSON.stringify(event)}\n` : formatEvent(event)),
      stopRequested: stop.requested,
    });
  } finally {
    stop.dispose();
  }
}

/** SIGTERM (systemd, Kubernetes) or SIGINT: stop taking batches; a second one ends the process. */
function stopSignal(): { requested: Promise<void>; dispose(): void } {
  let resolveStop!: () => void;
  const requested = new Promise<void>((resolve) => (resolveStop = resolve));
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130);
    resolveStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    requested,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

function formatEvent(e: WorkerEvent): string {
  const head = `ferry worker ${e.worker}:`;
  switch (e.event) {
    case 'ready': return `${head} serving ${e.queue} with ${e.concurrency} thread${e.concurrency === 1 ? '' : 's'}, core ${e.coreDigest}\n`;
    case 'started': return `${head} ${e.job} (${e.campaign}, ${e.trials}) started\n`;
    case 'done': return `${head} ${e.job} (${e.campaign}, ${e.trials}) done in ${e.seconds} s\n`;
    case 'refused': return `${head} ${e.job} (${e.campaign}, ${e.trials}) refused: ${e.reason}\n`;
    case 'failed': return `${head} ${e.job} (${e.campaign}, ${e.trials}) failed: ${e.reason}\n`;
    default: return `${head} ${e.detail}\n`;
  }
}
