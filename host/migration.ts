/**
 * The host side of the migration manager (docs/migration.md). The core decides
 * everything about a migration — admission against the downtime bound, the protocol,
 * when to enter the blackout — and reports what happened as lifecycle events
 * (CoreEvent); the host says when to start or cancel one, and listens. This file holds:
 *
 *   - the scenario events (migrate, cancel) and the report's shape;
 *   - MigrationController: fires a scenario's events on a running board at quantum
 *     boundaries, builds each migration's report from the cores' events and their
 *     reports by migration id, and checks on its own that a VM never runs on two
 *     processors and never stays down longer than its bound.
 *
 * The report for people is migration-report.ts. Nothing here looks at wall time: events
 * fire at the first quantum boundary at or after their virtual time, so the same board,
 * scenario and seed give the same run.
 */
import type { CoreRuntime } from './core-runtime.js';
import { describeSbiError } from './errors.js';
import { describeOutcome, formatNs } from './migration-report.js';
import {
  CoreEvent, IncomingStat, MIGRATION_REASON_LABELS, MIGRATION_REASON_TEXT, MIGRATION_STATE_LABELS, MigrationParam,
  MigrationStat, SbiError, STRATEGY_LABELS, Strategy, VmExitReason,
} from './numbers.js';

export { describeOutcome, formatMigrationReport, formatNs, formatRate } from './migration-report.js';

// ---------------------------------------------------------------- names of the core's numbers

export const MIGRATION_STRATEGIES = ['stop-copy', 'pre-copy', 'throttled', 'post-copy', 'cold', 'warm', 'trace-replay'] as const;
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];

/** migrationStart's strategy argument, by name (Strategy in wit/numbers.json). */
export const StrategyCode = Object.fromEntries(
  Object.values(Strategy).map((code) => [STRATEGY_LABELS[code]!, code]),
) as Record<MigrationStrategy, number>;

export type MigrationStateName = 'idle' | 'preparing' | 'transfer' | 'blackout' | 'committing' | 'post-copy' | 'done' | 'cancelled' | 'failed' | 'refused';

/** States a cancel event can wait for (`inState`). */
export const CANCELLABLE_STATES = ['preparing', 'transfer', 'blackout', 'committing', 'post-copy'] as const;
export type CancelState = (typeof CANCELLABLE_STATES)[number];

const NO_AFFORDABLE = 2n ** 64n - 1n;
const NOT_MEASURED = 2n ** 64n - 1n;

// ---------------------------------------------------------------- parameters

/** A migration's parameters as scenarios and the CLI give them; absent ones take the core's defaults. */
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
  /** Compress the pages it sends (stop-copy, pre-copy, throttled, warm; COMPRESSING_STRATEGIES). */
  compress?: boolean;
  /** Pre-copy and throttled: rounds in working-set order, the predicted-hot pages left for the blackout. */
  workingSet?: boolean;
}

/** The strategies `workingSet` applies to: those with rounds. */
export const ROUND_STRATEGIES: readonly MigrationStrategy[] = ['pre-copy', 'throttled'];

/** The strategies `compress` applies to: post-copy's pushes and a cold move's image go as they are. */
export const COMPRESSING_STRATEGIES: readonly MigrationStrategy[] = ['stop-copy', 'pre-copy', 'throttled', 'warm'];

/** The parameters a migration ran with, as the core reports them (affordableNs undefined: from the task set's slack). */
export interface ResolvedMigrationParams {
  maxRounds: number;
  thresholdBytes: number;
  throttleTarget: number;
  throttleFloor: number;
  affordableNs?: bigint;
  retransmissions: number;
  prepageNs: bigint;
  giveUpTimeouts: number;
  compress: boolean;
  workingSet: boolean;
}

/** What a scenario sets, as MigrationParam keys and the core's units. */
function paramSettings(params: MigrationParams = {}): [number, bigint][] {
  const settings: [number, bigint][] = [];
  const set = (key: number, value: bigint | undefined): void => { if (value !== undefined) settings.push([key, value]); };
  const permille = (fraction: number | undefined): bigint | undefined => (fraction === undefined ? undefined : BigInt(Math.round(fraction * 1000)));
  const big = (value: number | undefined): bigint | undefined => (value === undefined ? undefined : BigInt(value));
  set(MigrationParam.maxRounds, big(params.maxRounds));
  set(MigrationParam.thresholdBytes, big(params.thresholdBytes));
  set(MigrationParam.throttleTargetPermille, permille(params.throttleTarget));
  set(MigrationParam.throttleFloorPermille, permille(params.throttleFloor));
  set(MigrationParam.affordableNs, params.affordableNs);
  set(MigrationParam.retransmissions, big(params.retransmissions));
  set(MigrationParam.prepageNs, params.prepageNs);
  set(MigrationParam.giveUpTimeouts, big(params.giveUpTimeouts));
  set(MigrationParam.compress, params.compress === undefined ? undefined : params.compress ? 1n : 0n);
  set(MigrationParam.workingSet, params.workingSet === undefined ? undefined : params.workingSet ? 1n : 0n);
  return settings;
}

