/**
 * Runs a board: one core instance per processor, configured from the board
 * file (clock and id, VMs and their images, partition windows, links,
 * channels), all advanced in lockstep virtual time (lockstep.ts) with link
 * frames carried by the board's wires (link.ts). This is `ferry run --board`
 * as a function: the CLI, tests and benchmarks come through here.
 */
import type { Board, BoardChannel, BoardProcessor, BoardVm } from './board.js';
import { moduleCoreFactory } from './core.js';
import { coreFactoryFor } from './runtimes/core-factory.js';
import { VmKind } from './core-runtime.js';
import type { CoreFactory, CoreRuntime, VmMode } from './core-runtime.js';
import { TOHOST_SYMBOL } from './defaults.js';
import { parseElf } from './elf.js';
import type { ElfImage } from './elf.js';
import { BoardError, ImageError, describeSbiError } from './errors.js';
import { readImageFile } from './input-file.js';
import { seededLinkFaults } from './link-faults.js';
import type { LinkFaultModel, LinkFaultRates } from './link-faults.js';
import { LinkNetwork } from './link.js';
import type { LinkDirectionStats } from './link.js';
import { Lockstep, cyclesToNs, nsToCycles } from './lockstep.js';
import type { ProcessorHealth } from './lockstep.js';
import { loadImage } from './loader.js';
import { MigrationController } from './migration.js';
import type { MigrationBoard, MigrationReport, ScenarioEvent } from './migration.js';
import { ChannelStat, CoreEvent, LOAD_CAUSE_LABELS, ProcessorStat, VmStat } from './numbers.js';
import { VmDirectory } from './vm-directory.js';
import type { DirectoryEntry } from './vm-directory.js';
import { BoardTrace, coreTraceRecord } from './trace.js';
import type { TraceRecord } from './trace.js';
import { outcomeOf } from './run-loop.js';
import { FaultInjector } from './faults.js';
import { INTERRUPTED_EXIT_STATUS } from './interrupt.js';
import type { FaultEvent, InjectedFault } from './faults.js';
import { declareProtections, newHealthEventLog, protectionPlans, recordHealthEvent, rejoinHealth, startHealth } from './health.js';
import type { HealthEventLog, HealthSetup, ProtectionPlan } from './health.js';
import { MAX_CYCLES_EXIT_STATUS } from './vm-exit.js';
import { LoadLog, loadParamSettings } from './load-policies.js';
import type { LoadResult } from './load-policies.js';
import type { VmOutcome } from './vm-exit.js';

/** The longest lockstep quantum, for boards whose links are slow or absent: 1 ms of virtual time. */
export const MAX_QUANTUM_NS = 1_000_000n;

export const ChannelKind = { queuing: 0, sampling: 1 } as const;

/** vmStat numbers (VmStat in wit/numbers.json). */
export const VmStatId = VmStat;

export type VmStats = { -readonly [K in keyof typeof VmStatId]: bigint };

/** vmStat slackNs when the VM reported no task set. */
export const NO_SLACK = 2n ** 64n - 1n;

export interface BoardRunOptions {
  board: Board;
  /** How to run the cores of processors whose board entry names no runtime; default build/core.wasm as plain modules. */
  core?: CoreFactory;
  /** A limit: stop once this much virtual time has passed (exit status 124 if VMs still run). */
  limitNs?: bigint;
  /** The run's planned length: stop then; VMs still running are fine (exit status 0 unless one failed). */
  durationNs?: bigint;
  /** Seeds the link error model (and anything random a scenario adds later). Default 0. */
  seed?: number;
  /** Seeded link faults at these rates; off by default. */
  linkFaults?: LinkFaultRates;
  /** A custom link error model instead (fault injection campaigns). */
  linkFaultModel?: LinkFaultModel;
  /** Lockstep quantum; default the smallest link latency, at most MAX_QUANTUM_NS. */
  quantumNs?: bigint;
  /** Console bytes of a VM as the core flushes them; without it they are collected per VM. */
  onConsole?: (vm: BoardVm, bytes: Uint8Array) => void;
  /** Trace records, a quantum's worth at a time, in time order; turns the core's trace on. */
  onTrace?: (records: TraceRecord[]) => void;
  /** Scenario events: migrations to start and cancel at virtual times (host/migration.ts, docs/scenarios.md). */
  events?: readonly ScenarioEvent[];
  /** Hardware faults at virtual times (host/faults.ts). */
  faults?: readonly FaultEvent[];
  /** End the run (as 'stopped') once every event has fired and every migration's report is final. */
  endAfterMigrations?: boolean;
  /**
   * Called at every quantum boundary, after the scenario's events, with a way to find
   * where a VM runs now (its processor's core and its id there): tools that act on a VM
   * at a virtual time (ferry checkpoint on a board) hook in here.
   */
  onBoundary?: (atNs: bigint, board: BoardProbe) => void;
  /** Asked at quantum boundaries: true ends the run there as 'interrupted' (Ctrl-C; exit status 130). */
  interrupted?: () => boolean;
}

