/**
 * The board's message links as wires: each direction of a link carries one
 * frame at a time (frames queue behind each other for serialisation), then
 * the frame travels for the link's latency. A frame sent at t onto an idle
 * link arrives at t + bytes / bandwidth + latency. The lockstep loop
 * (lockstep.ts) collects arrived frames at quantum boundaries and hands them
 * to the destination core.
 *
 * A frame to a processor the sender has no link to, or larger than the
 * link's MTU, is a bug in the core (it was told both through linkConfigure):
 * LinkNetwork throws a LinkError.
 */
import type { BoardLink } from './board.js';
import { CoreError } from './errors.js';
import type { FrameFate, LinkFaultModel } from './link-faults.js';

const NS_PER_S = 1_000_000_000n;

/** The core broke the link contract (no such link, frame over the MTU). */
export class LinkError extends CoreError {
  override name = 'LinkError';
}

export type LinkFaultName = 'drop' | 'corrupt' | 'duplicate' | 'reorder';

export interface InFlightFrame {
  /** Order of sending over the whole board; ties in arrival time go by it. */
  serial: number;
  from: number;
  to: number;
  bytes: Uint8Array;
  /** When the core sent it. */
  sentNs: bigint;
  /** When it arrives at the destination (before quantisation to a boundary). */
  arrivalNs: bigint;
  /** Faults the error model applied to this copy. */
  faults: LinkFaultName[];
}

export interface SendOutcome {
  /** The copies that will arrive (none if dropped, two if duplicated). */
  frames: InFlightFrame[];
  /** The frame was lost on the wire. */
  dropped: boolean;
}

/** Counters of one direction of a link. */
export interface LinkDirectionStats {
  from: number;
  to: number;
  /** Index of the board link that carries this direction. */
  link: number;
  framesSent: number;
  bytesSent: number;
  framesDelivered: number;
  framesDropped: number;
  framesCorrupted: number;
  framesDuplicated: number;
  framesReordered: number;
  /** Time the wire spent transmitting (serialisation), for utilisation. */
  busyNs: bigint;
}

interface Direction {
  link: BoardLink;
  latencyNs: bigint;
  /** The wire is busy transmitting until this time. */
  busyUntilNs: bigint;
  stats: LinkDirectionStats;
  /** Injected faults (host/faults.ts): cut until, its bandwidth divided by `slowBy` until, the next frame's bit to flip. */
  cutUntilNs: bigint;
  slowBy: number;
  slowUntilNs: bigint;
  flipNextBit?: number;
}

export class LinkNetwork {
  private readonly directions = new Map<string, Direction>();
  /** Frames on the way, sorted by (arrivalNs, serial). */
  private readonly inFlight: InFlightFrame[] = [];
  private serial = 0;

  constructor(links: readonly BoardLink[], private readonly faults?: LinkFaultModel) {
    for (const link of links) {
      this.addDirection(link, link.from, link.to);
      if (link.bidirectional) this.addDirection(link, link.to, link.from);
    }
  }

  private addDirection(link: BoardLink, from: number, to: number): void {
    this.directions.set(key(from, to), {
      link,
      latencyNs: BigInt(link.latencyNs),
      busyUntilNs: 0n,
      cutUntilNs: 0n,
      slowBy: 1,
      slowUntilNs: 0n,
      stats: {
        from, to, link: link.index,
        framesSent: 0, bytesSent: 0, framesDelivered: 0, framesDropped: 0,
        framesCorrupted: 0, framesDuplicated: 0, framesReordered: 0, busyNs: 0n,
      },
    });
  }

  /** The smallest latency on the board (the longest safe lockstep quantum); undefined without links. */
  minLatencyNs(): bigint | undefined {
    let min: bigint | undefined;
    for (const direction of this.directions.values()) {
      if (min === undefined || direction.latencyNs < min) min = direction.latencyNs;
    }
    return min;
  }

  /** Processors `from` can send to, ascending, with each link's MTU. */
  peersOf(from: number): { peer: number; mtuBytes: number }[] {
    return [...this.directions.values()]
      .filter((direction) => direction.stats.from === from)
      .map((direction) => ({ peer: direction.stats.to, mtuBytes: direction.link.mtuBytes }))
      .sort((a, b) => a.peer - b.peer);
  }

  /** Time to put `bytes` on the wire of this direction (rounded up to whole ns). */
  serialisationNs(from: number, to: number, bytes: number): bigint {
    return serialisation(this.direction(from, to), bytes);
  }

