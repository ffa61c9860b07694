/**
 * The progress bar of a campaign, on stderr when it is a terminal: trials done of the
 * shard's, their rate and the time still to go (cli-progress computes both from wall
 * time — shown only, never recorded), and the outcomes so far. It only draws.
 */
import { SingleBar } from 'cli-progress';
import type { CampaignProgress } from './campaign-run.js';

const FPS = 5;

export class CampaignProgressBar {
  private readonly bar: SingleBar;
  private started = false;
  private phase: CampaignProgress['phase'] = 'trials';
  /** When this phase's bar started, and the trials done then: the rate is of this run's trials, not the resumed ones. */
  private startedAtMs = 0;
  private firstDone = 0;

  constructor(stream: NodeJS.WritableStream = process.stderr) {
    this.bar = new SingleBar({
      format: 'ferry: [{bar}] {value}/{total} {phase} | {rate}/s | ETA {eta_formatted} | {outcomes}',
      stream,
      fps: FPS,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      noTTYOutput: false,
    });
  }

  update(progress: CampaignProgress): void {
    const outcomes = Object.entries(progress.outcomes).map(([outcome, count]) => `${outcome} ${count}`).join(', ') || '-';
    if (!this.started || progress.phase !== this.phase) {
      if (this.started) this.bar.stop();
      this.bar.start(progress.total, progress.done, { phase: progress.phase === 'trials' ? 'trials' : 'run again', rate: '-', outcomes });
      this.started = true;
      this.phase = progress.phase;
      this.startedAtMs = Date.now();
      this.firstDone = progress.done;
      return;
    }
    const seconds = (Date.now() - this.startedAtMs) / 1000;
    const rate = seconds > 0 ? ((progress.done - this.firstDone) / seconds).toFixed(1) : '-';
    this.bar.update(progress.done, { rate, outcomes });
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}
