/**
 * One trial of a campaign: the scenario's events plus the faults drawn from the trial's
 * seed, run by runBoard up to the campaign's horizon, judged by the oracle against the
 * golden run, and written as its record's canonical JSON line. A trial is a function of
 * (scenario, campaign seed, trial index, core) only: no wall time, no worker identity.
 * A core that traps (a WebAssembly RuntimeError, or any error that is not Ferry refusing
 * its input) is the `crash` outcome, recorded, never thrown.
 */
import { TextDecoder } from 'node:util';
import { runBoard } from '../board-runner.js';
import type { BoardRunOptions, BoardRunResult } from '../board-runner.js';
import { ConfigError, FerryError } from '../errors.js';
import type { FaultEvent } from '../faults.js';
import type { LinkFaultRates } from '../link-faults.js';
import { parseCampaignRecords } from '../reliability/campaign-records.js';
import type { CampaignInfo, CampaignRecord } from '../reliability/campaign-records.js';
import type { Scenario } from '../scenario.js';
import type { CampaignSection } from '../scenario-campaign.js';
import type { TraceRecord } from '../trace.js';
import { drawFaultPlan, processorRates } from './fault-plan.js';
import { coreDigest, readCampaignScenario, scenarioDigest, trialSeed } from './identity.js';
import { goldenOf, judgeTrial } from './oracle.js';
import type { GoldenRun } from './oracle.js';
import { recordLine } from './record-line.js';

/** What a worker needs to run one trial. */
export interface TrialSpec {
  scenarioPath: string;
  campaign: CampaignInfo;
  trial: number;
}

/** A scenario ready for trials: read and checked against the campaign once per process. */
interface Prepared {
  scenario: Scenario;
  section: CampaignSection;
  golden: Promise<GoldenRun>;
}

const prepared = new Map<string, Promise<Prepared>>();

/** The record of trial `spec.trial` as its JSON line, without a newline. */
export async function runTrial(spec: TrialSpec): Promise<string> {
  const line = recordLine(await runTrialRecord(spec));
  // A record that breaks the contract is Ferry's bug, not the user's input: an internal error, never a line in the file.
  try {
    parseCampaignRecords(line, `trial ${spec.trial}`);
  } catch (error) {
    throw new Error(`the campaign record of trial ${spec.trial} breaks docs/campaign-records.md: ${(error as Error).message}`);
  }
  return line;
}

/**
 * The crash record of a trial whose worker died running it (it ran out of memory: a
 * runaway the core or the host did not stop). Built where the campaign runs, from what
 * the trial's seed says; the trial's own run cannot report anything.
 */
export async function workerCrashLine(spec: TrialSpec, why: string): Promise<string> {
  const { scenario, section } = await prepare(spec);
  const seed = trialSeed(spec.campaign.seed, spec.trial);
  const base = {
    trial: spec.trial, seed, campaign: spec.campaign, horizonNs: Number(section.horizonNs),
    rates: { processors: processorRates(section, scenario.board) },
  };
  return recordLine(crashRecord(base, new Error(`its worker died: ${why}`), 0, 0n));
}

/** The trial's record; `onTrace` receives its trace (ferry replay --trace). */
export async function runTrialRecord(spec: TrialSpec, onTrace?: (records: TraceRecord[]) => void): Promise<CampaignRecord> {
  if (!Number.isInteger(spec.trial) || spec.trial < 0 || spec.trial >= spec.campaign.trials) {
    throw new ConfigError(`trial ${spec.trial} is not one of the campaign's ${spec.campaign.trials} trials (0 to ${spec.campaign.trials - 1})`);
  }
  const { scenario, section, golden } = await prepare(spec);
  const seed = trialSeed(spec.campaign.seed, spec.trial);
  const plan = drawFaultPlan(section, scenario.board, seed);
  const linkRates: LinkFaultRates = { ...scenario.linkFaults, ...section.links };
  const base = {
    trial: spec.trial, seed, campaign: spec.campaign, horizonNs: Number(section.horizonNs),
    rates: { processors: processorRates(section, scenario.board) },
  };
  let steps = 0;
  let lastBoundaryNs = 0n;
  const budget = section.maxSteps;
  const consoles = new ConsoleCollector();
  let result: BoardRunResult;
  try {
    result = await runBoard({
      ...trialOptions(scenario, section, [...scenario.faults, ...plan]),
      seed,
      ...(hasRates(linkRates) ? { linkFaults: linkRates } : {}),
      onConsole: (vm, bytes) => consoles.add(vm.name, bytes),
      onBoundary: (atNs) => { steps++; lastBoundaryNs = atNs; },
      ...(budget === undefined ? {} : { interrupted: () => steps >= budget }),
      ...(onTrace === undefined ? {} : { onTrace }),
    });
  } catch (error) {
    if (error instanceof FerryError) throw error;
    return crashRecord(base, error, steps, lastBoundaryNs);
  }
  const verdict = judgeTrial({
    board: scenario.board, result, consoles: consoles.texts, golden: await golden, horizonNs: section.horizonNs, linkRates,
    warningLeads: plan.concat(scenario.faults).flatMap((fault) => (fault.kind === 'warning' ? [{ processor: fault.processor, atNs: fault.atNs, leadNs: fault.leadNs }] : [])),
    timedOut: result.end === 'interrupted',
  });
  return { ...base, ...verdict };
}