  /** Puts a frame on the wire at `sentNs`; returns when (and whether) it will arrive. */
  send(from: number, to: number, bytes: Uint8Array, sentNs: bigint): SendOutcome {
    const direction = this.direction(from, to);
    const { link, stats } = direction;
    if (bytes.length > link.mtuBytes) {
      throw new LinkError(`processor ${from} sent a ${bytes.length}-byte frame to ${to}, over the ${link.mtuBytes}-byte MTU of link ${link.index}`);
    }
    if (sentNs < direction.cutUntilNs) { // a partition: the wire carries nothing
      stats.framesSent++;
      stats.framesDropped++;
      return { frames: [], dropped: true };
    }
    const startNs = sentNs > direction.busyUntilNs ? sentNs : direction.busyUntilNs;
    // A slowdown slows what goes on the wire while it lasts: a frame queued behind others
    // that starts after it ended goes at the link's own rate.
    const wireNs = serialisation(direction, bytes.length) * BigInt(startNs < direction.slowUntilNs ? direction.slowBy : 1);
    direction.busyUntilNs = startNs + wireNs;
    stats.framesSent++;
    stats.bytesSent += bytes.length;
    stats.busyNs += wireNs;
    const arrivalNs = direction.busyUntilNs + direction.latencyNs;

    const fate: FrameFate | undefined = this.faults?.({ from, to, bytes, sentNs, latencyNs: direction.latencyNs });
    if (fate?.drop === true) {
      stats.framesDropped++;
      return { frames: [], dropped: true };
    }
    const faults: LinkFaultName[] = [];
    let delivered = bytes;
    const corruptBit = direction.flipNextBit ?? fate?.corruptBit;
    direction.flipNextBit = undefined;
    if (corruptBit !== undefined && bytes.length > 0) {
      const bit = corruptBit % (bytes.length * 8);
      delivered = bytes.slice();
      delivered[bit >>> 3]! ^= 1 << (bit & 7);
      faults.push('corrupt');
      stats.framesCorrupted++;
    }
    let extraNs = 0n;
    if (fate?.delayNs !== undefined && fate.delayNs > 0n) {
      extraNs = fate.delayNs;
      faults.push('reorder');
      stats.framesReordered++;
    }
    const frames = [this.enqueue(from, to, delivered, sentNs, arrivalNs + extraNs, faults)];
    if (fate?.duplicate === true) {
      // The copy follows the original on the wire.
      direction.busyUntilNs += wireNs;
      stats.busyNs += wireNs;
      stats.framesDuplicated++;
      frames.push(this.enqueue(from, to, delivered, sentNs, arrivalNs + extraNs + wireNs, [...faults, 'duplicate']));
    }
    return { frames, dropped: false };
  }

  /** Cuts both directions between `a` and `b` until `untilNs` (a partition): frames sent meanwhile are lost. */
  cut(a: number, b: number, untilNs: bigint): void {
    for (const direction of [this.directions.get(key(a, b)), this.directions.get(key(b, a))]) {
      if (direction !== undefined && untilNs > direction.cutUntilNs) direction.cutUntilNs = untilNs;
    }
  }

  /** Divides the bandwidth of both directions between `a` and `b` by `factor` until `untilNs`. */
  slow(a: number, b: number, factor: number, untilNs: bigint): void {
    for (const direction of [this.directions.get(key(a, b)), this.directions.get(key(b, a))]) {
      if (direction === undefined) continue;
      direction.slowBy = factor;
      direction.slowUntilNs = untilNs;
    }
  }

  /** Flips bit `bit` (modulo the frame's size) of the next frame from `from` to `to`. */
  flipNext(from: number, to: number, bit: number): void {
    const direction = this.directions.get(key(from, to));
    if (direction !== undefined) direction.flipNextBit = bit;
  }

  /** Is there a link from `from` to `to`? */
  has(from: number, to: number): boolean {
    return this.directions.has(key(from, to));
  }

  /** Removes and returns the frames that have arrived by `untilNs`, in arrival order. */
  takeArrived(untilNs: bigint): InFlightFrame[] {
    let count = 0;
    while (count < this.inFlight.length && this.inFlight[count]!.arrivalNs <= untilNs) count++;
    const arrived = this.inFlight.splice(0, count);
    for (const frame of arrived) this.direction(frame.from, frame.to).stats.framesDelivered++;
    return arrived;
  }

  /** Frames still on the way. */
  framesInFlight(): number {
    return this.inFlight.length;
  }

  /** When the next frame arrives; undefined if none is on the way. */
  nextArrivalNs(): bigint | undefined {
    return this.inFlight[0]?.arrivalNs;
  }

  /** Counters per link direction, in the order of the board's links. */
  stats(): LinkDirectionStats[] {
    return [...this.directions.values()].map((direction) => ({ ...direction.stats }));
  }

  private direction(from: number, to: number): Direction {
    const direction = this.directions.get(key(from, to));
    if (direction === undefined) throw new LinkError(`processor ${from} sent a frame to processor ${to}, but no link goes from ${from} to ${to}`);
    return direction;
  }

  private enqueue(from: number, to: number, bytes: Uint8Array, sentNs: bigint, arrivalNs: bigint, faults: LinkFaultName[]): InFlightFrame {
    const frame: InFlightFrame = { serial: this.serial++, from, to, bytes, sentNs, arrivalNs, faults };
    // Binary search for the first frame that arrives later (equal arrivals keep sending order).
    let low = 0;
    let high = this.inFlight.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.inFlight[mid]!.arrivalNs <= arrivalNs) low = mid + 1;
      else high = mid;
    }
    this.inFlight.splice(low, 0, frame);
    return frame;
  }
}

function key(from: number, to: number): string {
  return `${from}>${to}`;
}

function serialisation(direction: Direction, bytes: number): bigint {
  const bandwidth = BigInt(direction.link.bandwidthBytesPerS);
  return (BigInt(bytes) * NS_PER_S + bandwidth - 1n) / bandwidth;
}
