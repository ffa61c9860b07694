/**
 * The host side of the load policies (docs/load-policies.md): hotspot relief and
 * consolidation. The cores decide both from their own measurements; the host only
 * configures them from the board file's `load` section (and each VM's
 * `affordableDowntime`), and reports what the cores told it — each move (loadMove, and
 * its migration's events by id: admission, bound, measured downtime), each processor
 * going to sleep and waking, and at the end every core's load counters (loadStat): the
 * processors freed and the energy proxy, processor-seconds awake, against the static
 * placement (every processor that held a VM at the start awake for the whole run).
 */
import type { CoreRuntime } from './core-runtime.js';
import { formatNs } from './migration-report.js';
import { MIGRATION_STRATEGIES, StrategyCode } from './migration.js';
import type { MigrationReport, MigrationStrategy } from './migration.js';
import {
  CoreEvent, FRAME_HEADER_BYTES, LOAD_CAUSE_LABELS, LOAD_PARAM_DEFAULTS, LOAD_REPORT_BYTES, LoadParam, LoadStat, MIGRATION_REASON_LABELS,
} from './numbers.js';
import { NS_PER_S, parseDurationS } from './reliability/units.js';

/** The board file's `load` section, normalised (docs/boards.md, "load"). */
export interface BoardLoadPolicies {
  periodNs: number;
  holdNs: number;
  strategy: MigrationStrategy;
  /** Per mille: the most a processor that takes a VM may be loaded after it. */
  fillPermille: number;
  hotspot?: {
    /** Per mille; undefined: not a trigger. */
    utilisationPermille?: number;
    overrunPermille?: number;
    deadlineMisses?: number;
    sustainedNs: number;
  };
  consolidation?: {
    belowPermille: number;
    sustainedNs: number;
    sleep: boolean;
  };
}

/** The section as the schema admits it. */
export interface RawLoadPolicies {
  period?: string;
  hold?: string;
  strategy?: MigrationStrategy;
  fill?: number;
  hotspot?: { utilisation?: number; overruns?: number; deadlineMisses?: number; sustained?: string };
  consolidation?: { below: number; sustained?: string; sleep?: boolean };
}

const ns = (duration: string | undefined, fallback: number): number =>
  duration === undefined ? fallback : Math.round(parseDurationS(duration)! * NS_PER_S);
const permille = (fraction: number): number => Math.round(fraction * 1000);

export function normaliseLoadPolicies(raw: RawLoadPolicies): BoardLoadPolicies {
  const load: BoardLoadPolicies = {
    periodNs: ns(raw.period, LOAD_PARAM_DEFAULTS.periodNs),
    holdNs: ns(raw.hold, LOAD_PARAM_DEFAULTS.holdNs),
    strategy: raw.strategy ?? MIGRATION_STRATEGIES[LOAD_PARAM_DEFAULTS.strategy]!,
    fillPermille: raw.fill === undefined ? LOAD_PARAM_DEFAULTS.fillPermille : permille(raw.fill),
  };
  if (raw.hotspot !== undefined) {
    const hot = raw.hotspot;
    load.hotspot = { sustainedNs: ns(hot.sustained, LOAD_PARAM_DEFAULTS.hotSustainedNs) };
    if (hot.utilisation !== undefined) load.hotspot.utilisationPermille = permille(hot.utilisation);
    if (hot.overruns !== undefined) load.hotspot.overrunPermille = permille(hot.overruns);
    if (hot.deadlineMisses !== undefined) load.hotspot.deadlineMisses = hot.deadlineMisses;
  }
  if (raw.consolidation !== undefined) {
    load.consolidation = {
      belowPermille: permille(raw.consolidation.below),
      sustainedNs: ns(raw.consolidation.sustained, LOAD_PARAM_DEFAULTS.consolidateSustainedNs),
      sleep: raw.consolidation.sleep ?? true,
    };
  }
  return load;
}

/** The most of a link's time the load reports may take: one frame per period and direction. */
export const REPORT_LINK_SHARE = 0.01;

