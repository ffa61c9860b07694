/**
 * Board files (boards/*.json): read, validate against boards/schema.json,
 * check what a schema cannot say (references between parts, overlapping
 * windows, RAM budgets, channels without a link), and hand back a typed
 * Board. A bad file is refused with a BoardError naming the file, the JSON
 * pointer of each problem and what was expected. docs/boards.md is the
 * format's documentation.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MAX_REPORTED_PROBLEMS, schemaProblems } from './board-schema.js';
import type { BoardProblem } from './board-schema.js';
import type { VmMode } from './core-runtime.js';
import { BoardError } from './errors.js';
import { CHANNEL_HEADER_BYTES, FRAME_HEADER_BYTES, MAX_VMS } from './numbers.js';
import { NS_PER_S, parseDurationS, parseRatePerS } from './reliability/units.js';

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
}

/** Reads, validates and checks a board file; throws BoardError if it is unusable. */
export async function readBoard(path: string): Promise<Board> {
  return parseBoard(parseJson(await readText(path), path), path);
}

/**
 * Validates a parsed board (e.g. JSON.parse of a board file) and returns it
 * typed. `path` names it in messages and anchors relative image paths.
 */
export function parseBoard(value: unknown, path: string): Board {
  const problems = schemaProblems(value);
  if (problems.length > 0) throw boardError(path, problems);
  const board = normalise(value as RawBoard, path);
  const semantic = checkBoard(board);
  if (semantic.length > 0) throw boardError(path, semantic);
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

  constructor(readonly boardPath: string, readonly problems: BoardProblem[]) {
    const shown = problems.slice(0, MAX_REPORTED_PROBLEMS).map((problem) => `${problem.pointer || '/'}: ${problem.message}`);
    const more = problems.length > MAX_REPORTED_PROBLEMS ? `; and ${problems.length - MAX_REPORTED_PROBLEMS} more` : '';
    super(`board ${boardPath}: ${shown.join('; ')}${more}`);
  }
}

function boardError(path: string, problems: BoardProblem[]): BoardFileError {
  return new BoardFileError(path, problems);
}

// ---------------------------------------------------------------- reading

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(error));
    throw new BoardError(`board ${path}: cannot read it (${why})`);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BoardError(`board ${path}: not valid JSON (${(error as Error).message})`);
  }
}

// ------------------------------------------------------------- normalising

/** The file as the schema admits it. */
interface RawBoard {
  name?: string;
  description?: string;
  processors: (Omit<BoardProcessor, 'failureRatePerS' | 'repairTimeS'> & { failureRate?: string; repairTime?: string })[];
  links?: (Omit<BoardLink, 'index' | 'bidirectional'> & { bidirectional?: boolean })[];
  vms?: (Omit<BoardVm, 'index' | 'imagePath' | 'windows' | 'protection'> & { windows?: PartitionWindow[]; protection?: RawProtection })[];
  channels?: (Omit<BoardChannel, 'index' | 'depth'> & { depth?: number })[];
}

interface RawProtection {
  policies: ProtectionPolicy[];
  backup?: number;
  spares?: number[];
  checkpointInterval?: string;
}

function normaliseProcessor({ id, clockHz, ramBytes, majorFrameNs, failureRate, repairTime }: RawBoard['processors'][number]): BoardProcessor {
  const processor: BoardProcessor = majorFrameNs === undefined ? { id, clockHz, ramBytes } : { id, clockHz, ramBytes, majorFrameNs };
  // The schema's patterns admit exactly what these parse.
  if (failureRate !== undefined) processor.failureRatePerS = parseRatePerS(failureRate)!;
  if (repairTime !== undefined) processor.repairTimeS = parseDurationS(repairTime)!;
  return processor;
}

function normaliseProtection(raw: RawProtection): VmProtection {
  const protection: VmProtection = { policies: [...raw.policies], spares: [...(raw.spares ?? [])] };
  if (raw.backup !== undefined) protection.backup = raw.backup;
  if (raw.checkpointInterval !== undefined) protection.checkpointIntervalNs = Math.round(parseDurationS(raw.checkpointInterval)! * NS_PER_S);
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
  return board;
}

function basenameWithoutJson(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.json$/i, '');
}

// ---------------------------------------------------------------- checking

/** Problems a schema cannot express; empty when the board is consistent. */
export function checkBoard(board: Board): BoardProblem[] {
  const problems: BoardProblem[] = [];
  const report = (pointer: string, message: string): void => { problems.push({ pointer, message }); };
  checkProcessors(board, report);
  checkLinks(board, report);
  checkVms(board, report);
  checkWindows(board, report);
  checkChannels(board, report);
  checkReliabilityFields(board, report);
  return problems;
}

type Report = (pointer: string, message: string) => void;

function checkProcessors(board: Board, report: Report): void {
  const seen = new Map<number, number>();
  board.processors.forEach((processor, index) => {
    const first = seen.get(processor.id);
    if (first !== undefined) report(`/processors/${index}/id`, `processor id ${processor.id} is already used by /processors/${first}`);
    else seen.set(processor.id, index);
  });
}

