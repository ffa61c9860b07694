/**
 * Connections to the Redis that holds a queued campaign (ioredis, which BullMQ drives).
 *
 * First a plain check that the address answers (a one-line refusal, exit 2, when it does
 * not: an unreachable Redis is bad input, not a Ferry bug), then long-lived connections
 * that reconnect on their own. Commands wait while Redis is away (BullMQ's workers need
 * `maxRetriesPerRequest: null`); whoever holds a connection watches its state and decides
 * how long to wait (connection-watch.ts), so a lost Redis is never a silent hang.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { FerryError } from '../errors.js';
import type { RedisAddress } from './redis-url.js';

/** How long the first connection may take before Redis counts as unreachable. */
const CONNECT_TIMEOUT_MS = 3000;
/** Reconnection attempts back off to at most this interval while Redis is away. */
const MAX_RECONNECT_INTERVAL_MS = 1000;

/** Redis could not be reached or refused the queue: one line, exit 2. */
export class QueueConnectionError extends FerryError {
  override name = 'QueueConnectionError';
}

function baseOptions(address: RedisAddress): RedisOptions {
  return {
    host: address.host,
    port: address.port,
    db: address.db,
    ...(address.username === undefined ? {} : { username: address.username }),
    ...(address.password === undefined ? {} : { password: address.password }),
    connectTimeout: CONNECT_TIMEOUT_MS,
  };
}

/**
 * A connection for BullMQ that survives Redis going away: it reconnects every second at
 * most and holds commands until it is back. Its 'error' events are the owner's to report;
 * a listener is attached so ioredis never prints them itself.
 */
export function openConnection(address: RedisAddress): Redis {
  const connection = new Redis({
    ...baseOptions(address),
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_INTERVAL_MS),
  });
  connection.on('error', () => {});
  return connection;
}

/**
 * Checks that Redis answers at `address` (and accepts the password, database and
 * memory policy), with one connection attempt; throws QueueConnectionError otherwise.
 * Returns a warning to print when Redis may evict keys (it could drop a batch).
 */
export async function checkRedis(address: RedisAddress): Promise<string | undefined> {
  const probe = new Redis({ ...baseOptions(address), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // connect() itself rejects with "Connection is closed"; the cause comes as an 'error' event.
  let cause: unknown;
  probe.on('error', (error: unknown) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
    const policy = await memoryPolicy(probe);
    return policy === undefined || policy === 'noeviction'
      ? undefined
      : `Redis at ${address.display} has maxmemory-policy ${policy}: it may evict queued batches (set maxmemory-policy noeviction)`;
  } catch (error) {
    throw new QueueConnectionError(`cannot reach Redis at ${address.display}: ${describeRedisError(cause ?? error)}`);
  } finally {
    probe.disconnect();
  }
}

/** The server's eviction policy, or undefined when CONFIG is not allowed (managed Redis). */
async function memoryPolicy(probe: Redis): Promise<string | undefined> {
  try {
    const reply = (await probe.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    return undefined;
  }
}

/** "connection refused", "NOAUTH Authentication required", ...: what a user can act on. */
export function describeRedisError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'connection refused: is redis-server running there?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  if (code === 'ETIMEDOUT' || /timeout/i.test(String((error as Error).message))) return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  const message = error instanceof Error ? error.message : String(error);
  if (/Unknown RESP type/.test(message)) return 'what answers there does not speak the Redis protocol';
  return message.replace(/\s*\n[\s\S]*$/, '');
}
