// Hotspot relief's triggers (hotspot.ts), from the load monitor's measurement of each
// period (load-monitor.ts): utilisation, windows that overran, deadlines missed — each at
// its threshold — and the hot time, which starts with the first hot period and ends with
// the first period that is not. No peer is known here, so nothing moves.
import { advance, nsToCycles, setClockHz } from "../clock";
import {
  KIND_PARAVIRTUAL, LOAD_PARAM_HOT_MISSES, LOAD_PARAM_HOT_OVERRUN_PERMILLE, LOAD_PARAM_HOT_UTILISATION_PERMILLE,
  LOAD_PARAM_PERIOD_NS, LOAD_STAT_HOT_NS, LOAD_STAT_HOT_SINCE_NS, LOAD_STAT_PERIODS, LOAD_STAT_RELIEF_MOVES,
  LOAD_STAT_UTILISATION_PERMILLE,
} from "../config";
import { isHot, relieveHotspot } from "../hotspot";
import { loadStat, measureLoad, setLoadParam } from "../load-monitor";
import { Vm } from "../vm";
import { newVm } from "./helpers/vm";

const PERIOD_NS: u64 = 10_000_000;

/** One load period passes, in which the VM executes `busyPermille` of it and has these windows, overruns and misses. */
function period(vm: Vm, busyPermille: u64, windows: u64, overruns: u64, misses: u64): void {
  const cycles = nsToCycles(PERIOD_NS);
  advance(cycles);
  vm.executed += cycles * busyPermille / 1000;
  vm.windowsUsed += windows;
  vm.overruns += overruns;
  vm.deadlineMisses += misses;
  expect(measureLoad()).toBe(true);
  relieveHotspot();
}

describe("hotspot relief's triggers", () => {
  it("utilisation at its threshold, overruns at theirs, a deadline missed: each makes the period hot", () => {
    setClockHz(100_000_000);
    expect(setLoadParam(LOAD_PARAM_PERIOD_NS, PERIOD_NS)).toBe(true);
    expect(setLoadParam(LOAD_PARAM_HOT_UTILISATION_PERMILLE, 800)).toBe(true);
    expect(setLoadParam(LOAD_PARAM_HOT_OVERRUN_PERMILLE, 500)).toBe(true);
    expect(setLoadParam(LOAD_PARAM_HOT_MISSES, 1)).toBe(true);
    const vm = newVm(KIND_PARAVIRTUAL, 64 * 1024);
    expect(measureLoad()).toBe(false); // the first call starts the first period
    period(vm, 500, 1, 0, 0);
    expect(loadStat(LOAD_STAT_UTILISATION_PERMILLE)).toBe(500);
    expect(isHot()).toBe(false);
    period(vm, 800, 1, 0, 0); // utilisation at the threshold
    expect(isHot()).toBe(true);
    const since = loadStat(LOAD_STAT_HOT_SINCE_NS);
    expect(since).toBe(PERIOD_NS); // the start of the first hot period
    period(vm, 100, 4, 2, 0); // half its windows overran
    expect(isHot()).toBe(true);
    expect(loadStat(LOAD_STAT_HOT_SINCE_NS)).toBe(since); // one spell
    period(vm, 100, 4, 1, 1); // a quarter overran, but a deadline was missed
    expect(isHot()).toBe(true);
    period(vm, 100, 4, 1, 0); // nothing at its threshold
    expect(isHot()).toBe(false);
    expect(loadStat(LOAD_STAT_HOT_SINCE_NS)).toBe(0);
    expect(loadStat(LOAD_STAT_HOT_NS)).toBe(3 * PERIOD_NS);
    expect(loadStat(LOAD_STAT_PERIODS)).toBe(5);
    expect(loadStat(LOAD_STAT_RELIEF_MOVES)).toBe(0); // no peer to go to
  });
});