function hasRates(rates: LinkFaultRates): boolean {
  return Object.values(rates).some((rate) => rate !== undefined && rate > 0);
}

/** The board run of a trial (or of the golden run): the scenario's events up to the horizon, and `faults`. */
function trialOptions(scenario: Scenario, section: CampaignSection, faults: readonly FaultEvent[]): BoardRunOptions {
  const horizonNs = section.horizonNs;
  return {
    board: scenario.board,
    durationNs: horizonNs,
    // Events after the horizon would never fire in a trial.
    events: scenario.events.filter((event) => event.atNs === undefined || event.atNs <= horizonNs),
    faults: faults.filter((fault) => fault.atNs <= horizonNs),
  };
}

/** A crash: the core trapped. What is known goes in the record; the rest is empty. */
function crashRecord(base: Omit<CampaignRecord, 'outcome' | 'systemFailure' | 'faults' | 'detections' | 'failovers' | 'deadlineMisses' | 'channels' | 'controlErrorPeak' | 'timeline'>, error: unknown, steps: number, lastBoundaryNs: bigint): CampaignRecord {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  // The last quantum boundary the run reached: the crash came in the quantum after it.
  const atNs = Math.min(Number(lastBoundaryNs), base.horizonNs);
  return {
    ...base,
    outcome: 'crash',
    systemFailure: { atNs, cause: 'crash' },
    faults: [], detections: [], failovers: [], deadlineMisses: 0,
    channels: { sent: 0, received: 0, lost: 0, duplicated: 0 },
    controlErrorPeak: null,
    timeline: [{ atNs, event: 'crash', detail: `after ${steps} quanta: ${message}`.slice(0, 200) }],
  };
}

/** Reads the scenario once per process and checks it is the campaign's; the golden run too, once. */
function prepare(spec: TrialSpec): Promise<Prepared> {
  const key = `${spec.scenarioPath}\n${spec.campaign.scenarioDigest}\n${spec.campaign.coreDigest}`;
  let entry = prepared.get(key);
  if (entry === undefined) {
    entry = prepareScenario(spec);
    prepared.set(key, entry);
    // A refusal is not cached: the next call says it again (and a fixed file is read anew).
    entry.catch(() => prepared.delete(key));
  }
  return entry;
}

async function prepareScenario(spec: TrialSpec): Promise<Prepared> {
  const scenario = await readCampaignScenario(spec.scenarioPath);
  const digest = await scenarioDigest(scenario);
  if (digest !== spec.campaign.scenarioDigest) {
    throw new ConfigError(`scenario ${spec.scenarioPath}: the scenario or its board changed since the campaign began (digest ${digest}, the campaign's ${spec.campaign.scenarioDigest}): its trials would not replay`);
  }
  const core = await coreDigest();
  if (core !== spec.campaign.coreDigest) {
    throw new ConfigError(`build/core.wasm is not the core the campaign ran (digest ${core}, the campaign's ${spec.campaign.coreDigest}): its trials would not replay`);
  }
  const section = scenario.campaign!;
  const golden = goldenRun(scenario, section);
  golden.catch(() => undefined);
  return { scenario, section, golden };
}

/** The scenario as written, with no drawn faults and no link faults: what the guests print when nothing breaks. */
async function goldenRun(scenario: Scenario, section: CampaignSection): Promise<GoldenRun> {
  const consoles = new ConsoleCollector();
  const result = await runBoard({
    ...trialOptions(scenario, section, scenario.faults),
    seed: scenario.seed ?? 0,
    onConsole: (vm, bytes) => consoles.add(vm.name, bytes),
  });
  return goldenOf(result, consoles.texts);
}

/** Each VM's console as text, every copy of it in the order they printed (a failover's copy after the original). */
class ConsoleCollector {
  readonly texts = new Map<string, string>();
  private readonly decoders = new Map<string, TextDecoder>();

  add(vm: string, bytes: Uint8Array): void {
    let decoder = this.decoders.get(vm);
    if (decoder === undefined) { decoder = new TextDecoder(); this.decoders.set(vm, decoder); }
    this.texts.set(vm, (this.texts.get(vm) ?? '') + decoder.decode(bytes, { stream: true }));
  }
}
