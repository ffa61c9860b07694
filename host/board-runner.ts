/**
 * Runs a board: one core instance per processor, configured from the board
 * file (clock and id, VMs and their images, partition windows, links,
 * channels), all advanced in lockstep virtual time (lockstep.ts) with link
 * frames carried by the board's wires (link.ts). This is `ferry run --board`
 * as a function: the CLI, tests and benchmarks come through here.
 */
import { readFile } from 'node:fs/promises';
import type { Board, BoardVm } from './board.js';
import { moduleCoreFactory } from './core.js';
import { VmExitReason, VmKind } from './core-runtime.js';
import type { CoreFactory, CoreRuntime, VmMode } from './core-runtime.js';
import { TOHOST_SYMBOL } from './defaults.js';
import { parseElf } from './elf.js';
import type { ElfImage } from './elf.js';
import { BoardError, ImageError, describeSbiError } from './errors.js';
import { seededLinkFaults } from './link-faults.js';
import type { LinkFaultModel, LinkFaultRates } from './link-faults.js';
import { LinkNetwork } from './link.js';
import type { LinkDirectionStats } from './link.js';
import { Lockstep, cyclesToNs } from './lockstep.js';
import { loadImage } from './loader.js';
import { MigrationController, migrationCore } from './migration.js';
import type { MigrationBoard, MigrationReport, ScenarioEvent } from './migration.js';
import { BoardTrace, coreTraceRecord } from './trace.js';
import type { TraceRecord } from './trace.js';
import { MAX_CYCLES_EXIT_STATUS, describeVmExit } from './vm-exit.js';
import type { VmOutcome } from './vm-exit.js';

/** The longest lockstep quantum, for boards whose links are slow or absent: 1 ms of virtual time. */
export const MAX_QUANTUM_NS = 1_000_000n;

export const ChannelKind = { queuing: 0, sampling: 1 } as const;

/** vmStat numbers (docs/core-interface.md). */
export const VmStatId = {
  windowsUsed: 0,
  windowOverruns: 1,
  lateInterrupts: 2,
  latenessCycles: 3,
  deadlineMisses: 4,
  jobsCompleted: 5,
  slackNs: 6,
  hypercalls: 7,
  framesSent: 8,
  framesReceived: 9,
  framesDropped: 10,
  /** Ferry report_metric: the guest's figure of merit (a control error, in milli-units), sign-extended. */
  metricLast: 11,
  metricPeak: 12,
  metricReports: 13,
} as const;

export type VmStats = { -readonly [K in keyof typeof VmStatId]: bigint };

/** vmStat slackNs when the VM reported no task set. */
export const NO_SLACK = 2n ** 64n - 1n;

export interface BoardRunOptions {
  board: Board;
  /** How to run the cores; default build/core.wasm as plain modules. */
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
  /** End the run (as 'stopped') once every event has fired and every migration's report is final. */
  endAfterMigrations?: boolean;
  /**
   * Called at every quantum boundary, after the scenario's events, with a way to find
   * where a VM runs now (its processor's core and its id there): tools that act on a VM
   * at a virtual time (ferry checkpoint on a board) hook in here.
   */
  onBoundary?: (atNs: bigint, board: BoardProbe) => void;
}

/** Where a board VM lives at this boundary, for onBoundary. */
export interface BoardProbe {
  locate(name: string): { core: CoreRuntime; vmId: number; processor: number; clockHz: number } | undefined;
}

/** Why a board run ended: every VM stopped, the limit came first, the planned duration ran out, or (endAfterMigrations) the migrations were over. */
export type BoardRunEnd = 'stopped' | 'limit' | 'duration' | 'migrated';

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
  /** Stopped: how (outcome); running: the run ended at its limit first. */
  state: 'stopped' | 'running';
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
  framesLost: bigint;
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
  /** Frames still on the wire when the run ended. */
  framesInFlight: number;
  /** What to tell the user (failed VMs, the limit), one line each. */
  messages: string[];
  /** One report per migrate event, in the order they fired (empty without events). */
  migrations: MigrationReport[];
}

interface PlacedVm {
  vm: BoardVm;
  vmId: number;
  kind: VmMode;
  collected: Uint8Array[];
  /** Undefined: the VM lives here. Incoming: reserved by a migration, not committed; departed: it moved away; dropped: a reservation given up. */
  status?: 'incoming' | 'departed' | 'dropped';
}

interface PlacedProcessor {
  id: number;
  clockHz: number;
  core: CoreRuntime;
  /** By the core's VM id. */
  vms: PlacedVm[];
}

