/**
 * A campaign's results file as it is being written: the lines already there (a rerun
 * resumes after them) and whole lines appended as trials finish. Each line goes out in
 * one write and the file is synced now and then, so an interruption leaves only whole
 * lines — and should a last line be cut short anyway (power lost mid-write), the next
 * run drops it before appending.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { parseCampaignRecords, readCampaignRecords } from '../reliability/campaign-records.js';
import type { CampaignInfo } from '../reliability/campaign-records.js';
import { readInputFile } from '../input-file.js';
import { canonicalCampaign } from './record-line.js';

/** Lines between two fsyncs. */
const LINES_PER_SYNC = 64;

/** The results file's records by trial, as their lines; refuses a file of another campaign. */
export async function existingLines(path: string, campaign: CampaignInfo): Promise<Map<number, string>> {
  const lines = new Map<number, string>();
  const size = await stat(path).then((info) => info.size, () => undefined);
  if (size === undefined || size === 0) return lines;
  const text = (await readInputFile(path, 512 * 1024 * 1024)).toString('utf8');
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  if (whole.trim() === '') return lines;
  const records = parseCampaignRecords(whole, path);
  const theirs = JSON.stringify(canonicalCampaign(records[0]!.campaign));
  if (theirs !== JSON.stringify(canonicalCampaign(campaign))) {
    const other = records[0]!.campaign;
    throw new ConfigError(`results ${path}: holds another campaign (scenario ${other.scenarioPath}, seed ${other.seed}, ${other.trials} trials${other.scenarioDigest === campaign.scenarioDigest ? '' : ', another scenario digest'}${other.coreDigest === campaign.coreDigest ? '' : ', another core'}): give another -o, or remove it to start afresh`);
  }
  whole.split('\n').filter((line) => line.trim() !== '').forEach((line, index) => lines.set(records[index]!.trial, line));
  return lines;
}

/** Appends whole lines to a results file (cutting a partial last line off first). */
export class ResultsWriter {
  private readonly fd: number;
  private unsynced = 0;

  constructor(path: string, keepBytes: number | undefined) {
    this.fd = openSync(path, 'a+');
    if (keepBytes !== undefined) ftruncateSync(this.fd, keepBytes);
  }

  append(line: string): void {
    writeSync(this.fd, `${line}\n`);
    if (++this.unsynced >= LINES_PER_SYNC) this.sync();
  }

  sync(): void {
    if (this.unsynced === 0) return;
    fsyncSync(this.fd);
    this.unsynced = 0;
  }

  close(): void {
    this.sync();
    closeSync(this.fd);
  }
}

/** The length of the file's whole lines (undefined: no file), for ResultsWriter. */
export async function wholeLinesBytes(path: string): Promise<number | undefined> {
  const exists = await stat(path).then(() => true, () => false);
  if (!exists) return undefined;
  const bytes = await readInputFile(path, 512 * 1024 * 1024);
  return bytes.lastIndexOf(0x0a) + 1;
}

export { readCampaignRecords };