/** The parameters migration `id` ran with, read back from its source core. */
function paramsOf(core: CoreRuntime, id: number): ResolvedMigrationParams {
  const param = (key: number): bigint => core.migrationStat(id, MigrationStat.param + key);
  const affordable = param(MigrationParam.affordableNs);
  return {
    maxRounds: Number(param(MigrationParam.maxRounds)),
    thresholdBytes: Number(param(MigrationParam.thresholdBytes)),
    throttleTarget: Number(param(MigrationParam.throttleTargetPermille)) / 1000,
    throttleFloor: Number(param(MigrationParam.throttleFloorPermille)) / 1000,
    ...(affordable === 0n ? {} : { affordableNs: affordable }),
    retransmissions: Number(param(MigrationParam.retransmissions)),
    prepageNs: param(MigrationParam.prepageNs),
    giveUpTimeouts: Number(param(MigrationParam.giveUpTimeouts)),
    compress: param(MigrationParam.compress) !== 0n,
    workingSet: param(MigrationParam.workingSet) !== 0n,
  };
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
  /** On the destination's clock. */
  restoreNs: bigint;
  /** The longest wait for the VM's window in the destination's schedule. */
  scheduleNs: bigint;
  /** Warm only: the PREPARE exchange the suspended VM waits out. */
  prepareNs?: bigint;
  /** A compressing migration: the codecs' work on the blackout's pages, both clocks. */
  compressionNs?: bigint;
  /** Trace-replay: replaying the log's tail on the destination and digesting the VM on both processors. */
  replayNs?: bigint;
}

export const PAGE_CLASSES = ['zero', 'strong', 'weak', 'raw'] as const;
export type PageClass = (typeof PAGE_CLASSES)[number];

/** One page class of a compressing migration: pages, their bytes as pages, the stream bytes they cost, saved and ratio. */
export interface PageClassReport {
  pages: bigint;
  pageBytes: bigint;
  sentBytes: bigint;
  savedBytes: bigint;
  /** pageBytes / sentBytes (undefined for a class with no pages). */
  ratio?: number;
}

export type CompressionReport = Record<PageClass | 'all', PageClassReport>;

function classReport(pages: bigint, sentBytes: bigint): PageClassReport {
  const pageBytes = pages * 4096n;
  return { pages, pageBytes, sentBytes, savedBytes: pageBytes - sentBytes, ...(sentBytes === 0n ? {} : { ratio: Number(pageBytes) / Number(sentBytes) }) };
}