export async function runBoard(options: BoardRunOptions): Promise<BoardRunResult> {
  const { board } = options;
  const seed = options.seed ?? 0;
  const faults = options.linkFaultModel ?? (options.linkFaults === undefined ? undefined : seededLinkFaults(seed, options.linkFaults));
  const network = new LinkNetwork(board.links, faults);
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
  const placed: PlacedProcessor[] = [];
  for (const processor of board.processors) {
    const slot: PlacedProcessor = { id: processor.id, clockHz: processor.clockHz, core: undefined as unknown as CoreRuntime, vms: [] };
    const name = (vmId: number): string => slot.vms[vmId]?.vm.name ?? `vm${vmId}`;
    slot.core = await factory(
      (vmId, bytes) => {
        const vm = slot.vms[vmId];
        if (vm === undefined) return;
        if (options.onConsole !== undefined) options.onConsole(vm.vm, bytes);
        else vm.collected.push(bytes);
      },
      {
        onLinkSend: (peer, frame) => {
          if (lockstep === undefined) throw new BoardError(`processor ${processor.id} sent a frame before the board started`);
          lockstep.send(processor.id, peer, frame);
        },
        onTrace: trace === undefined ? undefined : (event, vm, atCycles, a, b) => {
          trace.add(coreTraceRecord(processor.id, cyclesToNs(atCycles, processor.clockHz), event, vm, atCycles, a, b, name));
        },
      },
    );
    placed.push(slot);
    setUpProcessor(board, slot, images, network, trace, quantumNs);
  }
  setUpChannels(board, placed);
  const migrations = new MigrationController(options.events ?? [], migrationBoard(placed, trace));
  const probe = boardProbe(placed);

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
      migrations.atBoundary(atNs);
      options.onBoundary?.(atNs, probe);
      trace?.flush();
    },
    finished: () => (allStopped(placed) && !migrations.migrating()) || (options.endAfterMigrations === true && !migrations.busy()),
  });
  migrations.atBoundary(0n);
  const lockstepEnd = lockstep.run();
  const end = lockstepEnd === 'stopped' && !allStopped(placed) ? 'migrated' : endOf(lockstepEnd, options);
  migrations.finish(lockstep.nowNs());
  // Stopped: when the last VM stopped, not the boundary after it.
  const endNs = end !== 'stopped' ? lockstep.nowNs() : placed.reduce((latest, slot) => {
    const ns = cyclesToNs(slot.core.now(), slot.clockHz);
    return ns > latest ? ns : latest;
  }, 0n);
  const result = collectResult(board, placed, lockstep, network, { end, endNs, quantumNs, seed }, migrations.reports());
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
function endOf(end: 'stopped' | 'limit', options: BoardRunOptions): BoardRunEnd {
  if (end === 'stopped' || options.durationNs === undefined) return end;
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
    let bytes: Uint8Array;
    try {
      bytes = await readFile(vm.imagePath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new BoardError(`${at}: cannot read the image (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(error))})`);
    }
    try {
      images.set(vm.imagePath, parseElf(bytes));
    } catch (error) {
      if (error instanceof ImageError) throw new BoardError(`${at}: ${error.message}`);
      throw error;
    }
  }
  return images;
}

