/**
 * `ferry campaign <scenario.json> --trials N --seed S [--workers W] [-o results.jsonl] [--shard i/n] [--json]`,
 * `ferry campaign merge <a.jsonl> <b.jsonl>… -o <all.jsonl>` and
 * `ferry replay <results.jsonl> --trial K [--trace out.jsonl]` (docs/campaigns.md).
 */
import { Command } from 'commander';
import { runCampaign, parseShard } from '../campaign/campaign-run.js';
import type { Shard } from '../campaign/campaign-run.js';
import { CampaignProgressBar } from '../campaign/campaign-progress.js';
import { formatSummary } from '../campaign/campaign-summary.js';
import { MAX_TRIALS } from '../campaign/identity.js';
import { mergeResults } from '../campaign/merge.js';
import { defaultWorkers, poolExecutor } from '../campaign/pool.js';
import { replayTrial } from '../campaign/replay.js';
import { ConfigError } from '../errors.js';
import { jsonText } from '../format.js';
import { addCampaignStatusCommand, batchOption, batchTrialsFor, queueExecutor, queueOption } from '../queue/queue-campaign.js';
import type { QueueFlags } from '../queue/queue-campaign.js';
import { INTERRUPTED_EXIT_STATUS, interruptRequested } from '../interrupt.js';
import { exitStatusHelp } from './exit-status.js';
import { parseSeed, parseWhole } from './options.js';

interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
}

interface CampaignFlags extends QueueFlags {
  trials?: number;
  seed: number;
  workers?: number;
  out: string;
  shard?: Shard;
  json?: boolean;
  progress: boolean;
}

/** The campaign failed its verdict: a trial that must never happen, or one that did not replay. */
export const INVALID_CAMPAIGN_EXIT_STATUS = 1;

/** How often the CLI looks for Ctrl-C while the pool works (wall time: it only decides when to stop starting trials). */
const INTERRUPT_POLL_MS = 100;

const CAMPAIGN_HELP = `
Each trial runs the scenario's events plus the faults its campaign section
draws from the trial's seed, for the section's horizon, and is judged by
the oracle (docs/campaigns.md). Records go to -o as trials finish, one JSON
line each (docs/campaign-records.md); a rerun with the same scenario, seed
and trials skips the trials already there. A seeded 5 % of the trials run
twice and must give the same bytes. --shard i/n runs the trials t with
t mod n = i - 1 (merge the shards' files with ferry campaign merge).
`;

export function addCampaignCommands(program: Command, io: Io, setExitStatus: (status: number) => void): void {
  const campaign = program
    .command('campaign')
    .description('a fault-injection campaign: seeded trials of a scenario on a worker pool, one record each, and a summary (docs/campaigns.md)')
    .argument('<scenario.json>', 'a scenario with a campaign section')
    // Checked in the action, not by commander: a required option here would be asked of `campaign merge` too.
    .option('--trials <n>', 'how many trials the campaign has (required)', parseWhole('a number of trials', MAX_TRIALS, 1))
    .option('--seed <s>', 'the campaign\'s seed (each trial\'s is derived from it)', parseSeed, 1)
    .option('--workers <w>', `worker threads (default: the cores, ${defaultWorkers()} here)`, parseWhole('a number of workers', 256, 1))
    .option('-o, --out <file>', 'the results file (appended to; a rerun resumes)', 'results.jsonl')
    .option('--shard <i/n>', 'run only shard i of n of the trials', parseShard)
    .option('--json', 'print the summary as JSON on stdout (no progress bar)')
    .option('--no-progress', 'no progress bar')
    .addOption(queueOption().conflicts('workers'))
    .addOption(batchOption())
    .addHelpText('after', CAMPAIGN_HELP + exitStatusHelp('campaign'))
    // `campaign merge -o x`: the -o after "merge" is merge's own.
    .enablePositionalOptions()
    .action(async (scenarioPath: string, flags: CampaignFlags) => setExitStatus(await campaignCommand(scenarioPath, flags, io)));
  campaign
    .command('merge')
    .description('merge the results files of one campaign\'s shards into one, sorted by trial')
    .argument('<results.jsonl...>', 'the shards\' results files')
    .requiredOption('-o, --out <file>', 'the merged results file')
    .option('--json', 'print what was merged as JSON')
    .addHelpText('after', exitStatusHelp('campaign'))
    .action(async (inputs: string[], flags: { out: string; json?: boolean }) => setExitStatus(await mergeCommand(inputs, flags, io)));
  addCampaignStatusCommand(campaign, io, setExitStatus);

  program
    .command('replay')
    .description('run one trial of a campaign again (with a trace) and check it gives the record in the file')
    .argument('<results.jsonl>', 'a campaign\'s results file')
    .requiredOption('--trial <k>', 'the trial to run again', parseWhole('a trial number', MAX_TRIALS))
    .option('--trace <file>', 'write the trial\'s trace (docs/trace.md)')
    .option('--json', 'print the record and whether it matched as JSON')
    .addHelpText('after', exitStatusHelp('replay'))
    .action(async (resultsPath: string, flags: { trial: number; trace?: string; json?: boolean }) => setExitStatus(await replayCommand(resultsPath, flags, io)));
}

