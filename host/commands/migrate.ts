/**
 * `ferry migrate <board> --vm <name|index> --to <processor> --at <time>`: runs a
 * board, migrates one VM at a virtual time and prints the migration report (the
 * bound and its terms, the measured downtime, total time, bytes, rounds, dirty rate
 * per round, the result). The work is in host/board-runner.ts and host/migration.ts;
 * this file parses options, prints and chooses the exit status (MIGRATE_EXIT_STATUS).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readBoard } from '../board.js';
import type { Board } from '../board.js';
import { runBoard } from '../board-runner.js';
import type { BoardRunResult } from '../board-runner.js';
import { ConsoleLines } from '../console-lines.js';
import { CORE_RUNTIMES } from '../core-runtime.js';
import type { CoreRuntimeName } from '../core-runtime.js';
import { ConfigError } from '../errors.js';
import { parseLinkFaults } from '../link-faults.js';
import { MIGRATION_STRATEGIES, formatMigrationReport } from '../migration.js';
import type { MigrationParams, MigrationReport, MigrationStrategy } from '../migration.js';
import { coreFactoryFor } from '../runner.js';
import { parseVirtualTime } from '../scenario.js';
import { formatSummary, summaryJson } from '../summary.js';
import { TraceWriter } from '../trace.js';

interface Io {
  stdout: { write(chunk: Uint8Array | string): unknown };
  stderr: { write(chunk: Uint8Array | string): unknown };
}

type SetExitStatus = (status: number) => void;

/** `ferry migrate`'s exit statuses (docs/migration.md, "Using it"). */
export const MIGRATE_EXIT_STATUS = {
  /** The VM runs on the destination. */
  completed: 0,
  /** A VM of the board failed (whatever became of the migration). */
  vmFailed: 1,
  /** Refused before it started (admission: the bound against the affordable downtime; the destination; a bad request): the VM runs on the source. */
  refused: 4,
  /** Started, then failed or was cancelled, or had not finished when the run ended: the VM runs on the source (or is still in transit). */
  notCompleted: 5,
  /** The measured downtime exceeded the bound, or the VM ran on two processors: a bug in the core. */
  guaranteeBroken: 6,
} as const;

const EXIT_HELP = `
Runs the board, migrates the VM at the given virtual time and prints the
migration report on stdout after the consoles (--json: only the report and
the run's summary as JSON on stdout; the consoles go to stderr).

Without --duration the run ends once the migration is over (and the VM
has run on the destination, so its downtime is measured), or when every
VM has stopped. With --duration it runs that long, or until every VM has
stopped.

Exit status:
  0    the migration completed: the VM runs on the destination
  1    a VM failed (as for ferry run), whatever became of the migration
  2    bad board or option
  3    internal error (a bug in ferry)
  4    refused before it started: the downtime bound exceeds the
       affordable downtime (both are printed), no affordable downtime is
       known, the destination has no RAM or no free windows, or the VM
       cannot be migrated; the VM keeps running on the source
  5    started but did not complete: failed (pre-copy did not converge,
       the blackout would overrun its bound, the destination could not
       apply the stream), cancelled, or still going when the run ended;
       the VM keeps running on the source
  6    the guarantee broke: the measured downtime exceeded the bound, or
       the VM ran on two processors at once (a bug in the core)
`;

interface MigrateFlags {
  vm: string;
  to: number;
  at: bigint;
  strategy: MigrationStrategy;
  json?: boolean;
  maxRounds?: number;
  threshold?: number;
  throttleTarget?: number;
  throttleFloor?: number;
  affordableNs?: bigint;
  retransmissions?: number;
  prepageNs?: bigint;
  giveUpTimeouts?: number;
  duration?: bigint;
  seed?: number;
  linkFaults?: string;
  trace?: string;
  summary?: boolean;
  runtime?: CoreRuntimeName;
}