/** Where a board VM lives at this boundary, for onBoundary. */
export interface BoardProbe {
  locate(name: string): { core: CoreRuntime; vmId: number; processor: number; clockHz: number } | undefined;
}

/** Why a board run ended: every VM stopped, the limit came first, the planned duration ran out, or (endAfterMigrations) the migrations were over. */
export type BoardRunEnd = 'stopped' | 'limit' | 'duration' | 'migrated' | 'interrupted';

export interface BoardVmResult {
  name: string;
  /** Where the VM is at the end (after any migration). */
  processor: number;
  /** The processor the board placed it on, if it has moved since. */
  migratedFrom?: number;
  /** The VM's id in its processor's core. */
  vmId: number;
  kind: VmMode;
  /** As the board file gives it. */
  image: string;
  /** Stopped: how (outcome); running: the run ended at its limit first; lost: its processor failed and no copy took over. */
  state: 'stopped' | 'running' | 'lost';
  outcome?: VmOutcome;
  instret: bigint;
  stats: VmStats;
  /** Console output, when no onConsole was given (else ''). */
  console: string;
}

export interface BoardProcessorResult {
  id: number;
  clockHz: number;
  cycles: bigint;
  framesSent: bigint;
  framesReceived: bigint;
  framesDropped: bigint;
  /** Frames that arrived out of the link's sending order (the protocols above put them right). */
  framesOutOfOrder: bigint;
  /** Channel relays it still holds for VM ends that moved away, its channel ports, and its VM slots in use. */
  relays: number;
  ports: number;
  vmSlots: number;
}

/** One channel at the end of a run: each end's counters, read where its VM lives now (ChannelStat). */
export interface BoardChannelResult {
  name: string;
  kind: BoardChannel['kind'];
  source: string;
  destination: string;
  sent: bigint;
  delivered: bigint;
  consumed: bigint;
  retransmissions: bigint;
  duplicates: bigint;
  outOfOrder: bigint;
  /** Messages sent but not delivered (still on the way, or — sampling only — lost or superseded). */
  undelivered: bigint;
  /** The worst delivery time measured, the published bound it is measured against, and deliveries later than it. */
  worstDeliveryNs: bigint;
  meanDeliveryNs: bigint;
  boundNs: bigint;
  lateDeliveries: bigint;
  /** Deliveries of messages that crossed a move of either end (a migration's bound covers those), and their worst time. */
  movedDeliveries: bigint;
  worstMovedDeliveryNs: bigint;
  /** Times the source reported its link dead, and whether it still does. */
  linkDeadEvents: bigint;
  linkDead: boolean;
}

export interface BoardRunResult {
  board: string;
  /** 0 every VM passed (or still ran at the end of the duration); 1 a VM failed; 124 the limit came first. */
  exitStatus: number;
  end: BoardRunEnd;
  /** Virtual time the run took. */
  endNs: bigint;
  quantumNs: bigint;
  steps: number;
  seed: number;
  vms: BoardVmResult[];
  processors: BoardProcessorResult[];
  links: LinkDirectionStats[];
  channels: BoardChannelResult[];
  /** Frames still on the wire when the run ended. */
  framesInFlight: number;
  /** What to tell the user (failed VMs, the limit), one line each. */
  messages: string[];
  /** One report per migrate event, in the order they fired (empty without events). */
  migrations: MigrationReport[];
  /** The faults injected, in time order. */
  faults: InjectedFault[];
  /** The health monitor: its timing and bounds, and what the cores reported (boards with protected VMs). */
  health?: { setup: HealthSetup; events: HealthEventLog };
  /** Processors that failed (fail-stop) during the run. */
  failedProcessors: number[];
  /** The load policies: each move with its bound and measured downtime, sleep, the energy proxy (boards with a load section). */
  load?: LoadResult;
  /**
   * Quanta in which a protected VM retired instructions on two processors at once, as the
   * host saw it from every copy's instruction count (it must never happen: docs/health.md).
   */
  doubleActive: { vm: string; atNs: bigint; processors: number[] }[];
}

/** What the board runner keeps about a VM, shared by its copies on every processor it visits. */
export interface PlacedVm {
  vm: BoardVm;
  kind: VmMode;
  /** Its console, when no onConsole was given. */
  collected: Uint8Array[];
}

export interface PlacedProcessor {
  id: number;
  clockHz: number;
  /** The core of its current life. */
  core: CoreRuntime;
  /** The cores of its earlier lives, each ended by a fail-stop and a repair (docs/scenarios.md, "Repair"). */
  earlier: CoreRuntime[];
}

export async function runBoard(options: BoardRunOptions): Promise<BoardRunResult> {
  const made: CoreRuntime[] = [];
  try {
    return await runPlacedBoard(options, made);
  } finally {
    // Processors in other processes end with the run.
    for (const core of made) core.close?.();
  }
}

