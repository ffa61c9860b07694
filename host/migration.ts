/**
 * The host side of the migration manager (docs/migration.md). The core decides
 * everything about a migration — admission against the downtime bound, the
 * protocol, when to enter the blackout — and the host only says when to start or
 * cancel one, then reads what happened through migrationStat. This file holds:
 *
 *   - the core's numbers as names (strategies, states, reasons, parameters, stats);
 *   - MigrationController: plays a scenario's migrate and cancel events on a running
 *     board at quantum boundaries, follows each migration through its states, tells
 *     the board runner where a VM lives once it has moved, checks the "never active
 *     on two processors" invariant at every boundary, and collects the report;
 *   - formatMigrationReport: the report for people.
 *
 * Nothing here looks at wall time: events fire at the first quantum boundary at or
 * after their virtual time, so the same board, scenario and seed give the same run.
 */
import type { CoreRuntime, MigrationRuntime } from './core-runtime.js';
import { VmExitReason } from './core-runtime.js';
import { describeSbiError } from './errors.js';

// ---------------------------------------------------------------- the core's numbers

export const MIGRATION_STRATEGIES = ['stop-copy', 'pre-copy', 'throttled', 'post-copy'] as const;
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];

/** migrationStart's strategy argument. */
export const StrategyCode: Record<MigrationStrategy, number> = {
  'stop-copy': 0,
  'pre-copy': 1,
  throttled: 2,
  'post-copy': 3,
};

/** The source's migration state (migrationStat 0). */
export const MigrationState = {
  idle: 0,
  preparing: 1,
  transfer: 2,
  blackout: 3,
  committing: 4,
  postCopy: 5,
  done: 6,
  cancelled: 7,
  failed: 8,
  refused: 9,
} as const;

export const MIGRATION_STATE_NAMES = [
  'idle', 'preparing', 'transfer', 'blackout', 'committing', 'post-copy', 'done', 'cancelled', 'failed', 'refused',
] as const;
export type MigrationStateName = (typeof MIGRATION_STATE_NAMES)[number];

/** States a cancel event can wait for (`inState`). */
export const CANCELLABLE_STATES = ['preparing', 'transfer', 'blackout', 'committing', 'post-copy'] as const;
export type CancelState = (typeof CANCELLABLE_STATES)[number];

/** Why a migration did not complete (migrationStat 1). */
export const MIGRATION_REASONS: Record<number, string> = {
  0: 'none',
  1: 'the downtime bound exceeds the affordable downtime',
  2: 'no affordable downtime is known (no task set reported, no limit configured)',
  3: 'the destination has no RAM for the VM',
  4: "the VM's windows conflict with the destination's schedule",
  5: 'the destination is busy with another migration',
  6: 'pre-copy did not converge',
  7: 'the blackout would have overrun its bound',
  8: 'the destination could not apply the stream',
  9: 'cancelled',
  10: 'no usable link to the destination',
  11: "a message of one of the VM's channels would not fit a frame on the link to the destination (its channel frames are relayed over it)",
  12: 'the VM stopped during the migration',
  13: 'the other side went silent before the commit (unreachable)',
};

/** Short names of the reasons, for JSON and tests. */
export const MIGRATION_REASON_NAMES: Record<number, string> = {
  0: 'none',
  1: 'bound-exceeds-affordable',
  2: 'no-affordable-downtime',
  3: 'destination-no-ram',
  4: 'destination-schedule-conflict',
  5: 'destination-busy',
  6: 'not-converged',
  7: 'blackout-overrun',
  8: 'restore-failed',
  9: 'cancelled',
  10: 'no-link',
  11: 'channel-mtu',
  12: 'vm-stopped',
  13: 'unreachable',
};

/** migrationSetParam keys. */
export const MigrationParamKey = {
  maxRounds: 0,
  thresholdBytes: 1,
  throttleTargetPermille: 2,
  throttleFloorPermille: 3,
  affordableNs: 4,
  retransmissions: 5,
  prepageNs: 6,
  giveUpTimeouts: 7,
} as const;

/** migrationStat keys. */
export const MigrationStatKey = {
  state: 0,
  reason: 1,
  boundNs: 2,
  affordableNs: 3,
  totalNs: 4,
  bytesSent: 5,
  rounds: 6,
  retransmissions: 7,
  stopCycles: 8,
  blackoutBytes: 9,
  destinationVm: 10,
  downtimeNs: 11,
  incomingVm: 12,
  boundTransferNs: 13,
  boundHandshakeNs: 14,
  boundRetransmitNs: 15,
  boundRestoreNs: 16,
  boundScheduleNs: 17,
  boundFirstFaultsNs: 22,
  sharePermille: 18,
  demandRequests: 19,
  demandFaults: 20,
  postCopyEndNs: 21,
  destinationHeldMax: 23,
  roundDirtyRate: 100,
  roundPages: 200,
} as const;

