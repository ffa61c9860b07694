/**
 * A trial's fault plan: the random faults of a scenario's campaign section drawn from
 * the trial's seed into the same FaultEvent list a scenario's own fault events use
 * (host/faults.ts) — so a trial is the scenario's events plus these, run by runBoard.
 * Each kind of fault draws from its own PRNG stream, so turning one rate up leaves the
 * draws of the others alone.
 */
import type { Board } from '../board.js';
import { GUEST_RAM_BASE } from '../defaults.js';
import type { FaultEvent } from '../faults.js';
import { Prng } from '../prng.js';
import type { ProcessorRates } from '../reliability/campaign-records.js';
import type { CampaignSection, FailStopDistribution } from '../scenario-campaign.js';

const NS_PER_S = 1e9;

/** Stream numbers, far from the link model's (from << 16 | to), so the draws never coincide. */
const STREAM = { processors: 0x7000_0001, partitions: 0x7000_0002, slowdowns: 0x7000_0003, flips: 0x7000_0004, repairs: 0x7000_0005 } as const;

/** The first 32 bytes of a frame are its header (type, session, lengths): a flip there is the likeliest caught by the CRC. */
const FRAME_FLIP_BITS = 32 * 8;

/** Draws the faults of one trial. */
export function drawFaultPlan(section: CampaignSection, board: Board, seed: number): FaultEvent[] {
  const faults: FaultEvent[] = [];
  drawProcessorFaults(section, seed, faults);
  drawPartitions(section, board, seed, faults);
  drawSlowdowns(section, board, seed, faults);
  drawFlips(section, board, seed, faults);
  return faults.sort(byTime);
}

/** The rates a trial draws processor faults from, per virtual second (the record's `rates`). */
export function processorRates(section: CampaignSection, board: Board): ProcessorRates[] {
  return board.processors.map((processor) => {
    const eligible = section.processors.includes(processor.id);
    const failStop = section.failStop.get(processor.id);
    return {
      id: processor.id,
      failStopPerS: eligible && failStop !== undefined ? equivalentRatePerS(failStop) : 0,
      hangPerS: eligible ? section.hang?.perS ?? 0 : 0,
      warningPerS: eligible ? section.warning?.perS ?? 0 : 0,
      repairNs: eligible && failStop !== undefined && section.repair !== undefined ? Number(section.repair.timeNs) : null,
    };
  });
}

/** A Weibull's rate as the model sees it: one over its mean, scale × Γ(1 + 1/shape). */
function equivalentRatePerS(distribution: FailStopDistribution): number {
  if (distribution.distribution === 'exponential') return distribution.perS;
  return NS_PER_S / (Number(distribution.scaleNs) * gamma(1 + 1 / distribution.shape));
}

/** Γ(x) for x ≥ 1 by Lanczos (g = 7, nine terms): enough digits for a rate. */
function gamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return Math.sqrt(2 * Math.PI) * t ** (z + 0.5) * Math.exp(-t) * sum;
}

/** Exponential time to the next event, in ns (Infinity for a rate of 0). */
function exponentialNs(prng: Prng, perS: number): number {
  if (perS <= 0) return Infinity;
  return (-Math.log(1 - prng.nextFloat()) / perS) * NS_PER_S;
}

function timeToFailStopNs(prng: Prng, distribution: FailStopDistribution): number {
  if (distribution.distribution === 'exponential') return exponentialNs(prng, distribution.perS);
  return Number(distribution.scaleNs) * (-Math.log(1 - prng.nextFloat())) ** (1 / distribution.shape);
}

/** Virtual ns as a bigint, rounded down; undefined past the horizon (the fault never comes in this trial). */
function within(ns: number, horizonNs: bigint): bigint | undefined {
  if (!Number.isFinite(ns)) return undefined;
  const at = BigInt(Math.floor(ns));
  return at <= horizonNs ? at : undefined;
}

