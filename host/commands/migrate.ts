/**
 * `ferry migrate <board> --vm <name|index> --to <processor> --at <time>`: runs a
 * board, migrates one VM at a virtual time and prints the migration report (the
 * bound and its terms, the measured downtime, total time, bytes, rounds, dirty rate
 * per round, the result). The work is in host/board-runner.ts and host/migration.ts;
 * this file parses options, prints and chooses the exit status (MIGRATE_EXIT_STATUS).
 */
import { INTERRUPTED_EXIT_STATUS, interruptRequested } from '../interrupt.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readBoard } from '../board.js';
import type { Board } from '../board.js';
import { runBoard } from '../board-runner.js';
import type { BoardRunResult } from '../board-runner.js';
import { ConsoleLines } from '../console-lines.js';
import type { CoreRuntimeName } from '../core-runtime.js';
import { ConfigError } from '../errors.js';
import { parseLinkFaults } from '../link-faults.js';
import { COMPRESSING_STRATEGIES, MIGRATION_STRATEGIES, ROUND_STRATEGIES, formatMigrationReport } from '../migration.js';
import { formatNs } from '../migration-report.js';
import type { MigrationParams, MigrationReport, MigrationStrategy } from '../migration.js';
import { jsonText } from '../format.js';
import { coreFactoryFor } from '../runner.js';
import { formatSummary, summaryValue } from '../summary.js';
import { TIME_EXAMPLES } from '../time-units.js';
import { withTrace } from '../trace.js';
import { exitStatusHelp } from './exit-status.js';
import { parseDuration, parseInstant, parseNsCount, parseSeed, parseWhole, runtimeOption } from './options.js';
import type { Io, SetExitStatus } from './run.js';

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
  affordable?: bigint;
  affordableNs?: bigint;
  retransmissions?: number;
  prepage?: bigint;
  prepageNs?: bigint;
  giveUpTimeouts?: number;
  compress?: boolean;
  workingSet?: boolean;
  duration?: bigint;
  seed?: number;
  linkFaults?: string;
  trace?: string;
  summary?: boolean;
  runtime?: CoreRuntimeName;
}

const MIGRATE_HELP = `
Runs the board, migrates the VM at the given virtual time and prints the
migration report on stdout after the consoles (--json: only the report and
the run's summary as JSON on stdout; the consoles go to stderr). Times take
a unit: ${TIME_EXAMPLES}.

Without --duration the run ends once the migration is over (and the VM
has run on the destination, so its downtime is measured), or when every
VM has stopped. With --duration it runs that long, or until every VM has
stopped.
`;

export function addMigrateCommand(program: Command, io: Io, setExitStatus: SetExitStatus): void {
  program
    .command('migrate')
    .description('run a board and migrate one VM to another processor at a virtual time; print the migration report (docs/migration.md)')
    .argument('<board>', 'the board file (boards/<name>.json)')
    .requiredOption('--vm <name|index>', 'the VM to migrate: its name, or its index in the board\'s vms list')
    .requiredOption('--to <processor>', 'the destination processor\'s id', parseWhole('a processor id', 0xffff))
    .requiredOption('--at <time>', 'when to start, in virtual time with a unit: 20ms, 1.5s, 250us', parseInstant)
    .addOption(new Option('--strategy <strategy>', 'how to move it').choices([...MIGRATION_STRATEGIES]).default('pre-copy'))
    .option('--json', 'print the report and the run\'s summary as JSON on stdout (consoles to stderr)')
    .option('--max-rounds <n>', 'pre-copy: at most n rounds (default 30)', parseWhole('a number of rounds', 0xffff_ffff, 1))
    .option('--threshold <bytes>', 'pre-copy: enter the blackout at most this many dirty bytes (default 262144)', parseWhole('a number of bytes', 2 ** 40))
    .option('--throttle-target <C>', 'throttled: cut the dirty rate to C times the bandwidth, 0 < C <= 1 (default 0.8)', parseFraction)
    .option('--throttle-floor <share>', 'throttled: the lowest CPU share, 0 < share <= 1 (default 0.05)', parseFraction)
    .option('--affordable <time>', 'the VM\'s affordable downtime, e.g. 20ms (default: the slack of the task set it reported)', parseDuration)
    .addOption(new Option('--affordable-ns <ns>', 'the older spelling of --affordable, in ns').argParser(parseNsCount).hideHelp())
    .option('--retransmissions <k>', 'retransmissions the bound budgets for (default 2)', parseWhole('a number of retransmissions', 1000))
    .option('--prepage <time>', 'post-copy: how long writes are watched for the prepaged set (default 10ms)', parseDuration)
    .addOption(new Option('--prepage-ns <ns>', 'the older spelling of --prepage, in ns').argParser(parseNsCount).hideHelp())
    .option('--give-up-timeouts <n>', 'before the commit, give up after n retransmission timeouts in a row (default 16)', parseWhole('a number of timeouts', 0xffff_ffff, 1))
    .option('--compress', 'compress the pages it sends: zero, strongly and weakly regular pages each with their codec (stop-copy, pre-copy, throttled, warm)')
    .option('--working-set', 'pre-copy, throttled: send each round coldest pages first and leave the predicted-hot ones for the blackout')
    .option('--duration <time>', 'run this long (virtual time with a unit), or until every VM has stopped', parseDuration)
    .option('--seed <n>', 'seed of the link error model (default 0)', parseSeed)
    .option('--link-faults <spec>', 'inject link faults, e.g. drop=0.01,corrupt=0.001 (kinds: drop, corrupt, duplicate, reorder)')
    .option('--trace <file>', 'write the run\'s events (migration states included) to <file> as JSON lines')
    .option('--no-summary', 'print no per-VM summary (default: on stderr)')
    .addOption(runtimeOption())
    .addHelpText('after', `${MIGRATE_HELP}${exitStatusHelp('migrate')}`)
    .action(async (boardPath: string, flags: MigrateFlags) => setExitStatus(await migrateCommand(boardPath, flags, io)));
}