/** Round statistics the core keeps (MAX_ROUND_STATS in assembly/migration.ts). */
export const MAX_ROUND_STATS = 64;

/** SBI errors migrationStart and migrationCancel return. */
const SBI_INVALID_PARAM = -3;
const SBI_DENIED = -4;
const SBI_INVALID_STATE = -10;

// ---------------------------------------------------------------- parameters

/** A migration's parameters as scenarios and the CLI give them; absent ones take the defaults. */
export interface MigrationParams {
  /** Pre-copy: at most this many rounds (N). */
  maxRounds?: number;
  /** Pre-copy: enter the blackout once the dirty memory is at most this many bytes (h). */
  thresholdBytes?: number;
  /** Throttled pre-copy: the dirty rate is cut to this fraction C of the link bandwidth (0–1). */
  throttleTarget?: number;
  /** Throttled pre-copy: the VM's CPU share never goes below this fraction (0–1). */
  throttleFloor?: number;
  /** What the VM can afford to be down; absent: the slack of the task set it reported. */
  affordableNs?: bigint;
  /** Retransmissions the bound budgets for. */
  retransmissions?: number;
  /** Post-copy: how long the writes are watched to choose the prepaged pages. */
  prepageNs?: bigint;
  /** Retransmission timeouts in a row after which, before the commit, the other side counts as unreachable. */
  giveUpTimeouts?: number;
}

/** The core's defaults (assembly/migration.ts DEFAULT_PARAMS), set again before every migration. */
export const DEFAULT_MIGRATION_PARAMS = {
  maxRounds: 30,
  thresholdBytes: 256 * 1024,
  throttleTarget: 0.8,
  throttleFloor: 0.05,
  retransmissions: 2,
  prepageNs: 10_000_000n,
  giveUpTimeouts: 16,
} as const;

/** The parameters a migration ran with (affordableNs undefined: from the task set's slack). */
export interface ResolvedMigrationParams {
  maxRounds: number;
  thresholdBytes: number;
  throttleTarget: number;
  throttleFloor: number;
  affordableNs?: bigint;
  retransmissions: number;
  prepageNs: bigint;
  giveUpTimeouts: number;
}

export function resolveMigrationParams(params: MigrationParams = {}): ResolvedMigrationParams {
  return {
    maxRounds: params.maxRounds ?? DEFAULT_MIGRATION_PARAMS.maxRounds,
    thresholdBytes: params.thresholdBytes ?? DEFAULT_MIGRATION_PARAMS.thresholdBytes,
    throttleTarget: params.throttleTarget ?? DEFAULT_MIGRATION_PARAMS.throttleTarget,
    throttleFloor: params.throttleFloor ?? DEFAULT_MIGRATION_PARAMS.throttleFloor,
    ...(params.affordableNs === undefined ? {} : { affordableNs: params.affordableNs }),
    retransmissions: params.retransmissions ?? DEFAULT_MIGRATION_PARAMS.retransmissions,
    prepageNs: params.prepageNs ?? DEFAULT_MIGRATION_PARAMS.prepageNs,
    giveUpTimeouts: params.giveUpTimeouts ?? DEFAULT_MIGRATION_PARAMS.giveUpTimeouts,
  };
}

/** Every parameter, defaults included: the core's parameters are per processor and outlive a migration. */
function applyParams(core: MigrationRuntime, params: ResolvedMigrationParams): void {
  const set = (key: number, value: bigint): void => {
    const result = core.migrationSetParam(key, value);
    if (result !== 0) throw new Error(`migrationSetParam(${key}, ${value}) failed: ${describeSbiError(result)}`);
  };
  set(MigrationParamKey.maxRounds, BigInt(params.maxRounds));
  set(MigrationParamKey.thresholdBytes, BigInt(params.thresholdBytes));
  set(MigrationParamKey.throttleTargetPermille, BigInt(Math.round(params.throttleTarget * 1000)));
  set(MigrationParamKey.throttleFloorPermille, BigInt(Math.round(params.throttleFloor * 1000)));
  set(MigrationParamKey.affordableNs, params.affordableNs ?? 0n);
  set(MigrationParamKey.retransmissions, BigInt(params.retransmissions));
  set(MigrationParamKey.prepageNs, params.prepageNs);
  set(MigrationParamKey.giveUpTimeouts, BigInt(params.giveUpTimeouts));
}

/** The core as the migration manager needs it, or undefined if this runtime lacks the exports (a scripted core). */
export function migrationCore(core: CoreRuntime): (CoreRuntime & MigrationRuntime) | undefined {
  const candidate = core as Partial<MigrationRuntime>;
  return typeof candidate.migrationStart === 'function' && typeof candidate.migrationStat === 'function'
    && typeof candidate.linkSetTiming === 'function' && typeof candidate.processorSetRam === 'function'
    ? (core as CoreRuntime & MigrationRuntime)
    : undefined;
}

