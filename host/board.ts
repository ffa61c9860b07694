/**
 * Board files (boards/*.json): read, validate against boards/schema.json,
 * check what a schema cannot say (references between parts, overlapping
 * windows, RAM budgets, channels without a link), and hand back a typed
 * Board. A bad file is refused with a BoardError naming the file, the JSON
 * pointer of each problem and what was expected. docs/boards.md is the
 * format's documentation.
 */
import { dirname, resolve } from 'node:path';
import { formatProblems, schemaProblems } from './board-schema.js';
import type { BoardProblem, LineOf } from './board-schema.js';
import type { CoreRuntimeName, VmMode } from './core-runtime.js';
import { BoardError } from './errors.js';
import { InputFileError } from './input-file.js';
import { JsonTextError, readJsonFile } from './json-file.js';
import type { JsonDocument } from './json-file.js';
import {
  CHANNEL_HEADER_BYTES, FRAME_HEADER_BYTES, MAX_CHANNEL_DEPTH, MAX_MESSAGE_BYTES, MAX_PEERS, MAX_PORTS, MAX_PROCESSOR_RAM_BYTES,
  MAX_PROTECTIONS, MAX_VMS, MAX_VM_RAM_BYTES, MAX_WINDOWS,
} from './numbers.js';
import { checkLoadPolicies, normaliseLoadPolicies } from './load-policies.js';
import type { BoardLoadPolicies, RawLoadPolicies } from './load-policies.js';
import { NS_PER_S, parseDurationS, parseRatePerS } from './reliability/units.js';
import { formatSize } from './time-units.js';

export type { BoardProblem };

/** How many VMs one processor's core can hold at once (MAX_VMS in wit/numbers.json). */
export const MAX_VMS_PER_PROCESSOR = MAX_VMS;

/**
 * What a channel message's frame carries besides the message (docs/core-interface.md,
 * "Link frames" and "Channels"): the link frame's header and the channel's own
 * (sequence, flags, send time, bound). A message must fit the MTU less both.
 */
const CHANNEL_FRAME_OVERHEAD_BYTES = FRAME_HEADER_BYTES + CHANNEL_HEADER_BYTES;

export interface BoardProcessor {
  id: number;
  clockHz: number;
  ramBytes: number;
  majorFrameNs?: number;
  /** The form of the core it runs (docs/runtimes.md); unset: the run's --runtime. */
  runtime?: CoreRuntimeName;
  /** From `failureRate` ("2e-5/h"): failures per second, for the reliability model. */
  failureRatePerS?: number;
  /** From `repairTime` ("10h"): mean time to repair, in seconds. */
  repairTimeS?: number;
}

export interface BoardLink {
  /** Position in the file's links array. */
  index: number;
  from: number;
  to: number;
  bandwidthBytesPerS: number;
  latencyNs: number;
  mtuBytes: number;
  bidirectional: boolean;
}

export interface PartitionWindow {
  offsetNs: number;
  durationNs: number;
}

export interface BoardVm {
  /** Position in the file's vms array. */
  index: number;
  name: string;
  /** The image path as the file gives it (relative to the board file). */
  image: string;
  /** The image path resolved against the board file's directory. */
  imagePath: string;
  /** Undefined: decided from the image (machine if it has a tohost symbol). */
  kind?: VmMode;
  memoryBytes: number;
  processor: number;
  /** Empty: the core's default schedule (equal windows in creation order). */
  windows: PartitionWindow[];
  /** How the VM survives its processor's failure; undefined: not protected (as policy "none"). */
  protection?: VmProtection;
  /** From `affordableDowntime`: what the VM can afford to be down, ns (its migrations are admitted against it); undefined: its task set's slack. */
  affordableDowntimeNs?: number;
  /** `pinned`: the load policies never move it. */
  pinned?: boolean;
}

export type ProtectionPolicy = 'migrate-on-warning' | 'checkpoint' | 'restart' | 'none';

export interface VmProtection {
  policies: ProtectionPolicy[];
  /** Processor id that holds the checkpoints and takes over first. */
  backup?: number;
  /** Further processor ids to fail over to, in order. */
  spares: number[];
  checkpointIntervalNs?: number;
}

