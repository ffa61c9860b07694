/**
 * Scripted cores implement only what a test needs; asCore fills in the rest of the
 * world's exports (host/core-world.ts) with answers of a core that supports nothing:
 * -2 (SBI not supported) for results, 0 for counters, nothing for byte lists.
 */
import type { CoreRuntime } from '../../host/core-runtime.js';
import { WORLD_EXPORTS } from '../../host/core-world.js';

function unsupported(result: string | undefined): () => unknown {
  if (result === 'u64' || result === 's64') return () => 0n;
  if (result === 'list<u8>') return () => new Uint8Array(0);
  if (result === 's32') return () => -2;
  if (result === 'u32') return () => 0;
  return () => undefined;
}

/** `fake` as a whole CoreRuntime: what it does not implement answers "not supported". */
export function asCore<T extends object>(fake: T): T & CoreRuntime {
  const fallback = new Map(WORLD_EXPORTS.map((fn) => [fn.name as string, unsupported('result' in fn ? fn.result : undefined)]));
  return new Proxy(fake, {
    get: (target, property, receiver) => (property in target || typeof property !== 'string' || !fallback.has(property)
      ? Reflect.get(target, property, receiver) as unknown
      : fallback.get(property)),
  }) as T & CoreRuntime;
}