// ---------------------------------------------------------------- scenario events

/** Start migrating a VM (scenario files: `{ "at": …, "migrate": { … } }`). */
export interface MigrateEvent {
  kind: 'migrate';
  /** Virtual time: the event fires at the first quantum boundary at or after it. */
  atNs: bigint;
  vm: string;
  to: number;
  strategy: MigrationStrategy;
  params?: MigrationParams;
}

/** Cancel a VM's migration: at a time, once it is in a state, or both (the later). */
export interface CancelEvent {
  kind: 'cancel';
  atNs?: bigint;
  inState?: CancelState;
  vm: string;
}

export type ScenarioEvent = MigrateEvent | CancelEvent;

// ---------------------------------------------------------------- the report

export type MigrationOutcome =
  /** The VM runs on the destination. */
  | 'completed'
  /** Never started: admission (bound, affordable downtime), the destination, or a bad request; the VM runs on the source. */
  | 'refused'
  /** Started and gave up (did not converge, blackout overrun, restore failed, the VM stopped); the VM runs on the source. */
  | 'failed'
  /** Cancelled by a cancel event; the VM runs on the source. */
  | 'cancelled'
  /** Still going when the run ended. */
  | 'unfinished';

export interface MigrationBoundTerms {
  transferNs: bigint;
  handshakeNs: bigint;
  retransmitNs: bigint;
  restoreNs: bigint;
  scheduleNs: bigint;
  /** Post-copy: the first instruction's demand faults (0 for the other strategies). */
  firstFaultsNs: bigint;
}

export interface MigrationRound {
  round: number;
  /** Dirty rate measured over the round, bytes per second of virtual time. */
  dirtyBytesPerS: bigint;
  /** Pages the round sent. */
  pages: bigint;
}

export interface CancelRecord {
  /** When the cancel was asked for (the boundary it fired at). */
  atNs: bigint;
  /** The migration's state then. */
  state: MigrationStateName;
  /** migrationCancel's answer. */
  result: 'cancelled' | 'too-late' | 'nothing-to-cancel';
}

export interface MigrationReport {
  vm: string;
  from: number;
  to: number;
  strategy: MigrationStrategy;
  params: ResolvedMigrationParams;
  /** The event's time, and the boundary at which migrationStart was called. */
  requestedAtNs: bigint;
  startedAtNs: bigint;
  /** migrationStart's answer: 0 started, else an SBI error. */
  startStatus: number;
  outcome: MigrationOutcome;
  state: MigrationStateName;
  reason: string;
  reasonText: string;
  /** One line for people: what happened, with the numbers of a refusal. */
  message: string;
  /** The VM's id on the source core, and on the destination core once it was reserved there. */
  sourceVmId: number;
  destinationVmId?: number;
  /** The downtime bound the core computed last (admission, or the blackout it entered) and its terms. */
  boundNs: bigint;
  bound: MigrationBoundTerms;
  /** What the VM can afford (the configured limit or the task set's slack); undefined when none was known. */
  affordableNs?: bigint;
  /** Measured downtime (from the destination), and measured / bound. */
  downtimeNs?: bigint;
  downtimeRatio?: number;
  /** Virtual time from the source's last instruction (undefined if it never stopped). */
  stopNs?: bigint;
  totalNs: bigint;
  bytesSent: bigint;
  blackoutBytes: bigint;
  rounds: number;
  retransmissions: bigint;
  roundStats: MigrationRound[];
  /** The VM's CPU share at the end (‰; throttled pre-copy cuts it). */
  sharePermille: number;
  /** Post-copy: pages the source sent on request, and the destination's demand faults. */
  demandRequests: bigint;
  demandFaults: bigint;
  /** The most stream bytes the destination held at once (it applies each record as it arrives). */
  destinationHeldBytes?: bigint;
  /** States as the host saw them at quantum boundaries: the first boundary in each. */
  timeline: { state: MigrationStateName; ns: bigint }[];
  /** When the report was final (the run's virtual time). */
  endedAtNs?: bigint;
  cancel?: CancelRecord;
  /** Invariant violations the host observed (always empty unless the core is wrong). */
  violations: string[];
}

// ---------------------------------------------------------------- the controller