function parseFraction(text: string): number {
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(value > 0 && value <= 1)) throw new InvalidArgumentError('Expected a fraction above 0 and at most 1, e.g. 0.8.');
  return value;
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
  const affordableNs = oneOf(flags.affordable, flags.affordableNs, '--affordable');
  if (affordableNs !== undefined) params.affordableNs = affordableNs;
  if (flags.retransmissions !== undefined) params.retransmissions = flags.retransmissions;
  const prepageNs = oneOf(flags.prepage, flags.prepageNs, '--prepage');
  if (prepageNs !== undefined) params.prepageNs = prepageNs;
  if (flags.giveUpTimeouts !== undefined) params.giveUpTimeouts = flags.giveUpTimeouts;
  if (flags.compress === true) {
    if (!COMPRESSING_STRATEGIES.includes(flags.strategy)) {
      throw new ConfigError(`--compress: ${flags.strategy} sends its pages as they are; compress with ${COMPRESSING_STRATEGIES.join(', ')}`);
    }
    params.compress = true;
  }
  if (flags.workingSet === true) {
    if (!ROUND_STRATEGIES.includes(flags.strategy)) {
      throw new ConfigError(`--working-set: ${flags.strategy} has no rounds to order; use it with ${ROUND_STRATEGIES.join(', ')}`);
    }
    params.workingSet = true;
  }

  if (flags.duration !== undefined && flags.at >= flags.duration) {
    throw new ConfigError(`--at ${formatNs(flags.at)}: comes at or after the run's end (--duration ${formatNs(flags.duration)}): the migration would never start`);
  }
  const json = flags.json === true;
  const consoleLines = new ConsoleLines((chunk) => (json ? io.stderr : io.stdout).write(chunk), board.vms.length > 1);
  let result: BoardRunResult;
  try {
    result = await withTrace(flags.trace, (trace) => runBoard({
      board,
      core: coreFactoryFor(flags.runtime),
      ...(flags.duration === undefined ? { endAfterMigrations: true } : { durationNs: flags.duration }),
      seed: flags.seed,
      linkFaults: flags.linkFaults === undefined ? undefined : parseLinkFaults(flags.linkFaults),
      events: [{ kind: 'migrate', atNs: flags.at, vm, to: flags.to, strategy: flags.strategy, params }],
      onConsole: (boardVm, bytes) => consoleLines.add(boardVm.name, bytes),
      onTrace: trace === undefined ? undefined : (records) => trace.writeAll(records),
      interrupted: interruptRequested,
    }));
  } finally {
    consoleLines.finish();
  }
  const report = result.migrations[0];
  for (const message of result.messages) io.stderr.write(`${message}\n`);
  if (report === undefined) {
    // Every VM stopped before --at: the run ended with nothing to move.
    const why = `the run ended at ${formatNs(result.endNs)}, before --at ${formatNs(flags.at)} (every VM had stopped): the migration never started`;
    if (json) {
      const { migrations: _migrations, ...run } = summaryValue(result) as BoardRunResult;
      io.stdout.write(jsonText({ migration: null, message: why, run }));
    } else io.stdout.write(`${why}\n`);
    if (flags.summary !== false) io.stderr.write(formatSummary(result));
    return result.end === 'interrupted' ? INTERRUPTED_EXIT_STATUS : result.exitStatus === 1 ? MIGRATE_EXIT_STATUS.vmFailed : MIGRATE_EXIT_STATUS.notCompleted;
  }
  if (json) {
    const { migrations: _migrations, ...run } = summaryValue(result) as BoardRunResult;
    io.stdout.write(jsonText({ migration: report, run }));
  } else {
    io.stdout.write(formatMigrationReport(report));
  }
  if (flags.summary !== false) io.stderr.write(formatSummary(result));
  return migrateExitStatus(report, result);
}

/** The report as JSON text (host/format.ts jsonValue: bigints as numbers while exact). */
export function reportJson(report: MigrationReport): string {
  return jsonText(report).trimEnd();
}

/** A time given with its unit or by its older -ns spelling; not both. */
function oneOf(withUnit: bigint | undefined, inNs: bigint | undefined, name: string): bigint | undefined {
  if (withUnit !== undefined && inNs !== undefined) throw new ConfigError(`give ${name} or ${name}-ns, not both`);
  return withUnit ?? inNs;
}

export function migrateExitStatus(report: MigrationReport, result: BoardRunResult): number {
  if (result.end === 'interrupted') return INTERRUPTED_EXIT_STATUS;
  if (report.violations.length > 0 || (report.downtimeRatio ?? 0) > 1) return MIGRATE_EXIT_STATUS.guaranteeBroken;
  if (result.exitStatus === 1) return MIGRATE_EXIT_STATUS.vmFailed;
  switch (report.outcome) {
    case 'completed': return result.exitStatus === 0 ? MIGRATE_EXIT_STATUS.completed : result.exitStatus;
    case 'refused': return MIGRATE_EXIT_STATUS.refused;
    default: return MIGRATE_EXIT_STATUS.notCompleted;
  }
}