function compressionOf(stat: (key: number) => bigint): CompressionReport {
  const classes = PAGE_CLASSES.map((_, c) => [stat(MigrationStat.classPages + c), stat(MigrationStat.classBytes + c)] as const);
  const total = classes.reduce(([pages, bytes], [p, b]) => [pages + p, bytes + b] as const, [0n, 0n] as const);
  return {
    zero: classReport(...classes[0]!), strong: classReport(...classes[1]!), weak: classReport(...classes[2]!), raw: classReport(...classes[3]!),
    all: classReport(...total),
  };
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
  /** The core's migration id (0 if it never started). */
  id: number;
  vm: string;
  from: number;
  to: number;
  strategy: MigrationStrategy;
  /** What the migration ran with (the core's report; the defaults for what the scenario did not set). */
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
  /** The VM's handle on the source core, and on the destination core once it was reserved there. */
  sourceVmId: number;
  destinationVmId?: number;
  /** The downtime bound the core computed last (admission, the destination's facts, or the blackout it entered) and its terms. */
  boundNs: bigint;
  bound: MigrationBoundTerms;
  /** What the VM can afford (the configured limit or the task set's slack); undefined when none was known. */
  affordableNs?: bigint;
  /** The destination's clock, as it told the source. */
  destinationClockHz?: number;
  /** Measured downtime (from the destination), and measured / bound. */
  downtimeNs?: bigint;
  downtimeRatio?: number;
  /** Board time the source stopped the VM (undefined if it never stopped). */
  stopNs?: bigint;
  /** Board time the VM last had the processor before the stop: the stop, if it was running; earlier, if it slept or waited for its window. */
  lastRunNs?: bigint;
  totalNs: bigint;
  bytesSent: bigint;
  blackoutBytes: bigint;
  rounds: number;
  retransmissions: bigint;
  roundStats: MigrationRound[];
  /** The VM's CPU share at the end (‰; throttled pre-copy cuts it). */
  sharePermille: number;
  /** Post-copy: pages the blackout carried, pages sent after the commit, pages sent on request, and the destination's demand faults. */
  prepagedPages: bigint;
  pushedPages: bigint;
  demandRequests: bigint;
  demandFaults: bigint;
  /** Page records sent over the whole migration (rounds, blackout, post-copy's pushes; a page sent twice counts twice). */
  pagesSent: bigint;
  /** A compressing migration: per page class, the pages sent and what they cost on the wire. */
  compression?: CompressionReport;
  /** Working-set ordering: the predicted-hot pages the last round left for the blackout. */
  heldPages?: bigint;
  /** Cold: pages of the boot image the VM was restarted from (its state was lost). */
  imagePages?: bigint;
  /** The most stream bytes the destination held at once (it applies each record as it arrives). */
  destinationHeldBytes?: bigint;
  /** Post-copy: pages the destination got although it had them already (each page should come once). */
  duplicatePages?: bigint;
  /** Post-copy: how long the VM waited for absent pages on the destination after its downtime (the strategy's degradation). */
  pageWaitNs?: bigint;
  /** Trace-replay: the log, the rates admission compared, the replay (docs/migration.md, "Trace-replay"). */
  replay?: TraceReplayReport;
  /** The states the core reported, each at the board time it entered it. */
  timeline: { state: MigrationStateName; ns: bigint }[];
  /** When the report was final (the run's virtual time). */
  endedAtNs?: bigint;
  cancel?: CancelRecord;
  /** Broken guarantees: a measured downtime above the bound, or what the host's own check saw (empty unless the core is wrong). */
  violations: string[];
}

/** What a trace-replay migration logged and replayed. */
export interface TraceReplayReport {
  /** INPUT_LOG bytes sent, and the inputs they carried. */
  logBytes: bigint;
  logEntries: bigint;
  /** The rate the log grows (bytes/s) and the rate the destination can take it in (bytes/s): admission's comparison. */
  logRateBytesPerS: bigint;
  replayRateBytesPerS: bigint;
  /** Instructions per second the VM executes on the source, and the destination can replay. */
  sourceInstructionsPerS: bigint;
  replayInstructionsPerS: bigint;
  /** The VM's instruction count at the checkpoint and at the stop; the lag behind at the stop. */
  checkpointPosition: bigint;
  stopPosition: bigint;
  lagInstructions: bigint;
  /** The digest of the VM at the stop (source) and of the replayed VM at the switch (destination; equal when it matched). */
  sourceDigest: number;
  destinationDigest?: number;
  /** Instructions the destination replayed, and of them the tail replayed at the commit. */
  replayedInstructions?: bigint;
  tailInstructions?: bigint;
}

// ---------------------------------------------------------------- the controller

/** What the controller needs from the board runner. */
export interface MigrationBoard {
  /** Processor `id`'s core (undefined: no such processor). */
  core(id: number): CoreRuntime | undefined;
  /** Where the VM named `name` lives now (the VM directory); undefined for an unknown name. */
  locate(name: string): { processor: number; vmId: number } | undefined;
  /** Processor `id` takes no command now: it has failed (and was not repaired), or it hangs. */
  down?(id: number): 'failed' | 'hung' | undefined;
  /** A host trace record (docs/trace.md), if the run is traced. */
  trace?(record: { ns: bigint; event: string } & Record<string, unknown>): void;
}

interface ActiveMigration {
  event: MigrateEvent;
  report: MigrationReport;
  source: CoreRuntime;
  destination: CoreRuntime;
  /** The source said it is over (refused, failed, cancelled, released). */
  sourceDone: boolean;
  committed: boolean;
  /** The destination applied the stream (it may run the VM from now on). */
  arrived: boolean;
  /** The destination ran the VM's first instruction. */
  firstRun: boolean;
  commitNs?: bigint;
  /** When the source stopped the VM for the blackout; undefined again once it resumed it (failed, cancelled). */
  stoppedAtNs?: bigint;
  lastBoundaryNs: bigint;
  /** Instret of each copy at the last boundary. */
  sourceInstret: bigint;
  destinationInstret: bigint;
}