/** What the controller needs from the board runner. */
export interface MigrationBoard {
  /** The migration exports of processor `id`'s core (undefined: no such processor, or a core without them). */
  core(id: number): (CoreRuntime & MigrationRuntime) | undefined;
  /** Processor `id`'s clock. */
  clockHz(id: number): number;
  /** Where the VM named `name` runs now (processor, id in its core); undefined for an unknown name. */
  locate(name: string): { processor: number; vmId: number } | undefined;
  /** The VM is being received on `processor` as `vmId` (name its console and trace there). */
  expect(name: string, processor: number, vmId: number): void;
  /** The migration committed: from now on the VM lives on `processor` as `vmId`. */
  arrive(name: string, processor: number, vmId: number): void;
  /** The destination dropped its reservation `vmId`. */
  forget(processor: number, vmId: number): void;
  /** A host trace record (docs/trace.md), if the run is traced. */
  trace?(record: { ns: bigint; event: string } & Record<string, unknown>): void;
}

interface ActiveMigration {
  event: MigrateEvent;
  report: MigrationReport;
  source: CoreRuntime & MigrationRuntime;
  destination: CoreRuntime & MigrationRuntime;
  lastState: number;
  /** The destination's VM id, once PREPARE was accepted. */
  destinationVmId?: number;
  /** Instret of each copy at the last boundary. */
  sourceInstret: bigint;
  destinationInstret: bigint;
  /** Terminal at the source; now waiting for the destination's first run (downtime). */
  awaitingFirstRun: boolean;
  sourceFinalInstret?: bigint;
  /** When the source said done. */
  doneNs?: bigint;
  /** The destination's downtime stat before this migration (it keeps the last one until the next first run). */
  downtimeBefore: bigint;
}

/**
 * How long past the later of the commit and the end of the bound (stop + bound) the
 * controller waits for the destination's first run; after that the downtime is unmeasured
 * and the guarantee counts as broken.
 */
export const FIRST_RUN_WAIT_NS = 1_000_000_000n;

const TERMINAL = MigrationState.done;
const ACTIVE_ELSEWHERE: ReadonlySet<number> = new Set([MigrationState.blackout, MigrationState.committing, MigrationState.postCopy, MigrationState.done]);
const SOURCE_ONLY: ReadonlySet<number> = new Set([MigrationState.preparing, MigrationState.transfer, MigrationState.cancelled, MigrationState.failed, MigrationState.refused]);

export class MigrationController {
  private readonly pending: ScenarioEvent[];
  private readonly active: ActiveMigration[] = [];
  private readonly finished: MigrationReport[] = [];
  private readonly all: MigrationReport[] = [];
  /** Cancel events waiting for their time or state. */
  private readonly cancels: CancelEvent[] = [];

  constructor(events: readonly ScenarioEvent[], private readonly board: MigrationBoard) {
    // Stable by time: events at the same time keep the scenario's order.
    this.pending = events.map((event, index) => ({ event, index }))
      .sort((a, b) => {
        const at = (event: ScenarioEvent): bigint => event.atNs ?? 0n;
        return at(a.event) < at(b.event) ? -1 : at(a.event) > at(b.event) ? 1 : a.index - b.index;
      })
      .map(({ event }) => event);
  }

  /** Every report, in the order the migrations were asked for. */
  reports(): MigrationReport[] {
    return this.all;
  }

  /** True while an event is still to come or a migration is under way (its report not final). */
  busy(): boolean {
    return this.pending.length > 0 || this.active.length > 0 || this.cancels.length > 0;
  }

  /** True while a migration is under way (events still to come do not count). */
  migrating(): boolean {
    return this.active.length > 0;
  }

  /** The lockstep loop reached boundary `ns`: follow the migrations, then fire what is due. */
  atBoundary(ns: bigint): void {
    for (const migration of [...this.active]) this.follow(migration, ns);
    while (this.pending.length > 0 && (this.pending[0]!.atNs ?? 0n) <= ns) {
      const event = this.pending.shift()!;
      if (event.kind === 'migrate') this.start(event, ns);
      else this.cancels.push(event);
    }
    for (const cancel of [...this.cancels]) this.tryCancel(cancel, ns);
  }

  /** The run is over: every report becomes final with what the cores say now. */
  finish(ns: bigint): void {
    for (const migration of [...this.active]) {
      this.follow(migration, ns);
      if (this.active.includes(migration)) this.close(migration, ns, true);
    }
    this.cancels.length = 0;
  }