/**
 * What a schema cannot say about the section; each problem at its JSON pointer.
 * `slowestLinkBytesPerS`: the board's slowest link (undefined: no links).
 */
/** The longest period the cores take (load-monitor.ts). */
const MAX_PERIOD_NS = 1e12;

/** A load report each period may take at most REPORT_LINK_SHARE of the slowest link. */
function checkReportShare(periodNs: number, slowestLinkBytesPerS: number, report: (pointer: string, message: string) => void): void {
  const frameNs = ((FRAME_HEADER_BYTES + LOAD_REPORT_BYTES) * 1e9) / slowestLinkBytesPerS;
  const shortest = Math.ceil(frameNs / REPORT_LINK_SHARE);
  if (periodNs < shortest) {
    report('/load/period', `must be at least ${setting(shortest)}: a load report (${FRAME_HEADER_BYTES + LOAD_REPORT_BYTES} bytes) each period takes at most ${REPORT_LINK_SHARE * 100} % of the slowest link (${slowestLinkBytesPerS} bytes/s)`);
  }
}

export function checkLoadPolicies(
  load: BoardLoadPolicies, slowestLinkBytesPerS: number | undefined, longestFrameNs: number | undefined, report: (pointer: string, message: string) => void,
): void {
  if (slowestLinkBytesPerS === undefined) report('/load', 'the load policies move VMs between processors: the board needs links');
  if (!(load.periodNs >= 1000)) report('/load/period', 'must be at least 1 us');
  else if (!(load.periodNs <= MAX_PERIOD_NS)) report('/load/period', `must be at most ${setting(MAX_PERIOD_NS)}`);
  else {
    // A period shorter than a major frame sees a busy window and then an idle gap: its
    // utilisation says nothing of the processor's load (and a window may span periods).
    if (longestFrameNs !== undefined && load.periodNs < longestFrameNs) report('/load/period', `must be at least the longest major frame (${setting(longestFrameNs)}): a period measures whole frames`);
    if (slowestLinkBytesPerS !== undefined) checkReportShare(load.periodNs, slowestLinkBytesPerS, report);
  }
  if (load.strategy === 'cold') report('/load/strategy', 'a cold move restarts the VM from its image: a load policy does not throw a VM\'s state away');
  const hot = load.hotspot;
  if (hot !== undefined) {
    if (hot.utilisationPermille === undefined && hot.overrunPermille === undefined && hot.deadlineMisses === undefined) {
      report('/load/hotspot', 'needs a trigger: one or more of utilisation, overruns, deadlineMisses');
    }
    if (!(hot.sustainedNs >= load.periodNs)) report('/load/hotspot/sustained', `must be at least the period (${setting(load.periodNs)})`);
    if (hot.utilisationPermille !== undefined && load.fillPermille >= hot.utilisationPermille) {
      report('/load/fill', `must be below /load/hotspot/utilisation (${hot.utilisationPermille / 1000}): a processor filled to it would be hot at once`);
    }
  }
  const consolidation = load.consolidation;
  if (consolidation !== undefined) {
    if (!(consolidation.sustainedNs >= load.periodNs)) report('/load/consolidation/sustained', `must be at least the period (${setting(load.periodNs)})`);
    if (hot?.utilisationPermille !== undefined && consolidation.belowPermille >= hot.utilisationPermille) {
      report('/load/consolidation/below', `must be below /load/hotspot/utilisation (${hot.utilisationPermille / 1000}): the two policies would undo each other`);
    }
  }
  if (hot === undefined && consolidation === undefined) report('/load', 'needs a policy: hotspot, consolidation or both');
  const longest = Math.max(hot?.sustainedNs ?? 0, consolidation?.sustainedNs ?? 0);
  if (load.holdNs < longest) {
    report('/load/hold', `must be at least the longest sustained time (${setting(longest)}): a VM is not moved again before a policy has measured its move`);
  }
}

