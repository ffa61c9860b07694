/**
 * The guarantees' property test, as a library (the suite runs 200 seeds, `npm run
 * property` as many as asked): from a seed, a small random board — 2 to 4 processors
 * with different clocks, default or configured schedules of different lengths, links of
 * different speeds, napping probe guests (guests/probe) among them a channel's two ends,
 * link faults up to 5 % of each kind — and a random run of migrations back and forth
 * (every strategy, cancels in any state, a burst of more than 16 arrivals on some seeds).
 * Then what must hold, whatever happened: every probe found its memory, its clock and
 * its channel as promised; a queuing channel delivered everything sent (but what is on
 * its way) exactly once and in order, and its link is not dead; no VM ran on two
 * processors; no downtime exceeded its bound; every measured downtime agrees with the
 * gap the guest saw.
 */
import { runBoard } from '../../host/board-runner.js';
import type { BoardRunResult } from '../../host/board-runner.js';
import type { Board } from '../../host/board.js';
import type { LinkFaultRates } from '../../host/link-faults.js';
import type { CancelState, MigrationParams, MigrationReport, MigrationStrategy, ScenarioEvent } from '../../host/migration.js';
import { COMPRESSING_STRATEGIES, ROUND_STRATEGIES } from '../../host/migration.js';
import { Prng } from '../../host/prng.js';
import { guaranteeBoard, probeGaps, probesHealthy } from './guarantee-board.js';
import type { VmSpec } from './guarantee-board.js';

const MS = 1_000_000n;
const CLOCKS = [50_000_000, 75_000_000, 100_000_000, 150_000_000];
const FRAMES_NS = [undefined, 10_000_000, 20_000_000, 30_000_000];
const STRATEGIES: MigrationStrategy[] = ['stop-copy', 'pre-copy', 'throttled', 'post-copy', 'warm'];
const CANCEL_STATES: CancelState[] = ['preparing', 'transfer', 'blackout'];
/** The napping probe's step and nap (guests/build.sh NAP): how far its reads of the clock lie apart at most. */
const NAP_STEP_NS = 260_000n;
/** Each VM's window in every configured schedule: unique offsets, so any VM fits any processor's frame. */
const WINDOW_STRIDE_NS = 2_000_000;
const WINDOW_NS = 1_500_000;

export interface PropertyCase {
  seed: number;
  board: Board;
  events: ScenarioEvent[];
  linkFaults: LinkFaultRates;
  durationNs: bigint;
  /** The longest any VM may be kept from running by its schedule alone (what a guest's gap may add to a downtime). */
  scheduleGapNs: bigint;
}

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.nextBelow(items.length)]!;
}

export function propertyCase(seed: number): PropertyCase {
  const prng = new Prng(seed, 0x9e09);
  const processors = 2 + prng.nextBelow(3);
  // Mostly every processor with its own schedule (so any VM may go anywhere), sometimes a mix.
  const mixed = prng.nextBelow(3) === 0;
  const specs = Array.from({ length: processors }, () => ({
    clockHz: pick(prng, CLOCKS), majorFrameNs: mixed ? pick(prng, FRAMES_NS) : pick(prng, FRAMES_NS.slice(1)),
  }));
  const sampling = prng.nextBelow(4) === 0;
  const place = (): number => prng.nextBelow(processors);
  const vmNames = ['m', 'tx', 'rx', 'n'];
  const images = ['probe-nap.elf', 'probe-nap-tx.elf', sampling ? 'probe-nap-rx-sampling.elf' : 'probe-nap-rx.elf', 'probe-nap.elf'];
  const vms: VmSpec[] = vmNames.map((name, k) => ({
    name, image: images[k]!, processor: place(), memoryBytes: 128 * 1024,
    windows: [{ offsetNs: k * WINDOW_STRIDE_NS, durationNs: WINDOW_NS }],
  }));
  // A window is only for a VM on a processor with a configured schedule (it carries it along when it moves).
  const board = guaranteeBoard({
    processors: specs.map((spec) => ({ clockHz: spec.clockHz, ...(spec.majorFrameNs === undefined ? {} : { majorFrameNs: spec.majorFrameNs }) })),
    vms: vms.map((vm) => (specs[vm.processor]!.majorFrameNs === undefined ? { ...vm, windows: undefined } : vm)),
    channels: [{ name: 'c', kind: sampling ? 'sampling' : 'queuing', from: 'tx', to: 'rx', depth: 1 + prng.nextBelow(6) }],
    bandwidthBytesPerS: pick(prng, [25_000_000, 50_000_000, 100_000_000]),
    latencyNs: pick(prng, [50_000, 100_000, 200_000]),
  });
  const rate = (): number => (prng.nextBelow(3) === 0 ? 0 : prng.nextFloat() * 0.05);
  const linkFaults = { drop: rate(), corrupt: rate(), duplicate: rate(), reorder: rate() };
  const events: ScenarioEvent[] = [];
  let atNs = 30n * MS;
  const burst = seed % 10 === 9; // more than 16 arrivals on one processor
  const moves = burst ? 40 : 4 + prng.nextBelow(5);
  for (let i = 0; i < moves; i++) {
    const vm = burst ? 'm' : pick(prng, vmNames);
    const to = burst ? (i + 1) % 2 : prng.nextBelow(processors);
    const strategy = burst ? 'stop-copy' : pick(prng, STRATEGIES);
    // The techniques that are options: compression where the strategy sends pages, working-set order where it has rounds.
    const techniques = burst ? 0 : prng.nextBelow(4);
    const params: MigrationParams = {
      affordableNs: 80n * MS, thresholdBytes: 16_384,
      ...((techniques & 1) !== 0 && COMPRESSING_STRATEGIES.includes(strategy) ? { compress: true } : {}),
      ...((techniques & 2) !== 0 && ROUND_STRATEGIES.includes(strategy) ? { workingSet: true } : {}),
    };
    events.push({ kind: 'migrate', atNs, vm, to, strategy, params });
    if (!burst && prng.nextBelow(5) === 0) events.push({ kind: 'cancel', vm, inState: pick(prng, CANCEL_STATES) });
    atNs += burst ? 40n * MS : BigInt(40 + prng.nextBelow(40)) * MS;
  }
  const longestFrame = specs.reduce((longest, spec) => Math.max(longest, spec.majorFrameNs ?? 10_000_000), 0);
  return { seed, board, events, linkFaults, durationNs: atNs + 120n * MS, scheduleGapNs: BigInt(longestFrame) };
}