  private start(event: MigrateEvent, ns: bigint): void {
    const params = resolveMigrationParams(event.params);
    const report: MigrationReport = {
      vm: event.vm, from: -1, to: event.to, strategy: event.strategy, params,
      requestedAtNs: event.atNs, startedAtNs: ns, startStatus: 0,
      outcome: 'refused', state: 'idle', reason: 'none', reasonText: MIGRATION_REASONS[0]!, message: '',
      sourceVmId: -1, boundNs: 0n, bound: { transferNs: 0n, handshakeNs: 0n, retransmitNs: 0n, restoreNs: 0n, scheduleNs: 0n, firstFaultsNs: 0n },
      totalNs: 0n, bytesSent: 0n, blackoutBytes: 0n, rounds: 0, retransmissions: 0n, roundStats: [],
      sharePermille: 1000, demandRequests: 0n, demandFaults: 0n, timeline: [], violations: [],
    };
    this.all.push(report);
    const location = this.board.locate(event.vm);
    const refuse = (message: string): void => {
      report.message = message;
      report.endedAtNs = ns;
      this.finished.push(report);
      this.board.trace?.({ ns, event: 'migration-end', vm: event.vm, to: event.to, outcome: 'refused', message });
    };
    if (location === undefined) { refuse(`no VM named ${event.vm} on the board`); return; }
    report.from = location.processor;
    report.sourceVmId = location.vmId;
    const source = this.board.core(location.processor);
    const destination = this.board.core(event.to);
    if (source === undefined) { refuse(`processor ${location.processor}'s core has no migration manager`); return; }
    if (destination === undefined) { refuse(`processor ${event.to} does not exist or its core has no migration manager`); return; }
    if (this.active.some((other) => other.event.vm === event.vm)) { refuse(`${event.vm} is already migrating`); return; }
    applyParams(source, params);
    const status = source.migrationStart(location.vmId, event.to, StrategyCode[event.strategy]);
    report.startStatus = status;
    this.board.trace?.({
      ns, cpu: location.processor, event: 'migration-start', vm: event.vm, from: location.processor, to: event.to,
      strategy: event.strategy, status,
    });
    if (status === SBI_INVALID_PARAM || status === SBI_INVALID_STATE) {
      const why = status === SBI_INVALID_STATE
        ? `processor ${location.processor} is already migrating a VM`
        : location.processor === event.to ? `${event.vm} already runs on processor ${event.to}`
        : event.strategy === 'post-copy' && this.board.core(location.processor)?.vmExit(location.vmId) === VmExitReason.running
          ? `this core does not implement post-copy (${describeSbiError(status)})`
        : `the core refused the request (${describeSbiError(status)}: the VM is not running, or a bad argument)`;
      refuse(`migration of ${event.vm} to processor ${event.to} not started: ${why}`);
      return;
    }
    const migration: ActiveMigration = {
      event, report, source, destination, lastState: MigrationState.idle,
      sourceInstret: source.vmInstret(location.vmId), destinationInstret: 0n, awaitingFirstRun: false,
      downtimeBefore: destination.migrationStat(MigrationStatKey.downtimeNs),
    };
    this.active.push(migration);
    this.follow(migration, ns);
  }

  /** Reads the migration's state at boundary `ns`; checks the invariants; closes it when it is over. */
  private follow(migration: ActiveMigration, ns: bigint): void {
    const { source, report } = migration;
    // Once committed, the source's state may already belong to its next migration.
    const state = migration.awaitingFirstRun ? MigrationState.done : Number(source.migrationStat(MigrationStatKey.state));
    if (!migration.awaitingFirstRun && state !== migration.lastState) {
      report.timeline.push({ state: stateName(state), ns });
      this.board.trace?.({ ns, cpu: report.from, event: 'migration-state', vm: report.vm, state: stateName(state) });
    }
    // The destination answered PREPARE: name the reserved VM there.
    if (migration.destinationVmId === undefined && state >= MigrationState.transfer && state <= MigrationState.done) {
      migration.destinationVmId = Number(source.migrationStat(MigrationStatKey.destinationVm));
      report.destinationVmId = migration.destinationVmId;
      this.board.expect(report.vm, report.to, migration.destinationVmId);
    }
    this.checkInvariants(migration, state, ns);
    migration.lastState = state;
    if (migration.awaitingFirstRun) {
      if (this.destinationHasRun(migration)) this.close(migration, ns, false);
      else if (ns > this.firstRunDeadlineNs(migration)) {
        report.violations.push(`the VM had not run on processor ${report.to} by ${formatNs(ns)}, ${formatNs(ns - (report.stopNs ?? 0n))} after it stopped (bound ${formatNs(report.boundNs)})`);
        this.close(migration, ns, false);
      }
      return;
    }
    if (state === MigrationState.postCopy || state === MigrationState.done) {
      if (report.destinationVmId !== undefined && this.board.locate(report.vm)?.processor !== report.to) {
        this.board.arrive(report.vm, report.to, report.destinationVmId);
      }
    }
    if (state < TERMINAL) return;
    this.snapshot(migration, state);
    if (state === MigrationState.done) {
      migration.sourceFinalInstret = source.vmInstret(report.sourceVmId);
      migration.awaitingFirstRun = true;
      migration.doneNs = ns;
      if (this.destinationHasRun(migration)) this.close(migration, ns, false);
      return;
    }
    // Cancelled, failed, refused: the VM runs on the source; a reservation on the destination is gone.
    if (migration.destinationVmId !== undefined) this.board.forget(report.to, migration.destinationVmId);
    this.close(migration, ns, false);
  }