export function addMigrateCommand(program: Command, io: Io, setExitStatus: SetExitStatus): void {
  program
    .command('migrate')
    .description('run a board and migrate one VM to another processor at a virtual time; print the migration report (docs/migration.md)')
    .argument('<board>', 'the board file (boards/<name>.json)')
    .requiredOption('--vm <name|index>', 'the VM to migrate: its name, or its index in the board\'s vms list')
    .requiredOption('--to <processor>', 'the destination processor\'s id', parseWhole('a processor id', 0xffff))
    .requiredOption('--at <time>', 'when to start, in virtual time with a unit: 20ms, 1.5s, 250us', parseTime)
    .addOption(new Option('--strategy <strategy>', 'how to move it').choices([...MIGRATION_STRATEGIES]).default('pre-copy'))
    .option('--json', 'print the report and the run\'s summary as JSON on stdout (consoles to stderr)')
    .option('--max-rounds <n>', 'pre-copy: at most n rounds (default 30)', parseWhole('a number of rounds', 0xffff_ffff, 1))
    .option('--threshold <bytes>', 'pre-copy: enter the blackout at most this many dirty bytes (default 262144)', parseWhole('a number of bytes', 2 ** 40))
    .option('--throttle-target <C>', 'throttled: cut the dirty rate to C times the bandwidth, 0 < C <= 1 (default 0.8)', parseFraction)
    .option('--throttle-floor <share>', 'throttled: the lowest CPU share, 0 < share <= 1 (default 0.05)', parseFraction)
    .option('--affordable-ns <ns>', 'the VM\'s affordable downtime in ns (default: the slack of the task set it reported)', parseNs)
    .option('--retransmissions <k>', 'retransmissions the bound budgets for (default 2)', parseWhole('a number of retransmissions', 1000))
    .option('--prepage-ns <ns>', 'post-copy: how long writes are watched for the prepaged set (default 10000000)', parseNs)
    .option('--give-up-timeouts <n>', 'before the commit, give up after n retransmission timeouts in a row (default 16)', parseWhole('a number of timeouts', 0xffff_ffff, 1))
    .option('--duration <time>', 'run this long (virtual time with a unit), or until every VM has stopped', parseTime)
    .option('--seed <n>', 'seed of the link error model (default 0)', parseWhole('a seed', 0xffff_ffff))
    .option('--link-faults <spec>', 'inject link faults, e.g. drop=0.01,corrupt=0.001 (kinds: drop, corrupt, duplicate, reorder)')
    .option('--trace <file>', 'write the run\'s events (migration states included) to <file> as JSON lines')
    .option('--no-summary', 'print no per-VM summary (default: on stderr)')
    .addOption(new Option('--runtime <runtime>', 'the core as a plain module or a component').choices([...CORE_RUNTIMES]).default('module'))
    .addHelpText('after', EXIT_HELP)
    .action(async (boardPath: string, flags: MigrateFlags) => setExitStatus(await migrateCommand(boardPath, flags, io)));
}

function parseWhole(what: string, max: number, min = 0): (text: string) => number {
  return (text) => {
    const digits = text.replaceAll('_', '');
    if (!/^\d+$/.test(digits) || Number(digits) < min || Number(digits) > max) {
      throw new InvalidArgumentError(`Expected ${what}: a whole number from ${min} to ${max}.`);
    }
    return Number(digits);
  };
}

function parseNs(text: string): bigint {
  const digits = text.replaceAll('_', '');
  if (!/^\d+$/.test(digits) || BigInt(digits) < 1n || BigInt(digits) >= 2n ** 63n) throw new InvalidArgumentError('Expected a whole number of nanoseconds, at least 1.');
  return BigInt(digits);
}

function parseFraction(text: string): number {
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(value > 0 && value <= 1)) throw new InvalidArgumentError('Expected a fraction above 0 and at most 1, e.g. 0.8.');
  return value;
}

function parseTime(text: string): bigint {
  const ns = parseVirtualTime(text);
  if (ns === undefined) throw new InvalidArgumentError('Expected virtual time with a unit: 20ms, 1.5s, 250us or 100ns.');
  return ns;
}