/** What broke in a run of the case (empty: every guarantee held). */
export function brokenGuarantees(run: PropertyCase, result: BoardRunResult): string[] {
  const problems = probesHealthy(result).map((problem) => `probe: ${problem}`);
  const channel = result.channels[0]!;
  if (channel.kind === 'queuing') {
    if (channel.delivered > channel.sent) problems.push(`channel delivered ${channel.delivered} of ${channel.sent}`);
    if (channel.sent - channel.delivered > 8n) problems.push(`channel: ${channel.sent - channel.delivered} of ${channel.sent} messages not delivered`);
  }
  if (channel.linkDead) problems.push('channel: link reported dead at the end');
  for (const report of result.migrations) problems.push(...migrationProblems(run, result, report));
  return problems;
}

function migrationProblems(run: PropertyCase, result: BoardRunResult, report: MigrationReport): string[] {
  const problems = report.violations.map((violation) => `${report.message}: ${violation}`);
  if (report.outcome !== 'completed') return problems;
  if (report.downtimeNs === undefined) return [...problems, `${report.message}: no measured downtime`];
  if (report.downtimeNs > report.boundNs) problems.push(`${report.message}: downtime above the bound`);
  // The guest's view: the gap in its reads across the stop is the downtime plus the time
  // before the stop it did not run anyway (asleep, or outside its windows), to one nap and
  // step of the probe — and a step may straddle the end of its window, so the schedule may
  // add a gap to that; post-copy adds its page waits after the downtime, and the wait for
  // a window they may make it miss.
  const vm = result.vms.find((candidate) => candidate.name === report.vm)!;
  const gap = probeGaps(vm.console).find((candidate) => candidate.atNs <= report.stopNs! && candidate.atNs + candidate.lengthNs > report.stopNs!);
  const expectedNs = report.downtimeNs + (report.stopNs! - report.lastRunNs!);
  if (gap === undefined) {
    // The napping probe reports gaps over 400 us only.
    return expectedNs + NAP_STEP_NS < 400_000n ? problems : [...problems, `${report.message}: the guest saw no gap across the stop at ${report.stopNs} ns`];
  }
  const pageWaits = (report.pageWaitNs ?? 0n) > 0n ? report.pageWaitNs! + run.scheduleGapNs : 0n;
  const seen = `the guest saw a gap of ${gap.lengthNs} ns; downtime ${report.downtimeNs} ns after ${report.stopNs! - report.lastRunNs!} ns it did not run anyway`;
  if (gap.lengthNs + NAP_STEP_NS < expectedNs) problems.push(`${report.message}: ${seen}: the guest saw less`);
  if (gap.lengthNs > expectedNs + NAP_STEP_NS + run.scheduleGapNs + pageWaits) problems.push(`${report.message}: ${seen}: the guest saw more`);
  return problems;
}

export interface PropertyOutcome {
  case: PropertyCase;
  result: BoardRunResult;
  problems: string[];
}

export async function runPropertyCase(seed: number): Promise<PropertyOutcome> {
  const run = propertyCase(seed);
  const result = await runBoard({ board: run.board, events: run.events, durationNs: run.durationNs, seed, linkFaults: run.linkFaults });
  return { case: run, result, problems: brokenGuarantees(run, result) };
}