  /** Past this the destination's first run is overdue: the later of commit and stop + bound, plus FIRST_RUN_WAIT_NS. */
  private firstRunDeadlineNs(migration: ActiveMigration): bigint {
    const { report } = migration;
    const boundEndNs = (report.stopNs ?? 0n) + report.boundNs;
    return (boundEndNs > migration.doneNs! ? boundEndNs : migration.doneNs!) + FIRST_RUN_WAIT_NS;
  }

  /** The destination's copy has had the processor: its downtime stat is this migration's. */
  private destinationHasRun(migration: ActiveMigration): boolean {
    const id = migration.destinationVmId;
    if (id === undefined) return false;
    const core = migration.destination;
    return core.vmExit(id) !== VmExitReason.running || core.vmInstret(id) > (migration.sourceFinalInstret ?? 0n)
      || core.migrationStat(MigrationStatKey.downtimeNs) !== migration.downtimeBefore;
  }

  /** Copies what the source core reports into the report (before another migration from it resets it). */
  private snapshot(migration: ActiveMigration, state: number): void {
    const { source, report } = migration;
    const stat = (key: number): bigint => source.migrationStat(key);
    const reason = Number(stat(MigrationStatKey.reason));
    report.state = stateName(state);
    report.reason = MIGRATION_REASON_NAMES[reason] ?? `reason-${reason}`;
    report.reasonText = MIGRATION_REASONS[reason] ?? `reason ${reason}`;
    report.boundNs = stat(MigrationStatKey.boundNs);
    report.bound = {
      transferNs: stat(MigrationStatKey.boundTransferNs),
      handshakeNs: stat(MigrationStatKey.boundHandshakeNs),
      retransmitNs: stat(MigrationStatKey.boundRetransmitNs),
      restoreNs: stat(MigrationStatKey.boundRestoreNs),
      scheduleNs: stat(MigrationStatKey.boundScheduleNs),
      firstFaultsNs: stat(MigrationStatKey.boundFirstFaultsNs),
    };
    const affordable = stat(MigrationStatKey.affordableNs);
    if (affordable !== 0n && affordable !== 2n ** 64n - 1n) report.affordableNs = affordable;
    else delete report.affordableNs;
    report.totalNs = stat(MigrationStatKey.totalNs);
    report.bytesSent = stat(MigrationStatKey.bytesSent);
    report.blackoutBytes = stat(MigrationStatKey.blackoutBytes);
    report.rounds = Number(stat(MigrationStatKey.rounds));
    report.retransmissions = stat(MigrationStatKey.retransmissions);
    const stopCycles = stat(MigrationStatKey.stopCycles);
    if (stopCycles !== 0n) report.stopNs = (stopCycles * 1_000_000_000n) / BigInt(this.board.clockHz(report.from));
    report.sharePermille = Number(stat(MigrationStatKey.sharePermille));
    report.demandRequests = stat(MigrationStatKey.demandRequests);
    report.roundStats = [];
    for (let round = 1; round <= Math.min(report.rounds, MAX_ROUND_STATS); round++) {
      report.roundStats.push({
        round,
        dirtyBytesPerS: stat(MigrationStatKey.roundDirtyRate + round - 1),
        pages: stat(MigrationStatKey.roundPages + round - 1),
      });
    }
  }

  private close(migration: ActiveMigration, ns: bigint, runEnded: boolean): void {
    const { report } = migration;
    this.active.splice(this.active.indexOf(migration), 1);
    const state = Number(migration.source.migrationStat(MigrationStatKey.state));
    if (runEnded && !migration.awaitingFirstRun) this.snapshot(migration, state);
    if (migration.awaitingFirstRun && this.destinationHasRun(migration)) {
      const destination = migration.destination;
      report.downtimeNs = destination.migrationStat(MigrationStatKey.downtimeNs);
      report.demandFaults = destination.migrationStat(MigrationStatKey.demandFaults);
      report.destinationHeldBytes = destination.migrationStat(MigrationStatKey.destinationHeldMax);
      if (report.boundNs > 0n) report.downtimeRatio = Number(report.downtimeNs) / Number(report.boundNs);
    }
    report.outcome = outcomeOf(state, migration.awaitingFirstRun);
    report.endedAtNs = ns;
    report.message = describeOutcome(report);
    this.finished.push(report);
    this.board.trace?.({
      ns, cpu: report.from, event: 'migration-end', vm: report.vm, from: report.from, to: report.to,
      outcome: report.outcome, state: report.state, reason: report.reason, boundNs: report.boundNs,
      ...(report.affordableNs === undefined ? {} : { affordableNs: report.affordableNs }),
      ...(report.downtimeNs === undefined ? {} : { downtimeNs: report.downtimeNs }),
      totalNs: report.totalNs, bytesSent: report.bytesSent,
    });
  }