/** Runs the board; every core it makes goes into `made` (runBoard closes them). */
async function runPlacedBoard(options: BoardRunOptions, made: CoreRuntime[]): Promise<BoardRunResult> {
  const placed: PlacedProcessor[] = [];
  const { board } = options;
  const seed = options.seed ?? 0;
  const linkFaults = options.linkFaultModel ?? (options.linkFaults === undefined ? undefined : seededLinkFaults(seed, options.linkFaults));
  const network = new LinkNetwork(board.links, linkFaults);
  const plans = board.health === undefined ? [] : protectionPlans(board);
  const healthLog = newHealthEventLog();
  const loadLog = board.load === undefined ? undefined : new LoadLog(board.load);
  const quantumNs = chooseQuantum(network, options.quantumNs);
  const trace = options.onTrace === undefined ? undefined : new BoardTrace(options.onTrace);
  const images = await readImages(board);

  trace?.add({
    ns: 0n, event: 'run-start', board: board.name, processors: board.processors.length, vms: board.vms.length,
    links: board.links.length, channels: board.channels.length, quantumNs, seed,
    ...(options.limitNs === undefined ? {} : { limitNs: options.limitNs }),
    ...(options.durationNs === undefined ? {} : { durationNs: options.durationNs }),
    ...(options.linkFaults === undefined ? {} : { linkFaults: options.linkFaults }),
  });

  // Frames a core sends during setup (none expected) or a run go through the lockstep loop.
  let lockstep: Lockstep | undefined;
  const factory = options.core ?? moduleCoreFactory();
  // A processor that names its runtime in the board file runs that one (docs/boards.md).
  const factories = new Map(board.processors.filter((p) => p.runtime !== undefined).map((p) => [p.runtime!, coreFactoryFor(p.runtime)]));
  const directory = new VmDirectory<PlacedVm>();
  let migrations: MigrationController | undefined;
  const makeCore = async (processor: BoardProcessor): Promise<CoreRuntime> => {
    const name = (vmId: number): string => directory.at(processor.id, vmId)?.name ?? `vm${vmId}`;
    const core = await (processor.runtime === undefined ? factory : factories.get(processor.runtime)!)(
      (vmId, bytes) => {
        const entry = directory.at(processor.id, vmId);
        if (entry === undefined) return;
        if (options.onConsole !== undefined) options.onConsole(entry.data.vm, bytes);
        else entry.data.collected.push(bytes);
      },
      {
        onLinkSend: (peer, atCycles, frame) => {
          if (lockstep === undefined) throw new BoardError(`processor ${processor.id} sent a frame before the board started`);
          lockstep.send(processor.id, peer, atCycles, frame);
        },
        onTrace: trace === undefined ? undefined : (event, vm, atCycles, a, b) => {
          trace.add(coreTraceRecord(processor.id, cyclesToNs(atCycles, processor.clockHz), event, vm, atCycles, a, b, name));
        },
        onEvent: (kind, id, vm, atNs, a, b) => {
          loadLog?.onEvent(processor.id, kind, id, name(vm), atNs, a, b);
          if (kind === CoreEvent.loadMove) {
            migrations?.watch(id, name(vm), processor.id, vm, Number(b), atNs);
            trace?.add({ ns: atNs, cpu: processor.id, event: 'load-move', vm: name(vm), cause: LOAD_CAUSE_LABELS[Number(a)] ?? String(a), from: processor.id, to: Number(b), id });
          } else if (kind === CoreEvent.processorAsleep || kind === CoreEvent.processorAwake) {
            trace?.add({ ns: atNs, cpu: processor.id, event: kind === CoreEvent.processorAsleep ? 'processor-asleep' : 'processor-awake' });
          }
          directory.onEvent(processor.id, kind, id, vm);
          if (kind === CoreEvent.failoverActivated && plans[id] !== undefined) directory.takeOver(plans[id]!.vm.name, processor.id, vm);
          if (kind === CoreEvent.copyHeld && plans[id] !== undefined) directory.copyHeld(plans[id]!.vm.name, processor.id, vm);
          if (kind === CoreEvent.copyDropped) directory.copyDropped(processor.id, vm);
          migrations?.onCoreEvent(processor.id, kind, id, vm, atNs, a, b);
          recordHealthEvent(healthLog, plans, processor.id, kind, id, atNs, a, b);
        },
      },
    );
    made.push(core);
    return core;
  };
  for (const processor of board.processors) {
    const slot: PlacedProcessor = { id: processor.id, clockHz: processor.clockHz, core: await makeCore(processor), earlier: [] };
    placed.push(slot);
    setUpProcessor(board, slot, images, network, trace, quantumNs, directory, plans);
  }
  // A repaired processor boots a fresh core: made now, so that the run itself never waits for one.
  const spares = new Map<number, CoreRuntime[]>();
  for (const fault of options.faults ?? []) {
    if (fault.kind !== 'repair') continue;
    const processor = board.processors.find((candidate) => candidate.id === fault.processor);
    if (processor === undefined) continue;
    spares.set(processor.id, [...(spares.get(processor.id) ?? []), await makeCore(processor)]);
  }
  setUpChannels(board, placed, directory, plans);
  const healthSetup = board.health === undefined ? undefined : startHealth(board, placed, plans);
  migrations = new MigrationController(options.events ?? [], migrationBoard(placed, directory, trace, (id) => lockstep?.healthOf(id)));
  const controller = migrations;
  const probe = boardProbe(placed, directory);
  let injector: FaultInjector | undefined;
  const watcher = new DoubleActiveWatch(plans, placed, directory);

  lockstep = new Lockstep(placed, {
    quantumNs,
    limitNs: earliest(options.limitNs, options.durationNs),
    network,
    onSend: (from, to, bytes, sentNs, outcome) => {
      if (outcome.dropped) trace?.add({ ns: sentNs, cpu: from, event: 'link-drop', from, to, bytes: bytes.length });
    },
    onDeliver: (frame, atNs) => {
      trace?.add({
        ns: atNs, cpu: frame.to, event: 'link-deliver', from: frame.from, to: frame.to, bytes: frame.bytes.length,
        sentNs: frame.sentNs, arrivalNs: frame.arrivalNs,
        ...(frame.faults.length > 0 ? { faults: frame.faults } : {}),
      });
    },
    onBoundary: (atNs) => {
      watcher.atBoundary(atNs);
      injector?.atBoundary(atNs);
      controller.atBoundary(atNs);
      options.onBoundary?.(atNs, probe);
      trace?.flush();
    },
    finished: () => (allStopped(placed, directory, lockstep!) && !controller.migrating()) || (options.endAfterMigrations === true && !controller.busy()),
    ...(options.interrupted === undefined ? {} : { interrupted: options.interrupted }),
  });
  const stepper = lockstep;
  injector = new FaultInjector(options.faults ?? [], {
    lockstep: stepper, network, processors: placed.map((slot) => slot.id),
    core: (id) => placed.find((slot) => slot.id === id)?.core,
    locate: (name) => {
      const entry = directory.locate(name);
      return entry === undefined || entry.status === 'lost' || stepper.healthOf(entry.processor) === 'failed' ? undefined : { processor: entry.processor, vmId: entry.handle };
    },
    repair: (id, atNs) => {
      const slot = placed.find((candidate) => candidate.id === id)!;
      const spare = spares.get(id)?.shift();
      if (spare === undefined) throw new BoardError(`processor ${id} has no core made for its repair at ${atNs} ns`);
      slot.earlier.push(slot.core);
      slot.core = spare;
      directory.repaired(id);
      setUpProcessor(board, slot, images, network, trace, quantumNs, directory, plans, atNs);
      if (healthSetup !== undefined && board.health!.members.includes(id)) rejoinHealth(board, slot, placed, healthSetup);
      stepper.repair(id);
    },
  }, (fault) => trace?.add({ ns: fault.atNs, event: 'fault', fault: fault.kind, ...(fault.processor === undefined ? {} : { cpu: fault.processor }), ...(fault.detail === undefined ? {} : { detail: fault.detail }), ...(fault.skipped === undefined ? {} : { skipped: fault.skipped }) }));
  injector.atBoundary(0n);
  controller.atBoundary(0n);
  const lockstepEnd = await lockstep.run();
  const end = lockstepEnd === 'stopped' && !allStopped(placed, directory, lockstep) ? 'migrated' : endOf(lockstepEnd, options);
  controller.finish(lockstep.nowNs());
  // Stopped: when the last VM stopped, not the boundary after it.
  const endNs = end !== 'stopped' ? lockstep.nowNs() : placed.reduce((latest, slot) => {
    const ns = cyclesToNs(slot.core.now(), slot.clockHz);
    return ns > latest ? ns : latest;
  }, 0n);
  const result = collectResult(board, placed, directory, lockstep, network, { end, endNs, quantumNs, seed }, controller.reports());
  result.faults = injector.faults();
  result.doubleActive = watcher.found;
  if (healthSetup !== undefined) result.health = { setup: healthSetup, events: healthLog };
  if (loadLog !== undefined) {
    const placedVms = new Set(board.vms.map((vm) => vm.processor));
    result.load = loadLog.result(placed.map((slot) => ({ id: slot.id, core: slot.core, placedVms: placedVms.has(slot.id) })), endNs, (id) => controller.watchedReport(id));
  }
  trace?.add({ ns: endNs, event: 'run-end', end, exitStatus: result.exitStatus, framesInFlight: result.framesInFlight });
  trace?.flush();
  return result;
}

