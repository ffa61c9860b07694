/**
 * A campaign record as one line of results.jsonl, canonically: every object's keys in
 * the order docs/campaign-records.md lists them, optional fields only when present, no
 * spaces. The same record always gives the same bytes, so a trial rerun on another
 * worker or machine can be compared with its first run byte for byte.
 */
import type { CampaignInfo, CampaignRecord, Detection, Failover, Fault, TimelineEntry } from '../reliability/campaign-records.js';

/** Keeps the keys of `value` in the order of `keys` (those present), then any others (a fault's extras) sorted. */
function ordered(value: object, keys: readonly string[]): Record<string, unknown> {
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  for (const key of Object.keys(source).filter((name) => !keys.includes(name)).sort()) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

const CAMPAIGN_KEYS = ['scenario', 'scenarioPath', 'scenarioDigest', 'ferry', 'coreDigest', 'seed', 'trials'] as const;
const FAULT_KEYS = ['kind', 'atNs', 'processor', 'untilNs', 'leadNs', 'vm'] as const;
const DETECTION_KEYS = ['processor', 'by', 'atNs', 'latencyNs', 'false'] as const;
const FAILOVER_KEYS = ['vm', 'from', 'to', 'policy', 'fault', 'faultAtNs', 'interruptionNs', 'interruptionBoundNs', 'lostWorkNs', 'lostWorkBoundNs', 'covered', 'reason'] as const;
const TIMELINE_KEYS = ['atNs', 'event', 'detail', 'untilNs', 'processor', 'vm'] as const;

/** The campaign object in its fixed order (also what a results file's campaigns are compared by). */
export function canonicalCampaign(campaign: CampaignInfo): Record<string, unknown> {
  return ordered(campaign, CAMPAIGN_KEYS);
}

/** The record's JSON line, without a newline. */
export function recordLine(record: CampaignRecord): string {
  const canonical = {
    trial: record.trial,
    seed: record.seed,
    campaign: canonicalCampaign(record.campaign),
    horizonNs: record.horizonNs,
    rates: { processors: record.rates.processors.map((rates) => ordered(rates, ['id', 'failStopPerS', 'hangPerS', 'warningPerS', 'repairNs'])) },
    outcome: record.outcome,
    systemFailure: record.systemFailure === null ? null : ordered(record.systemFailure, ['atNs', 'cause', 'vm', 'processor']),
    faults: record.faults.map((fault: Fault) => ordered(fault, FAULT_KEYS)),
    detections: record.detections.map((detection: Detection) => ordered(detection, DETECTION_KEYS)),
    failovers: record.failovers.map((failover: Failover) => ordered(failover, FAILOVER_KEYS)),
    deadlineMisses: record.deadlineMisses,
    channels: ordered(record.channels, ['sent', 'received', 'lost', 'duplicated']),
    controlErrorPeak: record.controlErrorPeak,
    timeline: record.timeline.map((entry: TimelineEntry) => ordered(entry, TIMELINE_KEYS)),
  };
  // `null` values stay (the contract has nullable fields); undefined ones were left out above.
  return JSON.stringify(canonical);
}