/** The core's load parameters for the section (LoadParam keys and values). */
export function loadParamSettings(load: BoardLoadPolicies): [number, bigint][] {
  const settings: [number, bigint][] = [
    [LoadParam.periodNs, BigInt(load.periodNs)],
    [LoadParam.holdNs, BigInt(load.holdNs)],
    [LoadParam.strategy, BigInt(StrategyCode[load.strategy])],
    [LoadParam.fillPermille, BigInt(load.fillPermille)],
  ];
  const hot = load.hotspot;
  if (hot !== undefined) {
    settings.push([LoadParam.hotSustainedNs, BigInt(hot.sustainedNs)]);
    if (hot.utilisationPermille !== undefined) settings.push([LoadParam.hotUtilisationPermille, BigInt(hot.utilisationPermille)]);
    if (hot.overrunPermille !== undefined) settings.push([LoadParam.hotOverrunPermille, BigInt(hot.overrunPermille)]);
    if (hot.deadlineMisses !== undefined) settings.push([LoadParam.hotMisses, BigInt(hot.deadlineMisses)]);
  }
  const consolidation = load.consolidation;
  if (consolidation !== undefined) {
    settings.push([LoadParam.consolidateSustainedNs, BigInt(consolidation.sustainedNs)]);
    settings.push([LoadParam.consolidateBelowPermille, BigInt(consolidation.belowPermille)]);
    settings.push([LoadParam.sleep, consolidation.sleep ? 1n : 0n]);
  }
  return settings;
}

// ---------------------------------------------------------------- what the cores report

/** One move a load policy started (or tried to), with what became of its migration. */
export interface LoadMove {
  /** The policy's reason (LoadCause label): hot-utilisation, hot-overruns, hot-deadline-misses, consolidation. */
  cause: string;
  vm: string;
  from: number;
  to: number;
  atNs: bigint;
  /** The migration's id (0: it could not start at all). */
  migration: number;
  outcome: 'completed' | 'refused' | 'failed' | 'cancelled' | 'unfinished';
  /** Why it did not complete (MigrationReason label). */
  reason?: string;
  /** The downtime bound the core computed last (admission, or the blackout it entered). */
  boundNs?: bigint;
  /** Measured on the destination: first instruction there − the stop. */
  downtimeNs?: bigint;
  /** Board time of the VM's first instruction on the destination (its arrival). */
  arrivedNs?: bigint;
  /** The migration's full report, as the host builds it for a scenario's (host/migration.ts), when it ran. */
  report?: MigrationReport;
}

export interface LoadProcessor {
  id: number;
  /** Held a VM when the board started. */
  placedVms: boolean;
  asleep: boolean;
  awakeNs: bigint;
  sleeps: number;
  utilisationPermille: number;
  peakUtilisationPermille: number;
  hotNs: bigint;
  reliefMoves: number;
  consolidationMoves: number;
  refusedMoves: number;
  /** When it slept and woke, in order. */
  transitions: { atNs: bigint; asleep: boolean }[];
}

export interface LoadResult {
  policies: BoardLoadPolicies;
  moves: LoadMove[];
  processors: LoadProcessor[];
  /** Processors that held a VM at the start and sleep at the end. */
  freed: number[];
  /** The energy proxy: processor-time awake, and the same for the static placement. */
  awakeNs: bigint;
  staticAwakeNs: bigint;
  /**
   * What the host saw break the policies' promises (empty unless the core is wrong): a
   * moved VM moved again within the hold time of its arrival, a downtime over its bound.
   */
  violations: string[];
}

interface MigrationFacts {
  outcome?: LoadMove['outcome'];
  reason?: string;
  boundNs?: bigint;
  downtimeNs?: bigint;
  arrivedNs?: bigint;
}

/** Records the cores' load events (and the migration events of the moves) as they happen. */
export class LoadLog {
  private readonly moves: LoadMove[] = [];
  private readonly facts = new Map<number, MigrationFacts>();
  private readonly transitions = new Map<number, { atNs: bigint; asleep: boolean }[]>();

  constructor(private readonly policies: BoardLoadPolicies) {}