/** Every processor draws the same three values whatever its rates, so one rate does not shift another's draws. */
function drawProcessorFaults(section: CampaignSection, seed: number, out: FaultEvent[]): void {
  const prng = new Prng(seed, STREAM.processors);
  const repairs = new Prng(seed, STREAM.repairs);
  const faults: FaultEvent[] = [];
  /** Each repair, and the fail-stop it repairs. */
  const repaired = new Map<FaultEvent, FaultEvent>();
  for (const processor of [...section.processors].sort((a, b) => a - b)) {
    const failStop = section.failStop.get(processor);
    const failDraw = failStop === undefined ? Infinity : timeToFailStopNs(prng, failStop);
    const hangDraw = exponentialNs(prng, section.hang?.perS ?? 0);
    const warningDraw = exponentialNs(prng, section.warning?.perS ?? 0);
    let failNs = within(failDraw, section.horizonNs);
    // With repair a processor's life is a renewal process: fail, repair, as good as new, fail again.
    while (failNs !== undefined) {
      const fail: FaultEvent = { kind: 'fail', atNs: failNs, processor };
      faults.push(fail);
      if (section.repair === undefined) break;
      const repairNs = within(Number(failNs) + timeToRepairNs(repairs, section.repair), section.horizonNs);
      if (repairNs === undefined) break;
      repaired.set({ kind: 'repair', atNs: repairNs, processor }, fail);
      failNs = within(Number(repairNs) + timeToFailStopNs(repairs, failStop!), section.horizonNs);
    }
    const hangNs = within(hangDraw, section.horizonNs);
    if (hangNs !== undefined) faults.push({ kind: 'hang', atNs: hangNs, processor, ...(section.hang?.forNs === undefined ? {} : { forNs: section.hang.forNs }) });
    const warningNs = within(warningDraw, section.horizonNs);
    if (warningNs !== undefined) faults.push({ kind: 'warning', atNs: warningNs, processor, leadNs: section.warning!.leadNs });
  }
  // The fault hypothesis: the first N by time (the draws above stay the same whatever N is);
  // a repair goes with the fail-stop it repairs.
  faults.sort(byTime);
  const kept = faults.slice(0, section.maxProcessorFaults ?? faults.length);
  out.push(...kept, ...[...repaired].filter(([, fail]) => kept.includes(fail)).map(([repair]) => repair));
}

function byTime(a: FaultEvent, b: FaultEvent): number {
  return a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0;
}

function timeToRepairNs(prng: Prng, repair: NonNullable<CampaignSection['repair']>): number {
  const meanNs = Number(repair.timeNs);
  return repair.distribution === 'fixed' ? meanNs : -Math.log(1 - prng.nextFloat()) * meanNs;
}

/** Times of a Poisson process at `perS` over the horizon. */
function poissonTimes(prng: Prng, perS: number, horizonNs: bigint): bigint[] {
  const times: bigint[] = [];
  let ns = 0;
  for (;;) {
    ns += exponentialNs(prng, perS);
    const at = within(ns, horizonNs);
    if (at === undefined) return times;
    times.push(at);
  }
}

/** Each partition splits the board's processors in two non-empty groups at random. */
function drawPartitions(section: CampaignSection, board: Board, seed: number, faults: FaultEvent[]): void {
  const spec = section.partitions;
  if (spec === undefined) return;
  const prng = new Prng(seed, STREAM.partitions);
  const ids = board.processors.map((processor) => processor.id);
  for (const atNs of poissonTimes(prng, spec.perS, section.horizonNs)) {
    // A random non-trivial subset: a mask in [1, 2^n - 2].
    const mask = 1 + prng.nextBelow(2 ** ids.length - 2);
    const groups = [ids.filter((_, i) => (mask >> i) & 1), ids.filter((_, i) => !((mask >> i) & 1))];
    faults.push({ kind: 'partition', atNs, groups, forNs: spec.forNs });
  }
}

function drawSlowdowns(section: CampaignSection, board: Board, seed: number, faults: FaultEvent[]): void {
  const spec = section.slowdowns;
  if (spec === undefined) return;
  const prng = new Prng(seed, STREAM.slowdowns);
  for (const atNs of poissonTimes(prng, spec.perS, section.horizonNs)) {
    const link = board.links[prng.nextBelow(board.links.length)]!;
    faults.push({ kind: 'slow', atNs, between: [link.from, link.to], by: spec.by, forNs: spec.forNs });
  }
}

/** Bit flips: RAM (a byte anywhere in the VM's RAM), a register (x1-x31), a frame on a random link direction. */
function drawFlips(section: CampaignSection, board: Board, seed: number, faults: FaultEvent[]): void {
  const spec = section.flips;
  if (spec === undefined) return;
  const prng = new Prng(seed, STREAM.flips);
  const vms = spec.vms.map((name) => board.vms.find((vm) => vm.name === name)!);
  for (const atNs of poissonTimes(prng, spec.ramPerS, section.horizonNs)) {
    const vm = vms[prng.nextBelow(vms.length)]!;
    faults.push({ kind: 'flip-ram', atNs, vm: vm.name, address: GUEST_RAM_BASE + prng.nextBelow(vm.memoryBytes), bit: prng.nextBelow(8) });
  }
  for (const atNs of poissonTimes(prng, spec.registerPerS, section.horizonNs)) {
    const vm = vms[prng.nextBelow(vms.length)]!;
    faults.push({ kind: 'flip-register', atNs, vm: vm.name, register: 1 + prng.nextBelow(31), bit: prng.nextBelow(32) });
  }
  const directions = board.links.flatMap((link) => (link.bidirectional ? [[link.from, link.to], [link.to, link.from]] : [[link.from, link.to]]) as [number, number][]);
  for (const atNs of poissonTimes(prng, spec.framePerS, section.horizonNs)) {
    faults.push({ kind: 'flip-frame', atNs, between: directions[prng.nextBelow(directions.length)]!, bit: prng.nextBelow(FRAME_FLIP_BITS) });
  }
}