export type ChannelKindName = 'queuing' | 'sampling';

export interface ChannelEnd {
  vm: string;
  port: number;
}

export interface BoardChannel {
  /** Position in the file's channels array: the channel's id on the board. */
  index: number;
  name: string;
  kind: ChannelKindName;
  maxMessageBytes: number;
  depth: number;
  source: ChannelEnd;
  destination: ChannelEnd;
}

/** The health monitor's settings (docs/health.md). */
export interface BoardHealth {
  heartbeatNs: number;
  /** Undefined: the shortest the links allow + 2 heartbeat periods (the core says what that is). */
  suspectNs?: number;
  /** The processors that monitor each other and vote, ascending. */
  members: number[];
}

export interface Board {
  /** The file it came from (as given), for messages. */
  path: string;
  name: string;
  description?: string;
  /** In file order. */
  processors: BoardProcessor[];
  links: BoardLink[];
  vms: BoardVm[];
  channels: BoardChannel[];
  /** Undefined when no VM is protected and the file has no health section. */
  health?: BoardHealth;
  /** The load policies (docs/load-policies.md); undefined: none. */
  load?: BoardLoadPolicies;
}

/** The heartbeat period without a health section. */
export const DEFAULT_HEARTBEAT_NS = 1_000_000;

/** A VM is protected when it has a policy other than "none". */
export function isProtected(vm: BoardVm): boolean {
  return vm.protection !== undefined && vm.protection.policies.some((policy) => policy !== 'none');
}

/**
 * Its processors in failover order: where it runs, its backup, its spares — or, when the
 * board names neither, every other member of the health monitor, in id order after its own.
 */
export function protectionOrder(vm: BoardVm, board: Board): number[] {
  const protection = vm.protection;
  if (protection === undefined) return [vm.processor];
  const named = [...(protection.backup === undefined ? [] : [protection.backup]), ...protection.spares];
  if (named.length > 0) return [vm.processor, ...named];
  const others = (board.health?.members ?? board.processors.map((processor) => processor.id)).filter((id) => id !== vm.processor);
  const after = others.filter((id) => id > vm.processor);
  return [vm.processor, ...after, ...others.filter((id) => id < vm.processor)];
}

/** Reads, validates and checks a board file; throws BoardError if it is unusable. */
export async function readBoard(path: string): Promise<Board> {
  const document = await readBoardJson(path);
  return parseBoard(document.value, path, document.lineOf);
}

/**
 * Validates a parsed board (e.g. JSON.parse of a board file) and returns it
 * typed. `path` names it in messages and anchors relative image paths; `lineOf`
 * (from the file's text) adds each problem's line.
 */
export function parseBoard(value: unknown, path: string, lineOf?: LineOf): Board {
  const problems = schemaProblems(value);
  if (problems.length > 0) throw new BoardFileError(path, problems, lineOf);
  const board = normalise(value as RawBoard, path);
  const semantic = checkBoard(board);
  if (semantic.length > 0) throw new BoardFileError(path, semantic, lineOf);
  return board;
}

/** The processor with this id; undefined if the board has none. */
export function processorById(board: Board, id: number): BoardProcessor | undefined {
  return board.processors.find((processor) => processor.id === id);
}

/** The link that carries frames from → to (either its own direction or a bidirectional one). */
export function linkBetween(board: Board, from: number, to: number): BoardLink | undefined {
  return board.links.find((link) => (link.from === from && link.to === to) || (link.bidirectional && link.from === to && link.to === from));
}

export function vmByName(board: Board, name: string): BoardVm | undefined {
  return board.vms.find((vm) => vm.name === name);
}

/**
 * What `ferry run <image> --board <file>` takes from the board: the clock of
 * the first processor listed and the memory of the first VM on it.
 */
export function imageRunSettings(board: Board): { clockHz: number; ramBytes?: number } {
  const first = board.processors[0]!;
  const vm = board.vms.find((candidate) => candidate.processor === first.id);
  return vm === undefined ? { clockHz: first.clockHz } : { clockHz: first.clockHz, ramBytes: vm.memoryBytes };
}