/** --vm: a name, or an index into the board's vms list. */
function findVm(board: Board, given: string): string {
  const byName = board.vms.find((vm) => vm.name === given);
  if (byName !== undefined) return byName.name;
  if (/^\d+$/.test(given) && Number(given) < board.vms.length) return board.vms[Number(given)]!.name;
  throw new ConfigError(`--vm ${given}: board ${board.name} has no such VM (${board.vms.map((vm, index) => `${index} ${vm.name}`).join(', ')})`);
}

export async function migrateCommand(boardPath: string, flags: MigrateFlags, io: Io): Promise<number> {
  const board = await readBoard(boardPath);
  const vm = findVm(board, flags.vm);
  if (!board.processors.some((processor) => processor.id === flags.to)) {
    throw new ConfigError(`--to ${flags.to}: board ${board.name} has no such processor (${board.processors.map((processor) => processor.id).join(', ')})`);
  }
  const params: MigrationParams = {};
  if (flags.maxRounds !== undefined) params.maxRounds = flags.maxRounds;
  if (flags.threshold !== undefined) params.thresholdBytes = flags.threshold;
  if (flags.throttleTarget !== undefined) params.throttleTarget = flags.throttleTarget;
  if (flags.throttleFloor !== undefined) params.throttleFloor = flags.throttleFloor;
  if (flags.affordableNs !== undefined) params.affordableNs = flags.affordableNs;
  if (flags.retransmissions !== undefined) params.retransmissions = flags.retransmissions;
  if (flags.prepageNs !== undefined) params.prepageNs = flags.prepageNs;
  if (flags.giveUpTimeouts !== undefined) params.giveUpTimeouts = flags.giveUpTimeouts;

  const json = flags.json === true;
  const consoleLines = new ConsoleLines((chunk) => (json ? io.stderr : io.stdout).write(chunk), board.vms.length > 1);
  const trace = flags.trace === undefined ? undefined : TraceWriter.open(flags.trace);
  let result: BoardRunResult;
  try {
    result = await runBoard({
      board,
      core: coreFactoryFor(flags.runtime),
      ...(flags.duration === undefined ? { endAfterMigrations: true } : { durationNs: flags.duration }),
      seed: flags.seed,
      linkFaults: flags.linkFaults === undefined ? undefined : parseLinkFaults(flags.linkFaults),
      events: [{ kind: 'migrate', atNs: flags.at, vm, to: flags.to, strategy: flags.strategy, params }],
      onConsole: (boardVm, bytes) => consoleLines.add(boardVm.name, bytes),
      onTrace: trace === undefined ? undefined : (records) => trace.writeAll(records),
    });
  } finally {
    consoleLines.finish();
    trace?.close();
  }
  const report = result.migrations[0]!;
  for (const message of result.messages) io.stderr.write(`${message}\n`);
  if (json) {
    const run = JSON.parse(summaryJson(result)) as Record<string, unknown>;
    delete run['migrations'];
    io.stdout.write(`${JSON.stringify({ migration: JSON.parse(reportJson(report)), run }, null, 2)}\n`);
  } else {
    io.stdout.write(formatMigrationReport(report));
  }
  if (flags.summary !== false) io.stderr.write(formatSummary(result));
  return migrateExitStatus(report, result);
}

/** The report as JSON text (bigints as numbers while exact, else decimal strings). */
export function reportJson(report: MigrationReport): string {
  return JSON.stringify(report, (_key, value: unknown) => {
    if (typeof value !== 'bigint') return value;
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  }, 2);
}

export function migrateExitStatus(report: MigrationReport, result: BoardRunResult): number {
  if (report.violations.length > 0 || (report.downtimeRatio ?? 0) > 1) return MIGRATE_EXIT_STATUS.guaranteeBroken;
  if (result.exitStatus === 1) return MIGRATE_EXIT_STATUS.vmFailed;
  switch (report.outcome) {
    case 'completed': return result.exitStatus === 0 ? MIGRATE_EXIT_STATUS.completed : result.exitStatus;
    case 'refused': return MIGRATE_EXIT_STATUS.refused;
    default: return MIGRATE_EXIT_STATUS.notCompleted;
  }
}
