/**
 * Campaign results (results.jsonl): one record per trial, the contract
 * between the campaign runner and the analysis. docs/campaign-records.md
 * describes it; campaign-record.schema.json (JSON Schema 2020-12, ajv) is its
 * machine form. readCampaignRecords refuses the first bad line with the file,
 * the line number, a JSON pointer into that line and what was expected.
 */
import { join } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { compileSchemaFile, describeSchemaError } from '../board-schema.js';
import { FerryError } from '../errors.js';
import { InputFileError, readInputFile } from '../input-file.js';
import { packageRoot } from '../package-root.js';

export const OUTCOMES = ['ok', 'degraded', 'detected', 'silent-corruption', 'vm-lost', 'double-active', 'crash', 'timeout'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type FaultKind =
  | 'fail-stop' | 'hang' | 'warning'
  | 'link-drop' | 'link-corrupt' | 'link-duplicate' | 'link-reorder' | 'partition' | 'bandwidth'
  | 'bit-flip-ram' | 'bit-flip-register' | 'bit-flip-frame';

/** Faults that take a processor out of service (the model's failures). */
export const PROCESSOR_FAILURE_KINDS: readonly FaultKind[] = ['fail-stop', 'hang', 'warning'];

export type SystemFailureCause = 'vm-lost' | 'interruption' | 'lost-work' | 'double-active' | 'silent-corruption' | 'crash' | 'timeout';
export type FailoverPolicy = 'migrate-on-warning' | 'checkpoint' | 'restart';
export type UncoveredReason = 'over-interruption-bound' | 'over-lost-work-bound' | 'not-restored' | 'no-survivor';

export interface CampaignInfo {
  scenario: string;
  scenarioPath: string;
  scenarioDigest: string;
  ferry: string;
  coreDigest: string;
  seed: number;
  trials: number;
}

export interface ProcessorRates {
  id: number;
  failStopPerS: number;
  hangPerS: number;
  warningPerS: number;
  repairNs: number | null;
}

export interface Fault {
  kind: FaultKind;
  atNs: number;
  processor?: number;
  untilNs?: number;
  leadNs?: number;
  vm?: string;
  [extra: string]: unknown;
}

export interface Detection {
  processor: number;
  by: number;
  atNs: number;
  latencyNs: number | null;
  false: boolean;
}

export interface Failover {
  vm: string;
  from: number;
  to: number | null;
  policy: FailoverPolicy;
  fault: FaultKind;
  faultAtNs: number;
  interruptionNs: number | null;
  interruptionBoundNs: number | null;
  lostWorkNs: number | null;
  lostWorkBoundNs: number | null;
  covered: boolean;
  reason?: UncoveredReason;
}

export interface TimelineEntry {
  atNs: number;
  event: string;
  detail: string;
  untilNs?: number;
  processor?: number;
  vm?: string;
}

export interface CampaignRecord {
  trial: number;
  seed: number;
  campaign: CampaignInfo;
  horizonNs: number;
  rates: { processors: ProcessorRates[] };
  outcome: Outcome;
  systemFailure: { atNs: number; cause: SystemFailureCause; vm?: string; processor?: number } | null;
  faults: Fault[];
  detections: Detection[];
  failovers: Failover[];
  deadlineMisses: number;
  channels: { sent: number; received: number; lost: number; duplicated: number };
  controlErrorPeak: number | null;
  timeline: TimelineEntry[];
}

/** A results file that is missing, unreadable or breaks the contract. */
export class CampaignRecordError extends FerryError {
  override name = 'CampaignRecordError';
}

export function campaignRecordSchemaPath(): string {
  return join(packageRoot(), 'host', 'reliability', 'campaign-record.schema.json');
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= compileSchemaFile(campaignRecordSchemaPath(), { allowUnionTypes: true });
  return compiled;
}

/** Results files: 10,000 trials of about 2 KiB each fit many times over. */
const MAX_RESULTS_FILE_BYTES = 512 * 1024 * 1024;

/** Reads and checks every line of a results file; throws CampaignRecordError at the first bad one. */
export async function readCampaignRecords(path: string): Promise<CampaignRecord[]> {
  let text: string;
  try {
    // Regular files only, capped: a FIFO or a device is refused, not waited on.
    text = (await readInputFile(path, MAX_RESULTS_FILE_BYTES)).toString('utf8');
  } catch (error) {
    if (error instanceof InputFileError) throw new CampaignRecordError(`results ${path}: cannot read it (${error.reason})`);
    throw error;
  }
  return parseCampaignRecords(text, path);
}

/** The records of a results file's text; `path` names it in messages. */
export function parseCampaignRecords(text: string, path: string): CampaignRecord[] {
  const records: CampaignRecord[] = [];
  const trialLines = new Map<number, number>();
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const at = `${path}:${index + 1}`;
    const record = parseLine(line, at);
    const first = records[0];
    if (first !== undefined && canonical(first.campaign) !== canonical(record.campaign)) {
      throw new CampaignRecordError(`${at}: /campaign: differs from the first record's (a results file holds one campaign)`);
    }
    const seen = trialLines.get(record.trial);
    if (seen !== undefined) throw new CampaignRecordError(`${at}: /trial: trial ${record.trial} is already on line ${seen}`);
    trialLines.set(record.trial, index + 1);
    records.push(record);
  });
  if (records.length === 0) throw new CampaignRecordError(`results ${path}: no records (one JSON object per line expected)`);
  return records;
}