function earliest(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/** The lockstep loop stops at the earlier of limit and duration; the limit wins a tie. */
function endOf(end: 'stopped' | 'limit' | 'interrupted', options: BoardRunOptions): BoardRunEnd {
  if (end !== 'limit' || options.durationNs === undefined) return end;
  return options.limitNs !== undefined && options.limitNs <= options.durationNs ? 'limit' : 'duration';
}

/** Virtual time for `cycles` of the board's first processor, rounded up: --max-cycles on a board. */
export function cyclesLimitNs(board: Board, cycles: bigint): bigint {
  const clock = BigInt(board.processors[0]!.clockHz);
  return (cycles * 1_000_000_000n + clock - 1n) / clock;
}

function chooseQuantum(network: LinkNetwork, asked: bigint | undefined): bigint {
  const latency = network.minLatencyNs();
  const longest = latency === undefined || latency > MAX_QUANTUM_NS ? MAX_QUANTUM_NS : latency;
  if (asked === undefined) return longest;
  if (asked < 1n) throw new BoardError(`the lockstep quantum must be at least 1 ns, not ${asked}`);
  if (latency !== undefined && asked > latency) {
    throw new BoardError(`a lockstep quantum of ${asked} ns exceeds the smallest link latency (${latency} ns): frames would be delivered late`);
  }
  return asked;
}

async function readImages(board: Board): Promise<Map<string, ElfImage>> {
  const images = new Map<string, ElfImage>();
  for (const vm of board.vms) {
    if (images.has(vm.imagePath)) continue;
    const at = `board ${board.path}: /vms/${vm.index}/image: ${vm.image}`;
    try {
      images.set(vm.imagePath, parseElf(await readImageFile(vm.imagePath)));
    } catch (error) {
      // readImageFile names the resolved path; the board's own spelling says more.
      if (error instanceof ImageError) throw new BoardError(`${at}: ${error.message.replace(`${vm.imagePath}: `, '')}`);
      throw error;
    }
  }
  return images;
}

/**
 * Configures a processor's core from the board: its schedule, protections, VMs, copies and
 * links. A repaired one (`repairedAtNs`) boots with no VM and no copy — what ran there was
 * lost with its state; holders make it a backup again by replicating to it — and its clock
 * starts at the repair: the board's time went on while it was down.
 */
function setUpProcessor(
  board: Board, slot: PlacedProcessor, images: Map<string, ElfImage>, network: LinkNetwork, trace: BoardTrace | undefined, quantumNs: bigint,
  directory: VmDirectory<PlacedVm>, plans: readonly ProtectionPlan[], repairedAtNs?: bigint,
): void {
  const { core } = slot;
  const processor = board.processors.find((candidate) => candidate.id === slot.id)!;
  const at = `board ${board.path}: /processors/${board.processors.indexOf(processor)}`;
  core.configure(processor.clockHz, processor.id);
  if (repairedAtNs !== undefined) core.processorStall(nsToCycles(repairedAtNs, processor.clockHz));
  core.traceEnable(trace !== undefined ? 1 : 0);
  core.scheduleClear();
  if (processor.majorFrameNs !== undefined) {
    refuseUnless(core.scheduleSetMajorFrame(BigInt(processor.majorFrameNs)), `${at}/majorFrameNs`, `scheduleSetMajorFrame(${processor.majorFrameNs})`);
  }
  if (board.health?.members.includes(processor.id) === true) declareProtections(core, plans, processor.id, board.path);
  // A repaired processor boots empty.
  const vms = repairedAtNs === undefined ? board.vms.filter((candidate) => candidate.processor === processor.id) : [];
  const copies = repairedAtNs === undefined ? plans.filter((candidate) => candidate.order.indexOf(processor.id) > 0) : [];
  for (const vm of vms) {
    const { vmId, kind } = createBoardVm(board, core, processor.id, vm, images, trace);
    directory.place(vm.name, processor.id, vmId, { vm, kind, collected: [] });
    const plan = plans.find((candidate) => candidate.vm === vm);
    if (plan !== undefined) refuseUnless(core.healthHold(plan.id, vmId), `board ${board.path}: /vms/${vm.index}/protection`, `healthHold(${plan.id}, ${vmId})`);
  }
  // A protected VM has a copy of its image on every other processor of its protection, held (docs/health.md).
  for (const plan of copies) {
    const { vmId, kind } = createBoardVm(board, core, processor.id, plan.vm, images, trace);
    directory.placeCopy(plan.vm.name, processor.id, vmId, { vm: plan.vm, kind, collected: [] });
    refuseUnless(core.healthAddCopy(plan.id, vmId), `board ${board.path}: /vms/${plan.vm.index}/protection`, `healthAddCopy(${plan.id}, ${vmId}) on processor ${processor.id}`);
  }
  for (const { peer, mtuBytes } of network.peersOf(processor.id)) {
    const link = board.links.find((candidate) => (candidate.from === processor.id && candidate.to === peer) || (candidate.bidirectional && candidate.to === processor.id && candidate.from === peer))!;
    refuseUnless(core.linkConfigure(peer, mtuBytes), `board ${board.path}: /links/${link.index}`, `linkConfigure(${peer}, ${mtuBytes}) on processor ${processor.id}`);
    // The bounds (migration, channels): frames are handed over at quantum boundaries, so up to a quantum late.
    refuseUnless(
      core.linkSetTiming(peer, BigInt(link.bandwidthBytesPerS), BigInt(link.latencyNs), quantumNs),
      `board ${board.path}: /links/${link.index}`, `linkSetTiming(${peer}, ${link.bandwidthBytesPerS}, ${link.latencyNs}, ${quantumNs}) on processor ${processor.id}`,
    );
  }
  core.processorSetRam(BigInt(processor.ramBytes));
  if (board.load !== undefined) {
    for (const [key, value] of loadParamSettings(board.load)) {
      refuseUnless(core.loadSetParam(key, value), `board ${board.path}: /load`, `loadSetParam(${key}, ${value}) on processor ${processor.id}`);
    }
  }
}

/**
 * The host's own check that a protected VM never runs twice: at every boundary, every copy
 * of it the board knows (placed, arrived, taken over) that retired instructions in the
 * quantum counts; two processors at once is recorded. It reads instruction counts only,
 * so it holds the cores to their promise without asking them whether they kept it.
 */
export class DoubleActiveWatch {
  readonly found: { vm: string; atNs: bigint; processors: number[] }[] = [];
  private readonly instret = new Map<string, bigint>();

  constructor(private readonly plans: readonly ProtectionPlan[], private readonly placed: readonly PlacedProcessor[], private readonly directory: VmDirectory<PlacedVm>) {}

  atBoundary(atNs: bigint): void {
    for (const plan of this.plans) {
      const running = new Set<number>();
      for (const entry of this.directory.everyEntryOf(plan.vm.name)) {
        const key = `${entry.processor}/${entry.incarnation}/${entry.handle}`;
        const now = coreOf(this.placed, entry).vmInstret(entry.handle);
        if (now > (this.instret.get(key) ?? now)) running.add(entry.processor);
        this.instret.set(key, now);
      }
      if (running.size > 1) this.found.push({ vm: plan.vm.name, atNs, processors: [...running].sort((a, b) => a - b) });
    }
  }
}

/** Creates board VM `vm` (or a copy of it) on this core: its image loaded, its windows in the schedule. */
function createBoardVm(
  board: Board, core: CoreRuntime, processor: number, vm: BoardVm, images: Map<string, ElfImage>, trace: BoardTrace | undefined,
): { vmId: number; kind: VmMode } {
  const image = images.get(vm.imagePath)!;
  const kind: VmMode = vm.kind ?? (image.symbols.has(TOHOST_SYMBOL) ? 'machine' : 'paravirtual');
  const vmAt = `board ${board.path}: /vms/${vm.index}`;
  const copy = processor === vm.processor ? '' : ` (its copy on processor ${processor})`;
  const vmId = core.vmCreate(VmKind[kind], vm.memoryBytes);
  if (vmId < 0) {
    throw new BoardError(`${vmAt}${copy}: the core cannot create a ${kind} VM with ${vm.memoryBytes} bytes: ${vmId === -1 ? 'it has no memory for it' : describeSbiError(vmId)}`);
  }
  try {
    loadImage(core, vmId, image, vm.memoryBytes);
  } catch (error) {
    if (error instanceof ImageError) throw new BoardError(`${vmAt}/image: ${vm.image}: ${error.message}`);
    throw error;
  }
  trace?.add({
    ns: 0n, cycles: core.now(), cpu: processor, event: 'vm-load', vm: vm.name, vmId, kind,
    memoryBytes: vm.memoryBytes, image: vm.image, entry: image.entry, ...(copy === '' ? {} : { copy: true }),
  });
  if (vm.pinned === true) refuseUnless(core.vmSetPinned(vmId, 1), `${vmAt}/pinned${copy}`, `vmSetPinned(${vmId}, 1)`);
  if (vm.affordableDowntimeNs !== undefined) {
    refuseUnless(core.vmSetAffordable(vmId, BigInt(vm.affordableDowntimeNs)), `${vmAt}/affordableDowntime${copy}`, `vmSetAffordable(${vmId}, ${vm.affordableDowntimeNs})`);
  }
  vm.windows.forEach((window, index) => {
    refuseUnless(
      core.scheduleAddWindow(vmId, BigInt(window.offsetNs), BigInt(window.durationNs)),
      `${vmAt}/windows/${index}${copy}`, `scheduleAddWindow(${vmId}, ${window.offsetNs}, ${window.durationNs}) on processor ${processor}`,
    );
  });
  return { vmId, kind };
}

/**
 * Every VM of the board has stopped (or stalled: run-loop.ts) where it lives now. One on
 * a failed processor is gone — unless a copy of it waits on a processor still up, which
 * may take it over.
 */
function allStopped(placed: readonly PlacedProcessor[], directory: VmDirectory<PlacedVm>, lockstep: Lockstep): boolean {
  return directory.living().every((entry) => {
    if (!gone(entry, lockstep)) return outcomeOf(coreOf(placed, entry), entry.handle) !== undefined;
    return !directory.copiesOf(entry.name).some((copy) => lockstep.healthOf(copy.processor) !== 'failed');
  });
}

/** The VM was lost with its processor: that processor failed, and is down or was repaired since. */
function gone(entry: DirectoryEntry<PlacedVm>, lockstep: Lockstep): boolean {
  return entry.status === 'lost' || lockstep.healthOf(entry.processor) === 'failed';
}

/** The core that holds `entry`: its processor's, in the life the entry belongs to. */
function coreOf(placed: readonly PlacedProcessor[], entry: { processor: number; incarnation: number }): CoreRuntime {
  const slot = placed.find((candidate) => candidate.id === entry.processor)!;
  return slot.earlier[entry.incarnation] ?? slot.core;
}

/** Finds a VM where it lives now, for onBoundary. */
function boardProbe(placed: PlacedProcessor[], directory: VmDirectory<PlacedVm>): BoardProbe {
  return {
    locate: (name) => {
      const entry = directory.locate(name);
      if (entry === undefined || entry.status === 'lost') return undefined;
      const slot = placed.find((candidate) => candidate.id === entry.processor)!;
      return { core: slot.core, vmId: entry.handle, processor: slot.id, clockHz: slot.clockHz };
    },
  };
}

/** The board as the migration controller sees it: cores by processor id, and the VM directory. */
function migrationBoard(
  placed: PlacedProcessor[], directory: VmDirectory<PlacedVm>, trace: BoardTrace | undefined, health: (id: number) => ProcessorHealth | undefined,
): MigrationBoard {
  return {
    down: (id) => {
      const state = health(id);
      return state === 'up' || state === undefined ? undefined : state;
    },
    core: (id) => placed.find((slot) => slot.id === id)?.core,
    locate: (name) => {
      const entry = directory.locate(name);
      return entry === undefined || entry.status === 'lost' ? undefined : { processor: entry.processor, vmId: entry.handle };
    },
    trace: trace === undefined ? undefined : (record) => trace.add(record),
  };
}

function setUpChannels(board: Board, placed: PlacedProcessor[], directory: VmDirectory<PlacedVm>, plans: readonly ProtectionPlan[]): void {
  const find = (name: string): { slot: PlacedProcessor; vmId: number } => {
    const entry = directory.locate(name);
    if (entry === undefined) throw new BoardError(`board ${board.path}: no VM named ${JSON.stringify(name)}`);
    return { slot: placed.find((candidate) => candidate.id === entry.processor)!, vmId: entry.handle };
  };
  for (const channel of board.channels) {
    const at = `board ${board.path}: /channels/${channel.index}`;
    const source = find(channel.source.vm);
    const destination = find(channel.destination.vm);
    const kind = ChannelKind[channel.kind];
    refuseUnless(
      source.slot.core.channelAddSource(channel.index, source.vmId, channel.source.port, kind, channel.maxMessageBytes, channel.depth, destination.slot.id),
      `${at}/source`, `channelAddSource(${channel.index}, ...) on processor ${source.slot.id}`,
    );
    refuseUnless(
      destination.slot.core.channelAddDestination(channel.index, destination.vmId, channel.destination.port, kind, channel.maxMessageBytes, channel.depth),
      `${at}/destination`, `channelAddDestination(${channel.index}, ...) on processor ${destination.slot.id}`,
    );
    // The copies' ends sleep until their copy takes over.
    for (const plan of plans) {
      for (const processor of plan.order.slice(1)) {
        const copy = directory.copyOf(plan.vm.name, processor);
        if (copy === undefined) continue;
        const core = placed.find((candidate) => candidate.id === processor)!.core;
        if (channel.source.vm === plan.vm.name) {
          refuseUnless(core.channelAddSource(channel.index, copy, channel.source.port, kind, channel.maxMessageBytes, channel.depth, destination.slot.id), `${at}/source`, `channelAddSource(${channel.index}, ...) for the copy on processor ${processor}`);
        }
        if (channel.destination.vm === plan.vm.name) {
          refuseUnless(core.channelAddDestination(channel.index, copy, channel.destination.port, kind, channel.maxMessageBytes, channel.depth), `${at}/destination`, `channelAddDestination(${channel.index}, ...) for the copy on processor ${processor}`);
        }
      }
    }
  }
}

/** The host checked the board already; a refusal is a limit of the core, reported against the board. */
function refuseUnless(result: number, at: string, call: string): void {
  if (result !== 0) throw new BoardError(`${at}: the core refused ${call}: ${describeSbiError(result)}`);
}

function channelResult(channel: BoardChannel, placed: PlacedProcessor[], directory: VmDirectory<PlacedVm>): BoardChannelResult {
  const at = (vm: string) => (key: number): bigint => {
    const entry = directory.locate(vm);
    return entry === undefined ? 0n : coreOf(placed, entry).channelStat(channel.index, key);
  };
  const source = at(channel.source.vm);
  const destination = at(channel.destination.vm);
  const sent = source(ChannelStat.sent);
  const delivered = destination(ChannelStat.delivered);
  const moved = destination(ChannelStat.movedDeliveries);
  const direct = delivered - moved;
  return {
    name: channel.name, kind: channel.kind, source: channel.source.vm, destination: channel.destination.vm,
    sent, delivered, consumed: destination(ChannelStat.consumed),
    retransmissions: source(ChannelStat.retransmissions), duplicates: destination(ChannelStat.duplicates),
    outOfOrder: destination(ChannelStat.outOfOrder), undelivered: sent > delivered ? sent - delivered : 0n,
    worstDeliveryNs: destination(ChannelStat.worstDeliveryNs),
    meanDeliveryNs: direct > 0n ? destination(ChannelStat.totalDeliveryNs) / direct : 0n,
    boundNs: source(ChannelStat.boundNs), lateDeliveries: destination(ChannelStat.lateDeliveries),
    movedDeliveries: moved, worstMovedDeliveryNs: destination(ChannelStat.worstMovedDeliveryNs),
    linkDeadEvents: source(ChannelStat.linkDeadEvents), linkDead: source(ChannelStat.linkDead) !== 0n,
  };
}

function readStats(core: CoreRuntime, vmId: number): VmStats {
  const stats = {} as VmStats;
  for (const [name, id] of Object.entries(VmStatId) as [keyof VmStats, number][]) stats[name] = core.vmStat(vmId, id);
  return stats;
}

function collectResult(
  board: Board, placed: PlacedProcessor[], directory: VmDirectory<PlacedVm>, lockstep: Lockstep, network: LinkNetwork,
  run: { end: BoardRunEnd; endNs: bigint; quantumNs: bigint; seed: number }, migrations: MigrationReport[],
): BoardRunResult {
  const byBoardOrder: BoardVmResult[] = [];
  const messages: string[] = [];
  for (const entry of directory.living()) {
    const core = coreOf(placed, entry);
    const { vm, kind, collected } = entry.data;
    const lost = gone(entry, lockstep);
    const outcome = lost ? undefined : outcomeOf(core, entry.handle);
    const result: BoardVmResult = {
      name: vm.name,
      processor: entry.processor,
      ...(vm.processor === entry.processor ? {} : { migratedFrom: vm.processor }),
      vmId: entry.handle,
      kind,
      image: vm.image,
      state: lost ? 'lost' : outcome === undefined ? 'running' : 'stopped',
      instret: core.vmInstret(entry.handle),
      stats: readStats(core, entry.handle),
      console: collected.length === 0 ? '' : Buffer.concat(collected).toString('utf8'),
    };
    if (outcome !== undefined) result.outcome = outcome;
    byBoardOrder[vm.index] = result;
  }
  const vms = byBoardOrder.filter((vm) => vm !== undefined);
  for (const vm of vms) if (vm.outcome?.message !== undefined) messages.push(`${vm.name}: ${vm.outcome.message}`);
  const failed = vms.some((vm) => (vm.outcome?.exitStatus ?? 0) !== 0);
  const running = vms.filter((vm) => vm.state === 'running');
  let exitStatus = failed ? 1 : 0;
  if (!failed && running.length > 0 && run.end === 'limit') {
    exitStatus = MAX_CYCLES_EXIT_STATUS;
    const first = placed[0]!;
    messages.push(
      `limit: ${running.length} VM${running.length === 1 ? ' was' : 's were'} still running after ${run.endNs} ns of virtual time ` +
      `(${first.core.now()} cycles of processor ${first.id}): ${running.map((vm) => vm.name).join(', ')}`,
    );
  }
  if (run.end === 'interrupted') {
    exitStatus = INTERRUPTED_EXIT_STATUS;
    messages.push(`interrupted (Ctrl-C) after ${run.endNs} ns of virtual time`);
  }
  return {
    board: board.name,
    exitStatus,
    end: run.end,
    endNs: run.endNs,
    quantumNs: run.quantumNs,
    steps: lockstep.stepCount(),
    seed: run.seed,
    vms,
    processors: placed.map((slot) => ({
      id: slot.id,
      clockHz: slot.clockHz,
      cycles: slot.core.now(),
      framesSent: slot.core.processorStat(ProcessorStat.framesSent),
      framesReceived: slot.core.processorStat(ProcessorStat.framesReceived),
      framesDropped: slot.core.processorStat(ProcessorStat.framesDropped),
      framesOutOfOrder: slot.core.processorStat(ProcessorStat.framesOutOfOrder),
      relays: Number(slot.core.processorStat(ProcessorStat.relays)),
      ports: Number(slot.core.processorStat(ProcessorStat.ports)),
      vmSlots: Number(slot.core.processorStat(ProcessorStat.vms)),
    })),
    channels: board.channels.map((channel) => channelResult(channel, placed, directory)),
    links: network.stats(),
    framesInFlight: network.framesInFlight(),
    messages,
    migrations,
    faults: [],
    doubleActive: [],
    failedProcessors: placed.filter((slot) => lockstep.healthOf(slot.id) === 'failed').map((slot) => slot.id),
  };
}