/** A core event, as recorded while the core ran (it is handled at the next boundary). */
interface RecordedEvent {
  processor: number;
  kind: number;
  id: number;
  vm: number;
  atNs: bigint;
  a: bigint;
  b: bigint;
}

/**
 * How long past the later of the commit and the end of the bound (stop + bound) the
 * controller waits for the destination's first run; after that the guarantee counts as
 * broken.
 */
export const FIRST_RUN_WAIT_NS = 1_000_000_000n;

export class MigrationController {
  private readonly pending: ScenarioEvent[];
  private readonly active: ActiveMigration[] = [];
  private readonly all: MigrationReport[] = [];
  /** Cancel events waiting for their time or state. */
  private readonly cancels: CancelEvent[] = [];
  private readonly recorded: RecordedEvent[] = [];
  /** The migration being started: its `started` event arrives during migrationStart. */
  private starting: ActiveMigration | undefined;
  /** Migrations a core started itself (a load policy's) that the host checks like its own, from the next boundary. */
  private readonly toWatch: { id: number; vm: string; from: number; sourceVmId: number; to: number; atNs: bigint }[] = [];
  private readonly watched: MigrationReport[] = [];

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

  /**
   * A migration core `from` started itself (a load policy's move: its id and VM): from the
   * next boundary on the controller checks it as it checks the scenario's — never on two
   * processors, never down past its bound — and builds its report (watchedReport), which
   * reports() leaves out (those are one per scenario event).
   */
  watch(id: number, vm: string, from: number, sourceVmId: number, to: number, atNs: bigint): void {
    if (id !== 0) this.toWatch.push({ id, vm, from, sourceVmId, to, atNs });
  }

  /** The report of a migration watch() named, once it is final (undefined before, or for an id never watched). */
  watchedReport(id: number): MigrationReport | undefined {
    return this.watched.find((report) => report.id === id && report.endedAtNs !== undefined);
  }

  /** True while an event is still to come or a migration is under way (its report not final). */
  busy(): boolean {
    return this.pending.length > 0 || this.active.length > 0 || this.cancels.length > 0;
  }

  /** True while a migration is under way (events still to come do not count). */
  migrating(): boolean {
    return this.active.length > 0;
  }

  /** A core's lifecycle event, as it happens (the board runner's event sink calls this). */
  onCoreEvent(processor: number, kind: number, id: number, vm: number, atNs: bigint, a: bigint, b: bigint): void {
    if (kind === CoreEvent.migrationStarted && this.starting !== undefined && this.starting.report.id === 0) {
      this.starting.report.id = id;
    }
    this.recorded.push({ processor, kind, id, vm, atNs, a, b });
  }

  /** The lockstep loop reached boundary `ns`: take the cores' events, check, then fire what is due. */
  atBoundary(ns: bigint): void {
    this.adoptWatched(ns);
    this.takeEvents();
    for (const migration of [...this.active]) this.check(migration, ns);
    while (this.pending.length > 0 && (this.pending[0]!.atNs ?? 0n) <= ns) {
      const event = this.pending.shift()!;
      if (event.kind === 'migrate') this.start(event, ns);
      else this.cancels.push(event);
    }
    for (const cancel of [...this.cancels]) this.tryCancel(cancel, ns);
  }

  /** The run is over: every report becomes final with what the cores say now. */
  finish(ns: bigint): void {
    this.adoptWatched(ns);
    this.takeEvents();
    for (const migration of [...this.active]) this.close(migration, ns);
    this.cancels.length = 0;
  }

  private adoptWatched(ns: bigint): void {
    for (const { id, vm, from, sourceVmId, to, atNs } of this.toWatch.splice(0, this.toWatch.length)) {
      const source = this.board.core(from);
      const destination = this.board.core(to);
      if (source === undefined || destination === undefined) continue;
      const strategy = MIGRATION_STRATEGIES[Number(source.migrationStat(id, MigrationStat.strategy))] ?? 'stop-copy';
      const event: MigrateEvent = { kind: 'migrate', atNs, vm, to, strategy };
      const report = newReport(event, atNs);
      report.id = id;
      report.from = from;
      report.sourceVmId = sourceVmId;
      report.params = paramsOf(source, id);
      this.watched.push(report);
      this.active.push({
        event, report, source, destination, sourceDone: false, committed: false, arrived: false, firstRun: false, lastBoundaryNs: ns,
        sourceInstret: source.vmExit(sourceVmId) === VmExitReason.gone ? 0n : source.vmInstret(sourceVmId), destinationInstret: 0n,
      });
    }
  }