/** A board file that does not conform: every problem found, the first few in the message. */
export class BoardFileError extends BoardError {
  override name = 'BoardFileError';

  constructor(readonly boardPath: string, readonly problems: BoardProblem[], lineOf?: LineOf) {
    super(`board ${boardPath}: ${formatProblems(problems, lineOf)}`);
  }
}

// ---------------------------------------------------------------- reading

/** The board file's JSON; BoardError naming the file if it cannot be read or is not strict JSON. */
async function readBoardJson(path: string): Promise<JsonDocument> {
  try {
    return await readJsonFile(path);
  } catch (error) {
    if (error instanceof InputFileError) throw new BoardError(`board ${path}: cannot read it (${error.reason})`);
    if (error instanceof JsonTextError) throw new BoardError(`board ${path}: ${error.message}`);
    throw error;
  }
}

// ------------------------------------------------------------- normalising

/** The file as the schema admits it. */
interface RawBoard {
  name?: string;
  description?: string;
  processors: (Omit<BoardProcessor, 'failureRatePerS' | 'repairTimeS'> & { failureRate?: string; repairTime?: string })[];
  links?: (Omit<BoardLink, 'index' | 'bidirectional'> & { bidirectional?: boolean })[];
  vms?: (Omit<BoardVm, 'index' | 'imagePath' | 'windows' | 'protection' | 'affordableDowntimeNs'> & { windows?: PartitionWindow[]; protection?: RawProtection; affordableDowntime?: string })[];
  channels?: (Omit<BoardChannel, 'index' | 'depth'> & { depth?: number })[];
  health?: { heartbeat?: string; suspect?: string; members?: number[] };
  load?: RawLoadPolicies;
}

interface RawProtection {
  policies: ProtectionPolicy[];
  backup?: number;
  spares?: number[];
  checkpointInterval?: string;
}

function normaliseProcessor({ id, clockHz, ramBytes, majorFrameNs, runtime, failureRate, repairTime }: RawBoard['processors'][number]): BoardProcessor {
  const processor: BoardProcessor = majorFrameNs === undefined ? { id, clockHz, ramBytes } : { id, clockHz, ramBytes, majorFrameNs };
  if (runtime !== undefined) processor.runtime = runtime;
  // The schema's patterns admit exactly what these parse.
  if (failureRate !== undefined) processor.failureRatePerS = parseRatePerS(failureRate)!;
  if (repairTime !== undefined) processor.repairTimeS = parseDurationS(repairTime)!;
  return processor;
}

/** The checkpoint interval of the "checkpoint" policy when the board gives none. */
export const DEFAULT_CHECKPOINT_INTERVAL_NS = 20_000_000;

function normaliseProtection(raw: RawProtection): VmProtection {
  const protection: VmProtection = { policies: [...raw.policies], spares: [...(raw.spares ?? [])] };
  if (raw.backup !== undefined) protection.backup = raw.backup;
  if (raw.checkpointInterval !== undefined) protection.checkpointIntervalNs = Math.round(parseDurationS(raw.checkpointInterval)! * NS_PER_S);
  else if (raw.policies.includes('checkpoint')) protection.checkpointIntervalNs = DEFAULT_CHECKPOINT_INTERVAL_NS;
  return protection;
}