function parseLine(line: string, at: string): CampaignRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CampaignRecordError(`${at}: not valid JSON (${(error as Error).message})`);
  }
  const validate = validator();
  if (!validate(value)) {
    const problem = describeSchemaError(mostSpecific(validate.errors ?? []));
    throw new CampaignRecordError(`${at}: ${problem.pointer || '/'}: ${problem.message}`);
  }
  const record = value as CampaignRecord;
  const problem = semanticProblem(record);
  if (problem !== undefined) throw new CampaignRecordError(`${at}: ${problem}`);
  return record;
}

/** Of a line's schema errors the deepest says the most (a oneOf's branches each report; the branch that got further wins). */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const depth = (error: ErrorObject): number => error.instancePath.split('/').length + (error.keyword === 'required' || error.keyword === 'additionalProperties' ? 1 : 0);
  return errors.filter((error) => error.keyword !== 'oneOf').reduce((best, error) => (depth(error) > depth(best) ? error : best), errors.find((error) => error.keyword !== 'oneOf') ?? errors[0]!);
}

/** What the schema cannot say: times within the horizon, a failover to another processor, the trial within the campaign. */
function semanticProblem(record: CampaignRecord): string | undefined {
  if (record.trial >= record.campaign.trials) return `/trial: ${record.trial} is not below the campaign's ${record.campaign.trials} trials`;
  if (record.systemFailure !== null && record.systemFailure.atNs > record.horizonNs) {
    return `/systemFailure/atNs: ${record.systemFailure.atNs} is after the horizon ${record.horizonNs}`;
  }
  const late = record.faults.findIndex((fault) => fault.atNs > record.horizonNs);
  if (late >= 0) return `/faults/${late}/atNs: ${record.faults[late]!.atNs} is after the horizon ${record.horizonNs}`;
  const self = record.failovers.findIndex((failover) => failover.to === failover.from);
  if (self >= 0) return `/failovers/${self}/to: a failover goes to another processor, not back to ${record.failovers[self]!.from}`;
  const uncoveredWithoutReason = record.failovers.findIndex((failover) => failover.covered && failover.reason !== undefined);
  if (uncoveredWithoutReason >= 0) return `/failovers/${uncoveredWithoutReason}/reason: only an uncovered failover has a reason`;
  return undefined;
}

/** JSON with sorted keys: two campaign objects are the same whatever order their keys were written in. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
}