  onEvent(processor: number, kind: number, id: number, vmName: string, atNs: bigint, a: bigint, b: bigint): void {
    const facts = (): MigrationFacts => {
      let entry = this.facts.get(id);
      if (entry === undefined) { entry = {}; this.facts.set(id, entry); }
      return entry;
    };
    switch (kind) {
      case CoreEvent.loadMove:
        this.moves.push({ cause: LOAD_CAUSE_LABELS[Number(a)] ?? `cause ${a}`, vm: vmName, from: processor, to: Number(b), atNs, migration: id, outcome: 'unfinished' });
        return;
      case CoreEvent.processorAsleep: case CoreEvent.processorAwake: {
        const list = this.transitions.get(processor) ?? [];
        list.push({ atNs, asleep: kind === CoreEvent.processorAsleep });
        this.transitions.set(processor, list);
        return;
      }
      case CoreEvent.migrationRefused: case CoreEvent.migrationFailed: {
        const entry = facts();
        entry.outcome = kind === CoreEvent.migrationRefused ? 'refused' : 'failed';
        entry.reason = MIGRATION_REASON_LABELS[Number(a)] ?? `reason ${a}`;
        if (b !== 0n) entry.boundNs = b;
        return;
      }
      case CoreEvent.migrationCancelled: facts().outcome = 'cancelled'; return;
      case CoreEvent.migrationBlackout: facts().boundNs = b; return;
      case CoreEvent.migrationCommitted: facts().outcome = 'completed'; return;
      case CoreEvent.migrationFirstRun: facts().downtimeNs = a; facts().arrivedNs = atNs; return;
    }
  }

  /** The result at the end of the run, from the log and every core's load counters. */
  result(cores: readonly { id: number; core: CoreRuntime; placedVms: boolean }[], endNs: bigint, reportOf?: (id: number) => MigrationReport | undefined): LoadResult {
    const moves = this.moves.map((move): LoadMove => {
      const facts = move.migration === 0 ? { outcome: 'refused' as const } : this.facts.get(move.migration) ?? {};
      const report = move.migration === 0 ? undefined : reportOf?.(move.migration);
      return { ...move, ...facts, outcome: facts.outcome ?? move.outcome, ...(report === undefined ? {} : { report }) };
    });
    const processors = cores.map(({ id, core, placedVms }): LoadProcessor => ({
      id,
      placedVms,
      asleep: core.loadStat(LoadStat.asleep) !== 0n,
      awakeNs: core.loadStat(LoadStat.awakeNs),
      sleeps: Number(core.loadStat(LoadStat.sleeps)),
      utilisationPermille: Number(core.loadStat(LoadStat.utilisationPermille)),
      peakUtilisationPermille: Number(core.loadStat(LoadStat.peakUtilisationPermille)),
      hotNs: core.loadStat(LoadStat.hotNs),
      reliefMoves: Number(core.loadStat(LoadStat.reliefMoves)),
      consolidationMoves: Number(core.loadStat(LoadStat.consolidationMoves)),
      refusedMoves: Number(core.loadStat(LoadStat.refusedMoves)),
      transitions: this.transitions.get(id) ?? [],
    }));
    return {
      policies: this.policies,
      violations: violationsOf(moves, this.policies.holdNs),
      moves,
      processors,
      freed: processors.filter((p) => p.placedVms && p.asleep).map((p) => p.id),
      awakeNs: processors.reduce((sum, p) => sum + p.awakeNs, 0n),
      staticAwakeNs: BigInt(processors.filter((p) => p.placedVms).length) * endNs,
    };
  }
}

/** The host's own check of the promises, from the moves as the cores reported them. */
function violationsOf(moves: readonly LoadMove[], holdNs: number): string[] {
  const violations: string[] = [];
  const arrived = new Map<string, bigint>();
  for (const move of moves) {
    const since = arrived.get(move.vm);
    if (since !== undefined && move.atNs < since + BigInt(holdNs)) {
      violations.push(`${move.vm} was moved again at ${formatNs(move.atNs)}, ${formatNs(move.atNs - since)} after it arrived: within the hold time (${setting(holdNs)})`);
    }
    if (move.report === undefined && move.downtimeNs !== undefined && move.boundNs !== undefined && move.downtimeNs > move.boundNs) {
      violations.push(`${move.vm}'s move at ${formatNs(move.atNs)}: the measured downtime ${formatNs(move.downtimeNs)} exceeds the bound ${formatNs(move.boundNs)}`);
    }
    // The checks the host makes of every migration: never on two processors, on the destination within its bound.
    for (const violation of move.report?.violations ?? []) violations.push(`${move.vm}'s move at ${formatNs(move.atNs)}: ${violation}`);
    if (move.outcome === 'completed' && move.arrivedNs !== undefined) arrived.set(move.vm, move.arrivedNs);
  }
  return violations;
}