function setUpProcessor(
  board: Board, slot: PlacedProcessor, images: Map<string, ElfImage>, network: LinkNetwork, trace: BoardTrace | undefined, quantumNs: bigint,
): void {
  const { core } = slot;
  const processor = board.processors.find((candidate) => candidate.id === slot.id)!;
  const at = `board ${board.path}: /processors/${board.processors.indexOf(processor)}`;
  core.configure(processor.clockHz, processor.id);
  core.traceEnable(trace !== undefined);
  core.scheduleClear();
  if (processor.majorFrameNs !== undefined) {
    refuseUnless(core.scheduleSetMajorFrame(BigInt(processor.majorFrameNs)), `${at}/majorFrameNs`, `scheduleSetMajorFrame(${processor.majorFrameNs})`);
  }
  for (const vm of board.vms.filter((candidate) => candidate.processor === processor.id)) {
    const image = images.get(vm.imagePath)!;
    const kind: VmMode = vm.kind ?? (image.symbols.has(TOHOST_SYMBOL) ? 'machine' : 'paravirtual');
    const vmAt = `board ${board.path}: /vms/${vm.index}`;
    const vmId = core.vmCreate(VmKind[kind], vm.memoryBytes);
    if (vmId < 0) {
      throw new BoardError(`${vmAt}: the core cannot create a ${kind} VM with ${vm.memoryBytes} bytes: ${vmId === -1 ? 'it has no memory for it' : describeSbiError(vmId)}`);
    }
    try {
      loadImage(core, vmId, image, vm.memoryBytes);
    } catch (error) {
      if (error instanceof ImageError) throw new BoardError(`${vmAt}/image: ${vm.image}: ${error.message}`);
      throw error;
    }
    slot.vms[vmId] = { vm, vmId, kind, collected: [] };
    trace?.add({
      ns: 0n, cycles: core.now(), cpu: processor.id, event: 'vm-load', vm: vm.name, vmId, kind,
      memoryBytes: vm.memoryBytes, image: vm.image, entry: image.entry,
    });
    vm.windows.forEach((window, index) => {
      refuseUnless(
        core.scheduleAddWindow(vmId, BigInt(window.offsetNs), BigInt(window.durationNs)),
        `${vmAt}/windows/${index}`, `scheduleAddWindow(${vmId}, ${window.offsetNs}, ${window.durationNs})`,
      );
    });
  }
  for (const { peer, mtuBytes } of network.peersOf(processor.id)) {
    const link = board.links.find((candidate) => (candidate.from === processor.id && candidate.to === peer) || (candidate.bidirectional && candidate.to === processor.id && candidate.from === peer))!;
    refuseUnless(core.linkConfigure(peer, mtuBytes), `board ${board.path}: /links/${link.index}`, `linkConfigure(${peer}, ${mtuBytes}) on processor ${processor.id}`);
    // The migration manager's bound: frames are handed over at quantum boundaries, so up to a quantum late.
    const timed = migrationCore(core);
    if (timed !== undefined) {
      refuseUnless(
        timed.linkSetTiming(peer, BigInt(link.bandwidthBytesPerS), BigInt(link.latencyNs), quantumNs),
        `board ${board.path}: /links/${link.index}`, `linkSetTiming(${peer}, ${link.bandwidthBytesPerS}, ${link.latencyNs}, ${quantumNs}) on processor ${processor.id}`,
      );
    }
  }
  migrationCore(core)?.processorSetRam(BigInt(processor.ramBytes));
}

/** Every VM of the board has stopped where it lives now. */
function allStopped(placed: readonly PlacedProcessor[]): boolean {
  for (const slot of placed) {
    for (const placedVm of slot.vms) {
      if (placedVm === undefined || placedVm.status !== undefined) continue;
      if (slot.core.vmExit(placedVm.vmId) === VmExitReason.running) return false;
    }
  }
  return true;
}

/** The board as the migration controller sees it: cores by processor id, and where each VM lives. */
/** Finds a VM where it runs now: the entry that is neither released nor dropped. */
function boardProbe(placed: PlacedProcessor[]): BoardProbe {
  return {
    locate: (name) => {
      for (const slot of placed) {
        const vmId = slot.vms.findIndex((entry) => entry !== undefined && entry.vm.name === name
          && (entry.status === undefined || entry.status === 'incoming') && slot.core.vmExit(entry.vmId) !== VmExitReason.migrated);
        if (vmId >= 0) return { core: slot.core, vmId: slot.vms[vmId]!.vmId, processor: slot.id, clockHz: slot.clockHz };
      }
      return undefined;
    },
  };
}

function migrationBoard(placed: PlacedProcessor[], trace: BoardTrace | undefined): MigrationBoard {
  const slotOf = (id: number): PlacedProcessor | undefined => placed.find((slot) => slot.id === id);
  const home = (name: string): { slot: PlacedProcessor; placedVm: PlacedVm } | undefined => {
    for (const slot of placed) {
      const placedVm = slot.vms.find((candidate) => candidate !== undefined && candidate.status === undefined && candidate.vm.name === name);
      if (placedVm !== undefined) return { slot, placedVm };
    }
    return undefined;
  };
  /** The VM's entry on the destination (made on first use): it shares the VM's console with the source's entry. */
  const incoming = (name: string, processor: number, vmId: number): PlacedVm | undefined => {
    const slot = slotOf(processor);
    const here = slot?.vms[vmId];
    if (slot === undefined) return undefined;
    if (here !== undefined && here.vm.name === name && here.status !== 'dropped') return here;
    const found = home(name);
    if (found === undefined) return undefined;
    const entry: PlacedVm = { vm: found.placedVm.vm, vmId, kind: found.placedVm.kind, collected: found.placedVm.collected, status: 'incoming' };
    slot.vms[vmId] = entry;
    return entry;
  };
  return {
    core: (id) => {
      const slot = slotOf(id);
      return slot === undefined ? undefined : migrationCore(slot.core);
    },
    clockHz: (id) => slotOf(id)?.clockHz ?? 1,
    locate: (name) => {
      const found = home(name);
      return found === undefined ? undefined : { processor: found.slot.id, vmId: found.placedVm.vmId };
    },
    expect: (name, processor, vmId) => { incoming(name, processor, vmId); },
    arrive: (name, processor, vmId) => {
      const from = home(name);
      const entry = incoming(name, processor, vmId);
      if (entry === undefined) return;
      if (from !== undefined && from.placedVm !== entry) from.placedVm.status = 'departed';
      entry.status = undefined;
    },
    forget: (processor, vmId) => {
      const entry = slotOf(processor)?.vms[vmId];
      if (entry !== undefined && entry.status === 'incoming') entry.status = 'dropped';
    },
    trace: trace === undefined ? undefined : (record) => trace.add(record),
  };
}

