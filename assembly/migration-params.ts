// A migration's parameters (MigrationParam in wit/numbers.json). migrationSetParam sets
// one for the next migrationStart only; the start takes them all and puts the defaults
// back, so a parameter never leaks from one migration into the next and the host sends
// only what a scenario sets. The values a migration ran with are in its report
// (migrationStat STAT_PARAM + key).
import { PARAM_COUNT, PARAM_DEFAULTS } from "./config";

const next = new StaticArray<u64>(PARAM_COUNT);

function reset(): void {
  for (let key: u32 = 0; key < PARAM_COUNT; key++) unchecked(next[key] = unchecked(PARAM_DEFAULTS[key]));
}
reset();

export function setNextParam(key: u32, value: u64): bool {
  if (key >= PARAM_COUNT) return false;
  unchecked(next[key] = value);
  return true;
}

/** A start that was turned down before it began (bad arguments, busy) drops what was set for it. */
export function discardParams(): void {
  reset();
}

/** Moves the next migration's parameters into `into` and starts the one after from the defaults. */
export function takeParams(into: StaticArray<u64>): void {
  for (let key: u32 = 0; key < PARAM_COUNT; key++) unchecked(into[key] = unchecked(next[key]));
  reset();
}