function normalise(raw: RawBoard, path: string): Board {
  const dir = dirname(resolve(path));
  const links = raw.links ?? [];
  const board: Board = {
    path,
    name: raw.name ?? basenameWithoutJson(path),
    processors: raw.processors.map(normaliseProcessor),
    links: links.map((link, index) => ({
      index,
      from: link.from,
      to: link.to,
      bandwidthBytesPerS: link.bandwidthBytesPerS,
      latencyNs: link.latencyNs,
      mtuBytes: link.mtuBytes,
      bidirectional: link.bidirectional ?? true,
    })),
    vms: (raw.vms ?? []).map((vm, index) => {
      const normalised: BoardVm = {
        index,
        name: vm.name,
        image: vm.image,
        imagePath: resolve(dir, vm.image),
        memoryBytes: vm.memoryBytes,
        processor: vm.processor,
        windows: (vm.windows ?? []).map(({ offsetNs, durationNs }) => ({ offsetNs, durationNs })),
      };
      if (vm.kind !== undefined) normalised.kind = vm.kind;
      if (vm.protection !== undefined) normalised.protection = normaliseProtection(vm.protection);
      if (vm.pinned === true) normalised.pinned = true;
      if (vm.affordableDowntime !== undefined) normalised.affordableDowntimeNs = Math.round(parseDurationS(vm.affordableDowntime)! * NS_PER_S);
      return normalised;
    }),
    channels: (raw.channels ?? []).map((channel, index) => ({
      index,
      name: channel.name,
      kind: channel.kind,
      maxMessageBytes: channel.maxMessageBytes,
      depth: channel.depth ?? 1,
      source: { vm: channel.source.vm, port: channel.source.port },
      destination: { vm: channel.destination.vm, port: channel.destination.port },
    })),
  };
  if (raw.description !== undefined) board.description = raw.description;
  if (raw.health !== undefined || board.vms.some(isProtected)) board.health = normaliseHealth(raw.health ?? {}, board);
  if (raw.load !== undefined) board.load = normaliseLoadPolicies(raw.load);
  return board;
}

function normaliseHealth(raw: NonNullable<RawBoard['health']>, board: Board): BoardHealth {
  const health: BoardHealth = {
    heartbeatNs: raw.heartbeat === undefined ? DEFAULT_HEARTBEAT_NS : Math.round(parseDurationS(raw.heartbeat)! * NS_PER_S),
    members: [...(raw.members ?? board.processors.map((processor) => processor.id))].sort((a, b) => a - b),
  };
  if (raw.suspect !== undefined) health.suspectNs = Math.round(parseDurationS(raw.suspect)! * NS_PER_S);
  return health;
}

function basenameWithoutJson(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.json$/i, '');
}

// ---------------------------------------------------------------- checking

/**
 * Problems a schema cannot express; empty when the board is consistent. Every
 * check is one pass (maps by id and name), so a board at the schema's limits is
 * checked as fast as a small one.
 */
export function checkBoard(board: Board): BoardProblem[] {
  const problems: BoardProblem[] = [];
  const report = (pointer: string, message: string): void => { problems.push({ pointer, message }); };
  const index = indexBoard(board, report);
  checkLinks(board, index, report);
  checkVms(board, index, report);
  checkWindows(board, index, report);
  checkChannels(board, index, report);
  checkReliabilityFields(board, report);
  checkLoad(board, report);
  return problems;
}

type Report = (pointer: string, message: string) => void;

/** The board's parts by key, built once for every check. */
interface BoardIndex {
  /** Processor id → its first position in the file (a duplicate id is reported once). */
  processorAt: Map<number, number>;
  /** Processor id → the VMs placed on it, in file order (the copies of protected VMs are the board runner's to place: the core refuses one that does not fit). */
  residents: Map<number, BoardVm[]>;
  vmsByName: Map<string, BoardVm>;
}

function indexBoard(board: Board, report: Report): BoardIndex {
  const processorAt = new Map<number, number>();
  board.processors.forEach((processor, index) => {
    const first = processorAt.get(processor.id);
    if (first !== undefined) report(`/processors/${index}/id`, `processor id ${processor.id} is already used by /processors/${first}`);
    else processorAt.set(processor.id, index);
  });
  const residents = new Map<number, BoardVm[]>();
  const vmsByName = new Map<string, BoardVm>();
  for (const vm of board.vms) {
    if (!vmsByName.has(vm.name)) vmsByName.set(vm.name, vm);
    const list = residents.get(vm.processor);
    if (list === undefined) residents.set(vm.processor, [vm]);
    else list.push(vm);
  }
  return { processorAt, residents, vmsByName };
}