async function campaignCommand(scenarioPath: string, flags: CampaignFlags, io: Io): Promise<number> {
  if (flags.trials === undefined) throw new ConfigError('campaign needs --trials <n>: how many trials the campaign has');
  const trials = flags.trials;
  const executor = flags.queue === undefined
    ? poolExecutor(flags.workers === undefined ? {} : { workers: flags.workers })
    : await queueExecutor(flags.queue, batchTrialsFor(trials, flags), (line) => { if (flags.json !== true) io.stderr.write(`ferry: ${line}\n`); });
  const bar = flags.json !== true && flags.progress && io.stderr.isTTY === true ? new CampaignProgressBar() : undefined;
  const stop = new AbortController();
  const poll = setInterval(() => { if (interruptRequested()) stop.abort(); }, INTERRUPT_POLL_MS);
  let summary;
  try {
    summary = await runCampaign({
      scenarioPath, seed: flags.seed, trials, resultsPath: flags.out, executor,
      ...(flags.shard === undefined ? {} : { shard: flags.shard }),
      signal: stop.signal,
      ...(bar === undefined ? {} : { onProgress: (progress) => bar.update(progress) }),
    });
  } finally {
    clearInterval(poll);
    bar?.stop();
    await executor.close();
  }
  if (flags.json === true) io.stdout.write(jsonText(summary));
  else io.stdout.write(formatSummary(summary));
  if (summary.interrupted) {
    if (flags.json !== true) io.stderr.write(`ferry: interrupted (Ctrl-C): ${summary.trials} trials in ${flags.out}; run the same command again to resume\n`);
    return INTERRUPTED_EXIT_STATUS;
  }
  return summary.verdict.valid ? 0 : INVALID_CAMPAIGN_EXIT_STATUS;
}

async function mergeCommand(inputs: string[], flags: { out: string; json?: boolean }, io: Io): Promise<number> {
  const merged = await mergeResults(inputs, flags.out);
  if (flags.json === true) io.stdout.write(jsonText({ out: flags.out, ...merged }));
  else {
    io.stdout.write(`merged ${inputs.length} files into ${flags.out}: ${merged.trials} of ${merged.campaign.trials} trials of ${merged.campaign.scenario} (seed ${merged.campaign.seed})` +
      `${merged.duplicates > 0 ? `, ${merged.duplicates} given twice with the same record` : ''}${merged.missing > 0 ? `; ${merged.missing} still missing` : ''}\n`);
  }
  return 0;
}

async function replayCommand(resultsPath: string, flags: { trial: number; trace?: string; json?: boolean }, io: Io): Promise<number> {
  const replay = await replayTrial(resultsPath, flags.trial, flags.trace);
  if (flags.json === true) {
    io.stdout.write(jsonText({ trial: replay.trial, seed: replay.record.seed, outcome: replay.record.outcome, identical: replay.identical, ...(replay.firstDifference === undefined ? {} : { firstDifference: replay.firstDifference }), record: replay.record }));
  } else {
    const record = replay.record;
    io.stdout.write(`trial ${record.trial} (seed ${record.seed}): ${record.outcome}; ${record.faults.length} faults, ${record.failovers.length} failovers${flags.trace === undefined ? '' : `; trace in ${flags.trace}`}\n`);
    if (replay.identical) io.stdout.write(`the record is byte-identical to the one in ${resultsPath}\n`);
    else {
      const at = replay.firstDifference!;
      io.stdout.write(`the record DIFFERS from the one in ${resultsPath}, from character ${at}:\n  file:   …${replay.recorded.slice(Math.max(0, at - 40), at + 80)}\n  replay: …${replay.line.slice(Math.max(0, at - 40), at + 80)}\n`);
    }
  }
  return replay.identical ? 0 : 1;
}
