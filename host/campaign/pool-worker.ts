/**
 * A worker thread of the campaign pool (pool.ts): runs a batch of trials one after the
 * other and returns their record lines. Each worker reads the scenario and runs its
 * golden run once (trial.ts keeps them per thread), so a batch of several trials
 * amortises that and piscina's round trip.
 */
import { FerryError } from '../errors.js';
import { runTrial } from './trial.js';
import type { TrialSpec } from './trial.js';

export interface PoolBatch {
  specs: TrialSpec[];
}

/** Each spec's line, or Ferry's refusal as a message (an Error's class does not cross threads). */
export type PoolBatchResult = { lines: { trial: number; line: string }[] } | { refused: string };

export default async function runBatch(batch: PoolBatch): Promise<PoolBatchResult> {
  const lines: { trial: number; line: string }[] = [];
  try {
    for (const spec of batch.specs) lines.push({ trial: spec.trial, line: await runTrial(spec) });
  } catch (error) {
    if (error instanceof FerryError) return { refused: error.message };
    throw error;
  }
  return { lines };
}