function checkLinks(board: Board, index: BoardIndex, report: Report): void {
  const directions = new Map<string, number>();
  for (const link of board.links) {
    const at = `/links/${link.index}`;
    for (const [end, id] of [['from', link.from], ['to', link.to]] as const) {
      if (!index.processorAt.has(id)) report(`${at}/${end}`, `no processor with id ${id}`);
      else if (id >= MAX_PEERS) report(`${at}/${end}`, `processor ${id} cannot have links: a core has links to processor ids below ${MAX_PEERS} only`);
    }
    if (link.from === link.to) {
      report(`${at}/to`, `a link joins two different processors, not processor ${link.from} to itself`);
      continue;
    }
    const covered = link.bidirectional ? [[link.from, link.to], [link.to, link.from]] : [[link.from, link.to]];
    for (const [from, to] of covered) {
      const key = `${from}>${to}`;
      const other = directions.get(key);
      if (other !== undefined) report(at, `frames from processor ${from} to ${to} already have a link (/links/${other})`);
      else directions.set(key, link.index);
    }
  }
}

function checkVms(board: Board, index: BoardIndex, report: Report): void {
  const names = new Map<string, number>();
  for (const vm of board.vms) {
    const first = names.get(vm.name);
    if (first !== undefined) report(`/vms/${vm.index}/name`, `VM name "${vm.name}" is already used by /vms/${first}`);
    else names.set(vm.name, vm.index);
    if (!index.processorAt.has(vm.processor)) {
      report(`/vms/${vm.index}/processor`, `no processor with id ${vm.processor} (the board has ${idList(board)})`);
    }
    if (vm.memoryBytes > MAX_VM_RAM_BYTES) {
      report(`/vms/${vm.index}/memoryBytes`, `must be at most ${MAX_VM_RAM_BYTES} (${formatSize(MAX_VM_RAM_BYTES)}, the most RAM a VM may have), not ${vm.memoryBytes}`);
    }
  }
  for (const [id, at] of index.processorAt) {
    const processor = board.processors[at]!;
    const resident = index.residents.get(id) ?? [];
    if (resident.length > MAX_VMS_PER_PROCESSOR) {
      report(`/processors/${at}`, `${resident.length} VMs on processor ${id}, but a processor holds at most ${MAX_VMS_PER_PROCESSOR}`);
    }
    const neededBytes = resident.reduce((sum, vm) => sum + vm.memoryBytes, 0);
    const each = (): string => resident.map((vm) => `${vm.name} ${vm.memoryBytes}`).join(', ');
    if (neededBytes > processor.ramBytes) {
      report(`/processors/${at}/ramBytes`, `the VMs on processor ${id} need ${neededBytes} bytes (${each()}) but it has ${processor.ramBytes}`);
    } else if (neededBytes > MAX_PROCESSOR_RAM_BYTES) {
      report(`/processors/${at}`, `the VMs on processor ${id} need ${neededBytes} bytes (${each()}), more than the ${formatSize(MAX_PROCESSOR_RAM_BYTES)} one processor's core holds`);
    }
  }
}

function checkWindows(board: Board, index: BoardIndex, report: Report): void {
  for (const [id, processorIndex] of index.processorAt) {
    const processor = board.processors[processorIndex]!;
    const resident = index.residents.get(id) ?? [];
    const scheduled = resident.filter((vm) => vm.windows.length > 0);
    if (scheduled.length === 0) continue;
    const frameNs = processor.majorFrameNs;
    if (frameNs === undefined) {
      report(`/processors/${processorIndex}/majorFrameNs`, `is required: VMs on processor ${id} have windows (${scheduled.map((vm) => vm.name).join(', ')})`);
      continue;
    }
    for (const vm of resident) {
      if (vm.windows.length === 0) {
        report(`/vms/${vm.index}/windows`, `is required: other VMs on processor ${id} have windows, so ${vm.name} would never run`);
      }
    }
    const all: { at: string; start: number; end: number }[] = [];
    for (const vm of scheduled) {
      vm.windows.forEach((window, index) => {
        const at = `/vms/${vm.index}/windows/${index}`;
        const end = window.offsetNs + window.durationNs;
        if (end > frameNs) report(at, `ends at ${end} ns, after the ${frameNs} ns major frame of processor ${id}`);
        all.push({ at, start: window.offsetNs, end });
      });
    }
    if (all.length > MAX_WINDOWS) {
      report(`/processors/${processorIndex}`, `its VMs have ${all.length} windows, but a processor holds at most ${MAX_WINDOWS}`);
    }
    all.sort((a, b) => a.start - b.start || a.end - b.end);
    for (let i = 1; i < all.length; i++) {
      const previous = all[i - 1]!;
      const window = all[i]!;
      if (window.start < previous.end) {
        report(window.at, `overlaps ${previous.at} on processor ${id} (${window.start}–${window.end} ns and ${previous.start}–${previous.end} ns)`);
      }
    }
  }
}