// ---------------------------------------------------------------- for people

const percent = (perMille: number): string => `${perMille / 10} %`;

/** A configured time: "10 ms", "1 s". */
function setting(nsValue: number): string {
  for (const [unit, size] of [['s', 1e9], ['ms', 1e6], ['us', 1e3]] as const) {
    if (nsValue >= size) return `${Number((nsValue / size).toFixed(3))} ${unit}`;
  }
  return `${nsValue} ns`;
}

/** What the policies did, for the run's summary: each move with its bound and measured downtime, the processors freed, the energy proxy. */
export function formatLoadLines(load: LoadResult): string[] {
  const { policies } = load;
  const parts: string[] = [];
  const hot = policies.hotspot;
  if (hot !== undefined) {
    const triggers = [
      ...(hot.utilisationPermille === undefined ? [] : [`utilisation >= ${percent(hot.utilisationPermille)}`]),
      ...(hot.overrunPermille === undefined ? [] : [`overruns >= ${percent(hot.overrunPermille)} of windows`]),
      ...(hot.deadlineMisses === undefined ? [] : [`>= ${hot.deadlineMisses} deadline misses a period`]),
    ];
    parts.push(`hotspot relief (${triggers.join(' or ')} for ${setting(hot.sustainedNs)})`);
  }
  const consolidation = policies.consolidation;
  if (consolidation !== undefined) {
    parts.push(`consolidation (below ${percent(consolidation.belowPermille)} for ${setting(consolidation.sustainedNs)}${consolidation.sleep ? ', emptied processors sleep' : ''})`);
  }
  const lines = [`load policies: ${parts.join(', ')}; period ${setting(policies.periodNs)}, hold ${setting(policies.holdNs)}, fill ${percent(policies.fillPermille)}, ${policies.strategy}`];
  for (const move of load.moves) {
    const kind = move.cause === 'consolidation' ? 'consolidation' : 'relief';
    const bound = move.boundNs === undefined ? '' : `, bound ${formatNs(move.boundNs)}`;
    const downtime = move.downtimeNs === undefined ? '' : `, downtime ${formatNs(move.downtimeNs)}`;
    const reason = move.reason === undefined ? '' : ` (${move.reason})`;
    lines.push(`  ${kind} at ${formatNs(move.atNs)}: ${move.vm} ${move.from} -> ${move.to} (${move.cause}): ${move.outcome}${reason}${bound}${downtime}`);
  }
  const rows = load.processors.map((p) => `${p.id} ${p.asleep ? 'asleep' : 'awake'} at the end, awake ${formatNs(p.awakeNs)}, peak ${percent(p.peakUtilisationPermille)}${p.hotNs > 0n ? `, hot ${formatNs(p.hotNs)}` : ''}`);
  lines.push(`  processors: ${rows.join('; ')}`);
  if (consolidation !== undefined) {
    const saved = load.staticAwakeNs === 0n ? 0 : 100 * (1 - Number(load.awakeNs) / Number(load.staticAwakeNs));
    lines.push(`  processors freed: ${load.freed.length === 0 ? 'none' : load.freed.join(', ')}; processor-seconds awake ${(Number(load.awakeNs) / 1e9).toFixed(3)} against ${(Number(load.staticAwakeNs) / 1e9).toFixed(3)} for the static placement (${saved >= 0 ? '-' : '+'}${Math.abs(saved).toFixed(1)} %)`);
  }
  for (const violation of load.violations) lines.push(`  LOAD POLICY VIOLATED: ${violation}`);
  return lines;
}
