/**
 * The progress bar of a long board run, on stderr when it is a terminal (never
 * in a pipe, a file or a test): virtual time done of the run's length. It only
 * draws; nothing in the run depends on it, so runs stay deterministic.
 */
import { SingleBar } from 'cli-progress';
import { formatVirtualTime } from './summary.js';

/** Redraw at most this often (wall time): cheap beside a quantum of emulation. */
const FPS = 5;

export class BoardProgress {
  private readonly bar: SingleBar;

  constructor(private readonly endNs: bigint) {
    this.bar = new SingleBar({
      format: 'ferry: [{bar}] {percentage}% {done} of {end} of virtual time',
      stream: process.stderr,
      fps: FPS,
      hideCursor: true,
      clearOnComplete: true,
      // The bar goes only to a terminal: the caller checks isTTY, so no fallback output.
      noTTYOutput: false,
    });
    this.bar.start(1000, 0, { done: formatVirtualTime(0n), end: formatVirtualTime(endNs) });
  }

  update(atNs: bigint): void {
    const permille = this.endNs === 0n ? 1000 : Number((atNs * 1000n) / this.endNs);
    this.bar.update(Math.min(1000, permille), { done: formatVirtualTime(atNs) });
  }

  stop(): void {
    this.bar.stop();
  }
}