function checkChannels(board: Board, index: BoardIndex, report: Report): void {
  const names = new Map<string, number>();
  /** "vm#port" → pointer of the end that uses it: a port belongs to one channel end. */
  const ports = new Map<string, string>();
  /** Channel ends per processor: each takes a port of its core. */
  const portsPerProcessor = new Map<number, number>();
  const links = linkDirections(board);
  for (const channel of board.channels) {
    const at = `/channels/${channel.index}`;
    const first = names.get(channel.name);
    if (first !== undefined) report(`${at}/name`, `channel name "${channel.name}" is already used by /channels/${first}`);
    else names.set(channel.name, channel.index);
    if (channel.kind === 'sampling' && channel.depth !== 1) {
      report(`${at}/depth`, `must be 1 for a sampling channel (it holds the latest message only), not ${channel.depth}`);
    } else if (channel.depth > MAX_CHANNEL_DEPTH) {
      report(`${at}/depth`, `must be at most ${MAX_CHANNEL_DEPTH} (the deepest queuing channel), not ${channel.depth}`);
    }
    if (channel.maxMessageBytes > MAX_MESSAGE_BYTES) {
      report(`${at}/maxMessageBytes`, `must be at most ${MAX_MESSAGE_BYTES} (the largest channel message), not ${channel.maxMessageBytes}`);
    }
    const ends = [['source', channel.source], ['destination', channel.destination]] as const;
    const processors: (number | undefined)[] = [];
    for (const [role, end] of ends) {
      const vm = index.vmsByName.get(end.vm);
      processors.push(vm?.processor);
      if (vm === undefined) {
        report(`${at}/${role}/vm`, `no VM named ${JSON.stringify(end.vm)}`);
        continue;
      }
      const key = `${end.vm}#${end.port}`;
      const other = ports.get(key);
      if (other !== undefined) report(`${at}/${role}/port`, `port ${end.port} of ${end.vm} is already used by ${other}`);
      else ports.set(key, `${at}/${role}`);
      const used = (portsPerProcessor.get(vm.processor) ?? 0) + 1;
      portsPerProcessor.set(vm.processor, used);
      if (used === MAX_PORTS + 1) report(`${at}/${role}`, `processor ${vm.processor} would hold more than ${MAX_PORTS} channel ends (the most a core holds)`);
    }
    const [from, to] = processors;
    if (from === undefined || to === undefined || from === to) continue;
    const link = links.get(`${from}>${to}`);
    if (link === undefined) {
      report(at, `${channel.source.vm} on processor ${from} and ${channel.destination.vm} on processor ${to} have no link from ${from} to ${to}`);
    } else if (channel.maxMessageBytes + CHANNEL_FRAME_OVERHEAD_BYTES > link.mtuBytes) {
      report(`${at}/maxMessageBytes`, `must be at most ${link.mtuBytes - CHANNEL_FRAME_OVERHEAD_BYTES}: a message travels in one frame of /links/${link.index} (MTU ${link.mtuBytes}) with ${CHANNEL_FRAME_OVERHEAD_BYTES} bytes of headers, not ${channel.maxMessageBytes}`);
    }
  }
}

/** "from>to" → the first link that carries frames that way (as linkBetween finds it). */
function linkDirections(board: Board): Map<string, BoardLink> {
  const directions = new Map<string, BoardLink>();
  const add = (key: string, link: BoardLink): void => { if (!directions.has(key)) directions.set(key, link); };
  for (const link of board.links) {
    add(`${link.from}>${link.to}`, link);
    if (link.bidirectional) add(`${link.to}>${link.from}`, link);
  }
  return directions;
}

