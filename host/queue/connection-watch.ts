/**
 * Watches a Redis connection for the side of a queued campaign that waits on it.
 *
 * ioredis reconnects by itself and holds commands meanwhile, so without a watch a lost
 * Redis would be a silent hang. The watch says once that Redis went away and that it is
 * waiting, says when it is back, and gives up after a grace period: every wait on Redis
 * goes through `guard`, which then rejects with one line (exit 2) telling the user to run
 * the same command again — the results file keeps what was gathered, so it resumes.
 */
import type { Redis } from 'ioredis';
import { QueueConnectionError, describeRedisError } from './connection.js';
import type { RedisAddress } from './redis-url.js';

export class ConnectionWatch {
  private lostAtMs: number | undefined;
  private stopped = false;
  private lastError: unknown;
  private timer: NodeJS.Timeout | undefined;
  private giveUp!: (error: Error) => void;
  /** Rejects once Redis has been away for longer than the grace period. */
  private readonly gaveUp: Promise<never>;

  constructor(
    private readonly connection: Redis,
    private readonly address: RedisAddress,
    private readonly graceMs: number,
    private readonly notify: (line: string) => void,
    /** Called when Redis is back: it may have restarted empty, so the owner submits again. */
    private readonly onReconnect: () => void = () => {},
  ) {
    this.gaveUp = new Promise<never>((_, reject) => (this.giveUp = reject));
    // Nobody may be waiting at the moment it gives up; the rejection is seen by the next guard.
    this.gaveUp.catch(() => {});
    connection.on('error', (error: unknown) => (this.lastError = error));
    connection.on('close', () => this.onLost());
    connection.on('ready', () => this.onBack());
  }

  /** Waits for `operation` unless Redis stays away past the grace period. */
  guard<T>(operation: Promise<T>): Promise<T> {
    return Promise.race([operation, this.gaveUp]);
  }

  /** Whether the connection is down right now (closing a lost one must not wait for it). */
  get lost(): boolean {
    return this.lostAtMs !== undefined;
  }

  /** Before the owner closes the connection: its closing is not Redis going away. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private onLost(): void {
    if (this.lostAtMs !== undefined || this.stopped) return;
    this.lostAtMs = Date.now();
    this.notify(`Redis at ${this.address.display} went away; waiting up to ${this.graceMs / 1000} s for it to return`);
    this.timer = setTimeout(() => {
      const why = this.lastError === undefined ? 'connection closed' : describeRedisError(this.lastError);
      this.giveUp(new QueueConnectionError(
        `lost Redis at ${this.address.display} for ${this.graceMs / 1000} s (${why}); what was gathered is kept: run the same command again once Redis is back to resume`,
      ));
    }, this.graceMs);
  }

  private onBack(): void {
    if (this.lostAtMs === undefined) return;
    clearTimeout(this.timer);
    this.notify(`Redis at ${this.address.display} is back after ${((Date.now() - this.lostAtMs) / 1000).toFixed(1)} s`);
    this.lostAtMs = undefined;
    this.onReconnect();
  }
}