  private start(event: MigrateEvent, ns: bigint): void {
    const report = newReport(event, ns);
    this.all.push(report);
    const location = this.board.locate(event.vm);
    const refuse = (message: string): void => {
      report.message = message;
      report.endedAtNs = ns;
      this.board.trace?.({ ns, event: 'migration-end', vm: event.vm, to: event.to, outcome: 'refused', message });
    };
    if (location === undefined) { refuse(`no VM named ${event.vm} on the board`); return; }
    const down = this.board.down?.(location.processor);
    if (down !== undefined) { refuse(`${event.vm} is on processor ${location.processor}, which ${down === 'failed' ? 'has failed: there is nothing to move' : 'hangs: it takes no command'}`); return; }
    report.from = location.processor;
    report.sourceVmId = location.vmId;
    const source = this.board.core(location.processor)!;
    const destination = this.board.core(event.to);
    if (destination === undefined) { refuse(`processor ${event.to} does not exist`); return; }
    if (this.active.some((other) => other.event.vm === event.vm)) { refuse(`${event.vm} is already migrating`); return; }
    for (const [key, value] of paramSettings(event.params)) {
      const result = source.migrationSetParam(key, value);
      if (result !== 0) throw new Error(`migrationSetParam(${key}, ${value}) failed: ${describeSbiError(result)}`);
    }
    const migration: ActiveMigration = {
      event, report, source, destination, sourceDone: false, committed: false, arrived: false, firstRun: false, lastBoundaryNs: ns,
      sourceInstret: source.vmInstret(location.vmId), destinationInstret: 0n,
    };
    this.starting = migration;
    const status = source.migrationStart(location.vmId, event.to, StrategyCode[event.strategy]);
    this.starting = undefined;
    report.startStatus = status;
    this.board.trace?.({
      ns, cpu: location.processor, event: 'migration-start', vm: event.vm, from: location.processor, to: event.to,
      strategy: event.strategy, status, ...(report.id === 0 ? {} : { id: report.id }),
    });
    if (report.id === 0) { // the core did not start it (a bad request: refused before admission)
      refuse(`migration of ${event.vm} to processor ${event.to} not started: ${whyNotStarted(status, event, location.processor)}`);
      return;
    }
    report.params = paramsOf(source, report.id);
    this.active.push(migration);
    this.takeEvents(); // a refusal by admission came with the start
  }

  /** Handles the events the cores reported since the last boundary, in the order they happened. */
  private takeEvents(): void {
    const events = this.recorded.splice(0, this.recorded.length);
    for (const event of events) {
      const migration = this.active.find((candidate) => candidate.report.id === event.id);
      if (migration !== undefined) this.handle(migration, event);
    }
  }

  private handle(migration: ActiveMigration, event: RecordedEvent): void {
    const { report } = migration;
    const enter = (state: MigrationStateName): void => {
      report.timeline.push({ state, ns: event.atNs });
      this.board.trace?.({ ns: event.atNs, cpu: event.processor, event: 'migration-state', vm: report.vm, state });
    };
    switch (event.kind) {
      case CoreEvent.migrationStarted: enter('preparing'); break;
      case CoreEvent.migrationReserved: report.destinationVmId = event.vm; break;
      case CoreEvent.migrationArrived:
        migration.arrived = true;
        migration.commitNs = event.atNs;
        break;
      case CoreEvent.migrationBlackout: enter('blackout'); migration.stoppedAtNs = event.atNs; break;
      case CoreEvent.migrationCommitted:
        migration.committed = true;
        enter(report.strategy === 'post-copy' ? 'post-copy' : 'done');
        break;
      case CoreEvent.migrationFirstRun:
        migration.firstRun = true;
        report.downtimeNs = event.a;
        break;
      case CoreEvent.migrationReleased:
        if (report.strategy === 'post-copy') enter('done');
        migration.sourceDone = true;
        break;
      case CoreEvent.migrationRefused: case CoreEvent.migrationFailed: case CoreEvent.migrationCancelled:
        migration.sourceDone = true;
        migration.stoppedAtNs = undefined;
        enter(event.kind === CoreEvent.migrationRefused ? 'refused' : event.kind === CoreEvent.migrationFailed ? 'failed' : 'cancelled');
        break;
    }
    if (migration.sourceDone && (!migration.committed || migration.firstRun)) this.close(migration, event.atNs);
  }