/** The reliability fields: a repair takes time; protection names other, existing processors; "none" stands alone. */
function checkReliabilityFields(board: Board, report: Report): void {
  board.processors.forEach((processor, index) => {
    if (processor.repairTimeS !== undefined && !(processor.repairTimeS > 0)) report(`/processors/${index}/repairTime`, 'must be longer than 0');
  });
  const ids = new Set(board.processors.map((processor) => processor.id));
  for (const vm of board.vms) {
    const protection = vm.protection;
    if (protection === undefined) continue;
    const at = `/vms/${vm.index}/protection`;
    if (protection.policies.includes('none') && protection.policies.length > 1) report(`${at}/policies`, '"none" cannot be combined with other policies');
    const targets: [string, number][] = protection.backup === undefined ? [] : [[`${at}/backup`, protection.backup]];
    protection.spares.forEach((id, i) => targets.push([`${at}/spares/${i}`, id]));
    for (const [pointer, id] of targets) {
      if (!ids.has(id)) report(pointer, `no processor with id ${id} (the board has ${idList(board)})`);
      else if (id === vm.processor) report(pointer, `is ${vm.name}'s own processor ${id}: a failover goes elsewhere`);
    }
    if (protection.backup !== undefined && protection.spares.includes(protection.backup)) {
      report(`${at}/spares`, `lists the backup ${protection.backup} again`);
    }
    if (protection.checkpointIntervalNs !== undefined && !(protection.checkpointIntervalNs >= 1)) report(`${at}/checkpointInterval`, 'must be at least 1 ns');
    if (!isProtected(vm)) continue;
    const members = board.health?.members ?? [];
    for (const [pointer, id] of [[`/vms/${vm.index}/processor`, vm.processor] as [string, number], ...targets]) {
      if (ids.has(id) && !members.includes(id)) report(pointer, `processor ${id} is not a member of the health monitor (/health/members)`);
    }
  }
  checkHealth(board, ids, report);
}

function checkHealth(board: Board, ids: Set<number>, report: Report): void {
  const health = board.health;
  if (health === undefined) return;
  if (!(health.heartbeatNs >= 1)) report('/health/heartbeat', 'must be at least 1 ns');
  if (health.suspectNs !== undefined && !(health.suspectNs >= 1)) report('/health/suspect', 'must be at least 1 ns');
  health.members.forEach((id, i) => {
    if (!ids.has(id)) report(`/health/members/${i}`, `no processor with id ${id} (the board has ${idList(board)})`);
  });
  const protectedVms = board.vms.filter(isProtected);
  if (protectedVms.length > MAX_PROTECTIONS) {
    report('/vms', `${protectedVms.length} VMs are protected, but a board holds at most ${MAX_PROTECTIONS} protections`);
  }
}

/** The load policies' section and each VM's affordable downtime (a migration carries it in whole microseconds, at most 2^31 - 1). */
function checkLoad(board: Board, report: Report): void {
  for (const vm of board.vms) {
    const limit = vm.affordableDowntimeNs;
    if (limit !== undefined && !(limit >= 1000 && limit / 1000 <= 0x7FFF_FFFF)) {
      report(`/vms/${vm.index}/affordableDowntime`, 'must be at least 1 us and at most 2147.483647 s');
    }
  }
  if (board.load !== undefined) checkLoadPolicies(board.load, slowestLink(board), longestMajorFrame(board), report);
}

/** The bandwidth of the board's slowest link; undefined without links. */
/** The longest major frame of the board's processors, ns (undefined: none sets one). */
export function longestMajorFrame(board: Board): number | undefined {
  const frames = board.processors.flatMap((processor) => (processor.majorFrameNs === undefined ? [] : [processor.majorFrameNs]));
  return frames.length === 0 ? undefined : Math.max(...frames);
}

export function slowestLink(board: Board): number | undefined {
  return board.links.length === 0 ? undefined : board.links.reduce((slowest, link) => Math.min(slowest, link.bandwidthBytesPerS), Infinity);
}

function idList(board: Board): string {
  const ids = board.processors.map((processor) => processor.id);
  return ids.length === 1 ? `only ${ids[0]}` : ids.join(', ');
}