  /**
   * A VM never runs on two processors: at no quantum do both copies retire
   * instructions; the source's copy retires none while the migration holds it
   * (blackout, committing, post-copy, done) and the destination's none before the
   * commit (preparing, transfer, or after a cancel or failure).
   */
  private checkInvariants(migration: ActiveMigration, state: number, ns: bigint): void {
    const { source, destination, report } = migration;
    const sourceNow = source.vmInstret(report.sourceVmId);
    const sourceRan = sourceNow > migration.sourceInstret;
    let destinationRan = false;
    let destinationNow = 0n;
    if (migration.destinationVmId !== undefined) {
      destinationNow = destination.vmInstret(migration.destinationVmId);
      // A restore carries the source's count: progress is what was retired beyond it.
      const base = migration.destinationInstret === 0n ? sourceNow : migration.destinationInstret;
      destinationRan = destinationNow > base;
    }
    const was = migration.lastState;
    const violation = (text: string): void => {
      const line = `${ns} ns: ${text} (source instret ${migration.sourceInstret} -> ${sourceNow}, destination ${migration.destinationInstret} -> ${destinationNow}, state ${stateName(was)} -> ${stateName(state)})`;
      report.violations.push(line);
      this.board.trace?.({ ns, event: 'migration-violation', vm: report.vm, text: line });
    };
    if (sourceRan && destinationRan) violation(`${report.vm} retired instructions on processors ${report.from} and ${report.to} in the same quantum`);
    else if (sourceRan && ACTIVE_ELSEWHERE.has(was) && ACTIVE_ELSEWHERE.has(state)) violation(`${report.vm} ran on the source (processor ${report.from}) while the migration held it`);
    else if (destinationRan && SOURCE_ONLY.has(was) && SOURCE_ONLY.has(state) && !migration.awaitingFirstRun) {
      violation(`${report.vm} ran on the destination (processor ${report.to}) before the commit`);
    }
    migration.sourceInstret = sourceNow;
    migration.destinationInstret = destinationNow;
  }

  private tryCancel(cancel: CancelEvent, ns: bigint): void {
    if (cancel.atNs !== undefined && cancel.atNs > ns) return;
    const migration = this.active.find((candidate) => candidate.event.vm === cancel.vm && !candidate.awaitingFirstRun);
    if (cancel.inState !== undefined) {
      if (migration === undefined) {
        // Its migration is over (or never came): the state it waited for will not come.
        if (!this.pending.some((event) => event.kind === 'migrate' && event.vm === cancel.vm)) this.dropCancel(cancel);
        return;
      }
      if (stateName(migration.lastState) !== cancel.inState) return;
    }
    this.dropCancel(cancel);
    const state = migration === undefined ? undefined : migration.lastState;
    const core = migration?.source ?? this.board.core(this.board.locate(cancel.vm)?.processor ?? -1);
    const status = core === undefined ? SBI_INVALID_STATE : core.migrationCancel();
    const result: CancelRecord['result'] = status === 0 ? 'cancelled' : status === SBI_DENIED ? 'too-late' : 'nothing-to-cancel';
    this.board.trace?.({ ns, event: 'migration-cancel', vm: cancel.vm, result, ...(state === undefined ? {} : { state: stateName(state) }) });
    if (migration !== undefined) {
      migration.report.cancel = { atNs: ns, state: stateName(state!), result };
      this.follow(migration, ns);
    }
  }

  private dropCancel(cancel: CancelEvent): void {
    const index = this.cancels.indexOf(cancel);
    if (index >= 0) this.cancels.splice(index, 1);
  }
}

function stateName(state: number): MigrationStateName {
  return MIGRATION_STATE_NAMES[state] ?? 'idle';
}

function outcomeOf(state: number, committed: boolean): MigrationOutcome {
  if (committed || state === MigrationState.done) return 'completed';
  switch (state) {
    case MigrationState.cancelled: return 'cancelled';
    case MigrationState.failed: return 'failed';
    case MigrationState.refused: return 'refused';
    default: return 'unfinished';
  }
}

