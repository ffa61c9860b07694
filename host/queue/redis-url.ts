/**
 * The `--queue redis://host:port[/db]` option: the Redis that holds a queued campaign's
 * batches (docs/campaigns.md, "On several machines"). Checked before anything connects,
 * so a malformed address is one line naming what is wrong, never a connection attempt to
 * somewhere else.
 */
import { InvalidArgumentError } from 'commander';

/** Redis's default port, when the address names none. */
export const DEFAULT_REDIS_PORT = 6379;
/** Redis's default build has databases 0 to 15. */
const MAX_REDIS_DB = 15;

/** Where a queue lives: what ioredis needs, and how to show it (without a password). */
export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** The address as messages show it: redis://host:port/db, a password replaced by ***. */
  display: string;
}

/** Parses a redis:// address; throws a one-line reason (commander prints it with the option's name). */
export function parseRedisUrl(text: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`"${text}" is not a Redis address: write redis://host:port or redis://host:port/db.`);
  }
  if (url.protocol !== 'redis:') throw new InvalidArgumentError(`"${url.protocol}" is not redis: (write redis://host:port[/db]).`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new InvalidArgumentError('the address names no host (write redis://host:port[/db]).');
  if (url.search !== '' || url.hash !== '') throw new InvalidArgumentError('a Redis address takes no ?query or #fragment.');
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  const db = parseDb(url.pathname);
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  const auth = username === undefined && password === undefined ? '' : `${username ?? ''}${password === undefined ? '' : ':***'}@`;
  return { host, port, db, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), display: `redis://${auth}${url.host}/${db}` };
}

function parseDb(path: string): number {
  if (path === '' || path === '/') return 0;
  const digits = path.slice(1);
  if (!/^\d+$/.test(digits) || Number(digits) > MAX_REDIS_DB) {
    throw new InvalidArgumentError(`"${path}" is not a database number: the path is /0 to /${MAX_REDIS_DB}, or none.`);
  }
  return Number(digits);
}