  /**
   * The host's own checks at every boundary. A VM never runs on two processors: at no
   * quantum do both copies retire instructions; the source's copy retires none after the
   * blackout began, the destination's none before the commit. And once committed, the VM
   * runs on the destination within its bound.
   */
  private check(migration: ActiveMigration, ns: bigint): void {
    const { source, destination, report } = migration;
    const sourceNow = source.vmExit(report.sourceVmId) === VmExitReason.gone ? migration.sourceInstret : source.vmInstret(report.sourceVmId);
    const sourceRan = sourceNow > migration.sourceInstret;
    let destinationRan = false;
    let destinationNow = 0n;
    if (report.destinationVmId !== undefined && destination.vmExit(report.destinationVmId) !== VmExitReason.gone) {
      destinationNow = destination.vmInstret(report.destinationVmId);
      // A restore carries the source's count: progress is what was retired beyond it.
      const base = migration.destinationInstret === 0n ? sourceNow : migration.destinationInstret;
      // Trace-replay's destination replays the log before the commit: it reproduces what the
      // source already did (its output suppressed), it is not a second active copy.
      const replaying = report.strategy === 'trace-replay' && !migration.arrived;
      destinationRan = destinationNow > base && !replaying;
    }
    // Held since before the last boundary (a stop within this quantum leaves the instructions before it).
    const stopped = migration.stoppedAtNs !== undefined && migration.stoppedAtNs <= migration.lastBoundaryNs;
    const violation = (text: string): void => {
      const line = `${ns} ns: ${text} (source instret ${migration.sourceInstret} -> ${sourceNow}, destination ${migration.destinationInstret} -> ${destinationNow})`;
      report.violations.push(line);
      this.board.trace?.({ ns, event: 'migration-violation', vm: report.vm, text: line });
    };
    if (sourceRan && destinationRan) violation(`${report.vm} retired instructions on processors ${report.from} and ${report.to} in the same quantum`);
    else if (sourceRan && stopped) violation(`${report.vm} ran on the source (processor ${report.from}) while the migration held it`);
    else if (destinationRan && !migration.arrived) violation(`${report.vm} ran on the destination (processor ${report.to}) before the commit`);
    migration.sourceInstret = sourceNow;
    migration.destinationInstret = destinationNow;
    migration.lastBoundaryNs = ns;
    if (migration.arrived && !migration.firstRun && ns > this.firstRunDeadlineNs(migration)) {
      report.violations.push(`the VM had not run on processor ${report.to} by ${formatNs(ns)}, ${formatNs(ns - (report.stopNs ?? 0n))} after it stopped (bound ${formatNs(report.boundNs)})`);
      this.close(migration, ns);
    }
  }

  /** Past this the destination's first run is overdue: the later of commit and stop + bound, plus FIRST_RUN_WAIT_NS. */
  private firstRunDeadlineNs(migration: ActiveMigration): bigint {
    const stopNs = migration.source.migrationStat(migration.report.id, MigrationStat.stopNs);
    const boundEndNs = stopNs + migration.source.migrationStat(migration.report.id, MigrationStat.boundNs);
    const commitNs = migration.commitNs ?? 0n;
    return (boundEndNs > commitNs ? boundEndNs : commitNs) + FIRST_RUN_WAIT_NS;
  }