function checkLinks(board: Board, report: Report): void {
  const ids = new Set(board.processors.map((processor) => processor.id));
  const directions = new Map<string, number>();
  for (const link of board.links) {
    const at = `/links/${link.index}`;
    if (!ids.has(link.from)) report(`${at}/from`, `no processor with id ${link.from}`);
    if (!ids.has(link.to)) report(`${at}/to`, `no processor with id ${link.to}`);
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

function checkVms(board: Board, report: Report): void {
  const names = new Map<string, number>();
  for (const vm of board.vms) {
    const first = names.get(vm.name);
    if (first !== undefined) report(`/vms/${vm.index}/name`, `VM name "${vm.name}" is already used by /vms/${first}`);
    else names.set(vm.name, vm.index);
    if (processorById(board, vm.processor) === undefined) {
      report(`/vms/${vm.index}/processor`, `no processor with id ${vm.processor} (the board has ${idList(board)})`);
    }
  }
  board.processors.forEach((processor, index) => {
    if (!isFirstWithId(board, index)) return;
    const resident = board.vms.filter((vm) => vm.processor === processor.id);
    if (resident.length > MAX_VMS_PER_PROCESSOR) {
      report(`/processors/${index}`, `${resident.length} VMs on processor ${processor.id}, but a processor holds at most ${MAX_VMS_PER_PROCESSOR}`);
    }
    const neededBytes = resident.reduce((sum, vm) => sum + vm.memoryBytes, 0);
    if (neededBytes > processor.ramBytes) {
      const each = resident.map((vm) => `${vm.name} ${vm.memoryBytes}`).join(', ');
      report(`/processors/${index}/ramBytes`, `the VMs on processor ${processor.id} need ${neededBytes} bytes (${each}) but it has ${processor.ramBytes}`);
    }
  });
}

function checkWindows(board: Board, report: Report): void {
  board.processors.forEach((processor, processorIndex) => {
    if (!isFirstWithId(board, processorIndex)) return;
    const resident = board.vms.filter((vm) => vm.processor === processor.id);
    const scheduled = resident.filter((vm) => vm.windows.length > 0);
    if (scheduled.length === 0) return;
    const frameNs = processor.majorFrameNs;
    if (frameNs === undefined) {
      report(`/processors/${processorIndex}/majorFrameNs`, `is required: VMs on processor ${processor.id} have windows (${scheduled.map((vm) => vm.name).join(', ')})`);
      return;
    }
    for (const vm of resident) {
      if (vm.windows.length === 0) {
        report(`/vms/${vm.index}/windows`, `is required: other VMs on processor ${processor.id} have windows, so ${vm.name} would never run`);
      }
    }
    const all: { at: string; start: number; end: number }[] = [];
    for (const vm of scheduled) {
      vm.windows.forEach((window, index) => {
        const at = `/vms/${vm.index}/windows/${index}`;
        const end = window.offsetNs + window.durationNs;
        if (end > frameNs) report(at, `ends at ${end} ns, after the ${frameNs} ns major frame of processor ${processor.id}`);
        all.push({ at, start: window.offsetNs, end });
      });
    }
    all.sort((a, b) => a.start - b.start || a.end - b.end);
    for (let i = 1; i < all.length; i++) {
      const previous = all[i - 1]!;
      const window = all[i]!;
      if (window.start < previous.end) {
        report(window.at, `overlaps ${previous.at} on processor ${processor.id} (${window.start}–${window.end} ns and ${previous.start}–${previous.end} ns)`);
      }
    }
  });
}

function checkChannels(board: Board, report: Report): void {
  const names = new Map<string, number>();
  /** "vm#port" → pointer of the end that uses it: a port belongs to one channel end. */
  const ports = new Map<string, string>();
  for (const channel of board.channels) {
    const at = `/channels/${channel.index}`;
    const first = names.get(channel.name);
    if (first !== undefined) report(`${at}/name`, `channel name "${channel.name}" is already used by /channels/${first}`);
    else names.set(channel.name, channel.index);
    if (channel.kind === 'sampling' && channel.depth !== 1) {
      report(`${at}/depth`, `must be 1 for a sampling channel (it holds the latest message only), not ${channel.depth}`);
    }
    const ends = [['source', channel.source], ['destination', channel.destination]] as const;
    const processors: (number | undefined)[] = [];
    for (const [role, end] of ends) {
      const vm = vmByName(board, end.vm);
      processors.push(vm?.processor);
      if (vm === undefined) {
        report(`${at}/${role}/vm`, `no VM named ${JSON.stringify(end.vm)}`);
        continue;
      }
      const key = `${end.vm}#${end.port}`;
      const other = ports.get(key);
      if (other !== undefined) report(`${at}/${role}/port`, `port ${end.port} of ${end.vm} is already used by ${other}`);
      else ports.set(key, `${at}/${role}`);
    }
    const [from, to] = processors;
    if (from === undefined || to === undefined || from === to) continue;
    const link = linkBetween(board, from, to);
    if (link === undefined) {
      report(at, `${channel.source.vm} on processor ${from} and ${channel.destination.vm} on processor ${to} have no link from ${from} to ${to}`);
    } else if (channel.maxMessageBytes + CHANNEL_FRAME_OVERHEAD_BYTES > link.mtuBytes) {
      report(`${at}/maxMessageBytes`, `must be at most ${link.mtuBytes - CHANNEL_FRAME_OVERHEAD_BYTES}: a message travels in one frame of /links/${link.index} (MTU ${link.mtuBytes}) with ${CHANNEL_FRAME_OVERHEAD_BYTES} bytes of headers, not ${channel.maxMessageBytes}`);
    }
  }
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
  }
}

/** Checks per processor look at the first of several with one id (the duplicate is reported once, by id). */
function isFirstWithId(board: Board, index: number): boolean {
  return board.processors.findIndex((processor) => processor.id === board.processors[index]!.id) === index;
}

function idList(board: Board): string {
  const ids = board.processors.map((processor) => processor.id);
  return ids.length === 1 ? `only ${ids[0]}` : ids.join(', ');
}
