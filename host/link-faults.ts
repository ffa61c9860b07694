/**
 * The link error model: a hook that decides, frame by frame, whether a link
 * drops, corrupts, duplicates or delays (reorders) it. Off by default. The
 * built-in model draws from a seeded PRNG, one independent stream per link
 * direction, so the same board + traffic + seed always fails the same way.
 */
import { ConfigError } from './errors.js';
import { Prng } from './prng.js';

/** A frame as it enters a link. */
export interface OutgoingFrame {
  from: number;
  to: number;
  bytes: Uint8Array;
  sentNs: bigint;
  /** The link's propagation delay (the model may use it to size a reordering delay). */
  latencyNs: bigint;
}

/** What happens to one frame on the wire. */
export interface FrameFate {
  /** Lost: never delivered. */
  drop?: boolean;
  /** Flip this bit (0 = bit 0 of byte 0) of the delivered copy. */
  corruptBit?: number;
  /** Deliver a second, identical copy right after the first. */
  duplicate?: boolean;
  /** Extra delay: frames sent after it may overtake it. */
  delayNs?: bigint;
}

/** Called for every frame sent; undefined delivers it untouched. */
export type LinkFaultModel = (frame: OutgoingFrame) => FrameFate | undefined;

/** Probabilities per frame, each from 0 to 1. */
export interface LinkFaultRates {
  drop?: number;
  corrupt?: number;
  duplicate?: number;
  reorder?: number;
}

export const LINK_FAULT_KINDS = ['drop', 'corrupt', 'duplicate', 'reorder'] as const;

/**
 * Independent faults at the given rates. Every frame draws the same number of
 * values whatever the rates are, so changing one rate leaves the pattern of
 * the others alone. A reordered frame is held back by one link latency.
 */
export function seededLinkFaults(seed: number, rates: LinkFaultRates): LinkFaultModel {
  checkRates(rates);
  const streams = new Map<number, Prng>();
  return (frame) => {
    const key = frame.from * 0x1_0000 + frame.to;
    let prng = streams.get(key);
    if (prng === undefined) {
      prng = new Prng(seed, key);
      streams.set(key, prng);
    }
    const drop = prng.nextFloat() < (rates.drop ?? 0);
    const corrupt = prng.nextFloat() < (rates.corrupt ?? 0);
    const bit = prng.nextBelow(Math.max(1, frame.bytes.length * 8));
    const duplicate = prng.nextFloat() < (rates.duplicate ?? 0);
    const reorder = prng.nextFloat() < (rates.reorder ?? 0);
    if (drop) return { drop: true };
    if (!corrupt && !duplicate && !reorder) return undefined;
    const fate: FrameFate = {};
    if (corrupt && frame.bytes.length > 0) fate.corruptBit = bit;
    if (duplicate) fate.duplicate = true;
    if (reorder) fate.delayNs = frame.latencyNs;
    return fate;
  };
}

/** "drop=0.01,corrupt=0.001": the --link-faults option. */
export function parseLinkFaults(spec: string): LinkFaultRates {
  const rates: LinkFaultRates = {};
  for (const part of spec.split(',').map((text) => text.trim()).filter((text) => text.length > 0)) {
    const match = /^([a-z]+)=([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)$/i.exec(part);
    const kind = match?.[1] as (typeof LINK_FAULT_KINDS)[number] | undefined;
    if (match === null || kind === undefined || !LINK_FAULT_KINDS.includes(kind)) {
      throw new ConfigError(`link faults: expected kind=probability with kind one of ${LINK_FAULT_KINDS.join(', ')}, not "${part}"`);
    }
    if (rates[kind] !== undefined) throw new ConfigError(`link faults: ${kind} is given twice ("${spec}"): give each kind once`);
    rates[kind] = Number(match[2]);
  }
  checkRates(rates);
  return rates;
}

function checkRates(rates: LinkFaultRates): void {
  for (const kind of LINK_FAULT_KINDS) {
    const rate = rates[kind];
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
      throw new ConfigError(`link faults: ${kind} must be a probability from 0 to 1, not ${rate}`);
    }
  }
}