  /** Copies what the cores report about the migration into its report. */
  private snapshot(migration: ActiveMigration): void {
    const { source, destination, report } = migration;
    const stat = (key: number): bigint => source.migrationStat(report.id, key);
    const state = Number(stat(MigrationStat.state));
    const reason = Number(stat(MigrationStat.reason));
    report.state = (MIGRATION_STATE_LABELS[state] ?? 'idle') as MigrationStateName;
    report.reason = MIGRATION_REASON_LABELS[reason] ?? `reason-${reason}`;
    report.reasonText = MIGRATION_REASON_TEXT[reason] ?? `reason ${reason}`;
    report.boundNs = stat(MigrationStat.boundNs);
    report.bound = {
      transferNs: stat(MigrationStat.boundTransferNs),
      handshakeNs: stat(MigrationStat.boundHandshakeNs),
      retransmitNs: stat(MigrationStat.boundRetransmitNs),
      restoreNs: stat(MigrationStat.boundRestoreNs),
      scheduleNs: stat(MigrationStat.boundScheduleNs),
    };
    const prepareNs = stat(MigrationStat.boundPrepareNs);
    if (prepareNs !== 0n) report.bound.prepareNs = prepareNs;
    if (report.strategy === 'trace-replay') {
      report.bound.replayNs = stat(MigrationStat.boundReplayNs);
      report.replay = {
        logBytes: stat(MigrationStat.logBytes),
        logEntries: stat(MigrationStat.logEntries),
        logRateBytesPerS: stat(MigrationStat.logRate),
        replayRateBytesPerS: stat(MigrationStat.replayRate),
        sourceInstructionsPerS: stat(MigrationStat.sourceInstructionsPerS),
        replayInstructionsPerS: stat(MigrationStat.replayInstructionsPerS),
        checkpointPosition: stat(MigrationStat.checkpointPosition),
        stopPosition: stat(MigrationStat.stopPosition),
        lagInstructions: stat(MigrationStat.replayLag),
        sourceDigest: Number(stat(MigrationStat.stateDigest)),
      };
      if (report.destinationVmId !== undefined || migration.committed) {
        const incoming = (key: number): bigint => destination.migrationIncomingStat(report.id, key);
        report.replay.replayedInstructions = incoming(IncomingStat.replayedInstructions);
        report.replay.tailInstructions = incoming(IncomingStat.replayTailInstructions);
        const digest = Number(incoming(IncomingStat.replayDigest));
        if (report.stopNs !== undefined || stat(MigrationStat.stopNs) !== 0n) report.replay.destinationDigest = digest;
      }
    }
    if (report.strategy === 'cold') report.imagePages = stat(MigrationStat.imagePages);
    const compressionNs = stat(MigrationStat.boundCompressionNs);
    if (compressionNs !== 0n) report.bound.compressionNs = compressionNs;
    if (report.params.compress) report.compression = compressionOf(stat);
    if (report.params.workingSet) report.heldPages = stat(MigrationStat.heldPages);
    const affordable = stat(MigrationStat.affordableNs);
    if (affordable !== 0n && affordable !== NO_AFFORDABLE) report.affordableNs = affordable;
    const clockHz = Number(stat(MigrationStat.destinationClockHz));
    if (clockHz !== 0) report.destinationClockHz = clockHz;
    report.totalNs = stat(MigrationStat.totalNs);
    report.bytesSent = stat(MigrationStat.bytesSent);
    report.blackoutBytes = stat(MigrationStat.blackoutBytes);
    report.rounds = Number(stat(MigrationStat.rounds));
    report.retransmissions = stat(MigrationStat.retransmissions);
    const stopNs = stat(MigrationStat.stopNs);
    if (stopNs !== 0n) {
      report.stopNs = stopNs;
      report.lastRunNs = stat(MigrationStat.lastRunNs);
    }
    report.sharePermille = Number(stat(MigrationStat.sharePermille));
    report.demandRequests = stat(MigrationStat.demandRequests);
    report.prepagedPages = stat(MigrationStat.prepagedPages);
    report.pushedPages = stat(MigrationStat.pushedPages);
    report.pagesSent = stat(MigrationStat.pagesSent);
    report.roundStats = [];
    // Trace-replay's rounds are INPUT_LOG records: no pages, no dirty rate.
    for (let round = 1; round <= Math.min(report.rounds, 64) && report.strategy !== 'trace-replay'; round++) {
      report.roundStats.push({
        round,
        dirtyBytesPerS: stat(MigrationStat.roundDirtyRate + round - 1),
        pages: stat(MigrationStat.roundPages + round - 1),
      });
    }
    if (migration.committed) {
      const incoming = (key: number): bigint => destination.migrationIncomingStat(report.id, key);
      report.demandFaults = incoming(IncomingStat.demandFaults);
      report.destinationHeldBytes = incoming(IncomingStat.heldBytesMax);
      report.duplicatePages = incoming(IncomingStat.duplicatePages);
      report.pageWaitNs = incoming(IncomingStat.pageWaitNs);
      const downtime = incoming(IncomingStat.downtimeNs);
      if (downtime !== NOT_MEASURED) report.downtimeNs = downtime;
    }
  }