/** The report's one line: what happened, and for a refusal the numbers it was refused on. */
export function describeOutcome(report: MigrationReport): string {
  const head = `migration of ${report.vm} from processor ${report.from} to ${report.to} (${report.strategy})`;
  switch (report.outcome) {
    case 'completed':
      return `${head} completed: downtime ${report.downtimeNs === undefined ? 'not measured (the VM had not run on the destination when the run ended)' : formatNs(report.downtimeNs)}, bound ${formatNs(report.boundNs)}`;
    case 'refused':
      if (report.reason === 'bound-exceeds-affordable') {
        return `${head} refused: the downtime bound ${formatNs(report.boundNs)} exceeds the affordable downtime ${formatNs(report.affordableNs ?? 0n)}`;
      }
      return `${head} refused: ${report.reasonText}`;
    case 'failed':
      return `${head} failed: ${report.reasonText}; the VM runs on the source`;
    case 'cancelled':
      return `${head} cancelled in ${report.cancel?.state ?? 'its'} state; the VM runs on the source`;
    case 'unfinished':
      return `${head} was still in ${report.state} when the run ended`;
  }
}

// ---------------------------------------------------------------- formatting

/** "12.345 ms": virtual time with three decimals in the largest unit that is at least 1. */
export function formatNs(ns: bigint): string {
  const value = Number(ns);
  if (ns >= 1_000_000_000n) return `${(value / 1e9).toFixed(3)} s`;
  if (ns >= 1_000_000n) return `${(value / 1e6).toFixed(3)} ms`;
  if (ns >= 1_000n) return `${(value / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}

/** "36.2 MB/s (290 Mbit/s)". */
export function formatRate(bytesPerS: bigint): string {
  const value = Number(bytesPerS);
  return `${(value / 1e6).toFixed(2)} MB/s (${((value * 8) / 1e6).toFixed(1)} Mbit/s)`;
}

/** The report for people: several lines, each ending in a newline. */
export function formatMigrationReport(report: MigrationReport): string {
  const lines: string[] = [report.message];
  const row = (label: string, value: string): void => { lines.push(`  ${label.padEnd(16)}${value}`); };
  row('strategy', `${report.strategy}, requested at ${formatNs(report.requestedAtNs)}, started at ${formatNs(report.startedAtNs)}`);
  row('result', `${report.outcome} (state ${report.state}${report.reason === 'none' ? '' : `, reason: ${report.reasonText}`})`);
  if (report.startStatus !== 0 && report.state === 'idle') return `${lines.join('\n')}\n`;
  const refused = report.outcome === 'refused';
  if (refused && report.boundNs === 0n) {
    row('affordable', report.affordableNs === undefined ? 'unknown' : formatNs(report.affordableNs));
    return `${lines.join('\n')}\n`;
  }
  row('bound', `${formatNs(report.boundNs)} = transfer ${formatNs(report.bound.transferNs)} + handshake ${formatNs(report.bound.handshakeNs)}`
    + ` + retransmissions ${formatNs(report.bound.retransmitNs)} + restore ${formatNs(report.bound.restoreNs)} + schedule ${formatNs(report.bound.scheduleNs)}`
      + (report.bound.firstFaultsNs === 0n ? '' : ` + first faults ${formatNs(report.bound.firstFaultsNs)}`));
  row('affordable', report.affordableNs === undefined ? 'unknown' : `${formatNs(report.affordableNs)} (${report.params.affordableNs === undefined ? "the task set's slack" : 'configured'})`);
  if (report.downtimeNs !== undefined) {
    row('downtime', `${formatNs(report.downtimeNs)} measured, ${report.downtimeRatio === undefined ? '-' : report.downtimeRatio.toFixed(3)} of the bound${(report.downtimeRatio ?? 0) > 1 ? '  ** EXCEEDS THE BOUND **' : ''}`);
  }
  if (refused) return `${lines.join('\n')}\n`;
  row('total time', formatNs(report.totalNs));
  row('bytes sent', `${report.bytesSent} (blackout stream ${report.blackoutBytes})`
    + (report.destinationHeldBytes === undefined ? '' : `; the destination held at most ${report.destinationHeldBytes} at once`));
  row('rounds', String(report.rounds));
  row('retransmissions', String(report.retransmissions));
  if (report.strategy === 'throttled') row('cpu share', `${(report.sharePermille / 10).toFixed(1)} % at the end`);
  if (report.strategy === 'post-copy') row('post-copy', `${report.demandRequests} pages sent on request, ${report.demandFaults} demand faults on the destination`);
  if (report.cancel !== undefined) row('cancel', `at ${formatNs(report.cancel.atNs)} in ${report.cancel.state}: ${report.cancel.result}`);
  if (report.roundStats.length > 0) {
    lines.push('  round  pages  dirty rate');
    for (const round of report.roundStats) {
      lines.push(`  ${String(round.round).padStart(5)}  ${String(round.pages).padStart(5)}  ${formatRate(round.dirtyBytesPerS)}`);
    }
  }
  for (const violation of report.violations) lines.push(`  INVARIANT VIOLATED: ${violation}`);
  return `${lines.join('\n')}\n`;
}