function setUpChannels(board: Board, placed: PlacedProcessor[]): void {
  const find = (name: string): { slot: PlacedProcessor; vm: PlacedVm } => {
    for (const slot of placed) {
      const vm = slot.vms.find((candidate) => candidate?.vm.name === name);
      if (vm !== undefined) return { slot, vm };
    }
    throw new BoardError(`board ${board.path}: no VM named ${JSON.stringify(name)}`);
  };
  for (const channel of board.channels) {
    const at = `board ${board.path}: /channels/${channel.index}`;
    const source = find(channel.source.vm);
    const destination = find(channel.destination.vm);
    const kind = ChannelKind[channel.kind];
    refuseUnless(
      source.slot.core.channelAddSource(channel.index, source.vm.vmId, channel.source.port, kind, channel.maxMessageBytes, channel.depth, destination.slot.id),
      `${at}/source`, `channelAddSource(${channel.index}, ...) on processor ${source.slot.id}`,
    );
    refuseUnless(
      destination.slot.core.channelAddDestination(channel.index, destination.vm.vmId, channel.destination.port, kind, channel.maxMessageBytes, channel.depth),
      `${at}/destination`, `channelAddDestination(${channel.index}, ...) on processor ${destination.slot.id}`,
    );
  }
}

/** The host checked the board already; a refusal is a limit of the core, reported against the board. */
function refuseUnless(result: number, at: string, call: string): void {
  if (result !== 0) throw new BoardError(`${at}: the core refused ${call}: ${describeSbiError(result)}`);
}

function readStats(core: CoreRuntime, vmId: number): VmStats {
  const stats = {} as VmStats;
  for (const [name, id] of Object.entries(VmStatId) as [keyof VmStats, number][]) stats[name] = core.vmStat(vmId, id);
  return stats;
}

function collectResult(
  board: Board, placed: PlacedProcessor[], lockstep: Lockstep, network: LinkNetwork,
  run: { end: BoardRunEnd; endNs: bigint; quantumNs: bigint; seed: number }, migrations: MigrationReport[],
): BoardRunResult {
  const byBoardOrder: BoardVmResult[] = [];
  const messages: string[] = [];
  for (const slot of placed) {
    for (const placedVm of slot.vms) {
      if (placedVm === undefined || placedVm.status !== undefined) continue;
      const { core } = slot;
      const exit = core.vmExit(placedVm.vmId);
      const result: BoardVmResult = {
        name: placedVm.vm.name,
        processor: slot.id,
        ...(placedVm.vm.processor === slot.id ? {} : { migratedFrom: placedVm.vm.processor }),
        vmId: placedVm.vmId,
        kind: placedVm.kind,
        image: placedVm.vm.image,
        state: exit === VmExitReason.running ? 'running' : 'stopped',
        instret: core.vmInstret(placedVm.vmId),
        stats: readStats(core, placedVm.vmId),
        console: placedVm.collected.length === 0 ? '' : Buffer.concat(placedVm.collected).toString('utf8'),
      };
      if (exit !== VmExitReason.running) {
        result.outcome = describeVmExit(exit, core.vmExitCode(placedVm.vmId), core.vmGetPc(placedVm.vmId));
      }
      byBoardOrder[placedVm.vm.index] = result;
    }
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
      framesSent: slot.core.processorStat(0),
      framesReceived: slot.core.processorStat(1),
      framesDropped: slot.core.processorStat(2),
      framesLost: slot.core.processorStat(3),
    })),
    links: network.stats(),
    framesInFlight: network.framesInFlight(),
    messages,
    migrations,
  };
}