  private close(migration: ActiveMigration, ns: bigint): void {
    const { report } = migration;
    this.active.splice(this.active.indexOf(migration), 1);
    this.snapshot(migration);
    report.outcome = migration.committed ? 'completed' : outcomeOf(report.state);
    if (report.downtimeNs !== undefined && report.boundNs > 0n) {
      report.downtimeRatio = Number(report.downtimeNs) / Number(report.boundNs);
      if (report.downtimeNs > report.boundNs) {
        report.violations.push(`the measured downtime ${formatNs(report.downtimeNs)} exceeds the bound ${formatNs(report.boundNs)}`);
      }
    }
    report.endedAtNs = ns;
    report.message = describeOutcome(report);
    this.board.trace?.({
      ns, cpu: report.from, event: 'migration-end', vm: report.vm, id: report.id, from: report.from, to: report.to,
      outcome: report.outcome, state: report.state, reason: report.reason, boundNs: report.boundNs,
      ...(report.affordableNs === undefined ? {} : { affordableNs: report.affordableNs }),
      ...(report.downtimeNs === undefined ? {} : { downtimeNs: report.downtimeNs }),
      totalNs: report.totalNs, bytesSent: report.bytesSent,
    });
  }

  private tryCancel(cancel: CancelEvent, ns: bigint): void {
    if (cancel.atNs !== undefined && cancel.atNs > ns) return;
    const migration = this.active.find((candidate) => candidate.event.vm === cancel.vm);
    const state = migration === undefined ? undefined : currentState(migration);
    if (cancel.inState !== undefined) {
      if (migration === undefined) {
        // Its migration is over (or never came): the state it waited for will not come.
        if (!this.pending.some((event) => event.kind === 'migrate' && event.vm === cancel.vm)) this.dropCancel(cancel);
        return;
      }
      if (state !== cancel.inState) return;
    }
    this.dropCancel(cancel);
    const core = migration?.source ?? this.board.core(this.board.locate(cancel.vm)?.processor ?? -1);
    const status = core === undefined ? SbiError.invalidState : core.migrationCancel();
    const result: CancelRecord['result'] = status === 0 ? 'cancelled' : status === SbiError.denied ? 'too-late' : 'nothing-to-cancel';
    this.board.trace?.({ ns, event: 'migration-cancel', vm: cancel.vm, result, ...(state === undefined ? {} : { state }) });
    if (migration !== undefined) {
      migration.report.cancel = { atNs: ns, state: state!, result };
      this.takeEvents();
    }
  }

  private dropCancel(cancel: CancelEvent): void {
    const index = this.cancels.indexOf(cancel);
    if (index >= 0) this.cancels.splice(index, 1);
  }
}

/** The migration's state as its source core reports it now. */
function currentState(migration: ActiveMigration): MigrationStateName {
  const state = Number(migration.source.migrationStat(migration.report.id, MigrationStat.state));
  return (MIGRATION_STATE_LABELS[state] ?? 'idle') as MigrationStateName;
}

function newReport(event: MigrateEvent, ns: bigint): MigrationReport {
  return {
    id: 0, vm: event.vm, from: -1, to: event.to, strategy: event.strategy,
    params: { maxRounds: 0, thresholdBytes: 0, throttleTarget: 0, throttleFloor: 0, retransmissions: 0, prepageNs: 0n, giveUpTimeouts: 0, compress: false, workingSet: false },
    requestedAtNs: event.atNs, startedAtNs: ns, startStatus: 0,
    outcome: 'refused', state: 'idle', reason: 'none', reasonText: MIGRATION_REASON_TEXT[0]!, message: '',
    sourceVmId: -1, boundNs: 0n, bound: { transferNs: 0n, handshakeNs: 0n, retransmitNs: 0n, restoreNs: 0n, scheduleNs: 0n },
    totalNs: 0n, bytesSent: 0n, blackoutBytes: 0n, rounds: 0, retransmissions: 0n, roundStats: [],
    sharePermille: 1000, prepagedPages: 0n, pushedPages: 0n, pagesSent: 0n, demandRequests: 0n, demandFaults: 0n, timeline: [], violations: [],
  };
}

function whyNotStarted(status: number, event: MigrateEvent, from: number): string {
  if (status === SbiError.invalidState) return `processor ${from} is already migrating a VM, or ${event.vm} is still arriving from its last move`;
  if (from === event.to) return `${event.vm} already runs on processor ${event.to}`;
  return `the core refused the request (${describeSbiError(status)}: the VM is not running, or a bad argument)`;
}

function outcomeOf(state: MigrationStateName): MigrationOutcome {
  switch (state) {
    case 'done': return 'completed';
    case 'cancelled': return 'cancelled';
    case 'failed': return 'failed';
    case 'refused': return 'refused';
    default: return 'unfinished';
  }
}
