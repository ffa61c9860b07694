// Virtual time (clock.ts): cycles of the processor's clock against ticks of the 10 MHz
// timebase. ticksToCycles(t) must be the first cycle at which the timer reads t, at
// every clock rate, or timer interrupts come early or late.
import { cyclesToTicks, getClockHz, setClockHz, ticksToCycles } from "../clock";
import { TIMEBASE_HZ } from "../config";

/**
 * The defining property, for ticks 0..2999 and a few far-away values: "" when it holds,
 * else the first counterexample (checked in a loop, reported through one expectation).
 */
function firstCycleViolation(hz: u64): string {
  setClockHz(hz);
  const far: u64[] = [TIMEBASE_HZ - 1, TIMEBASE_HZ, TIMEBASE_HZ + 1, 123_456_789, 1 << 32, (1 << 40) + 7, 0xFFFF_FFFF_FF];
  for (let t: u64 = 0; t < 3000 + <u64>far.length; t++) {
    const ticks = t < 3000 ? t : far[<i32>(t - 3000)];
    const c = ticksToCycles(ticks);
    const where = "tick " + ticks.toString() + " -> cycle " + c.toString() + " at " + hz.toString() + " Hz: ";
    if (cyclesToTicks(c) < ticks) return where + "the timer has not reached the tick yet";
    if (c > 0 && cyclesToTicks(c - 1) >= ticks) return where + "an earlier cycle already reads the tick";
    if (hz >= TIMEBASE_HZ && cyclesToTicks(c) != ticks) return where + "no round trip";
  }
  return "";
}

function checkFirstCycle(hz: u64): void {
  expect(firstCycleViolation(hz)).toBe("");
}

describe("virtual time", () => {
  afterEach(() => {
    setClockHz(100_000_000);
  });

  it("runs at 100 MHz unless configured", () => {
    expect(getClockHz()).toBe(100_000_000);
  });

  it("cyclesToTicks at 100 MHz: 10 cycles a tick, rounded down", () => {
    expect(cyclesToTicks(0)).toBe(0);
    expect(cyclesToTicks(9)).toBe(0);
    expect(cyclesToTicks(10)).toBe(1);
    expect(cyclesToTicks(99)).toBe(9);
    expect(cyclesToTicks(100_000_000)).toBe(10_000_000);
    expect(cyclesToTicks(1 << 40)).toBe(109_951_162_777);
    expect(cyclesToTicks(u64.MAX_VALUE)).toBe(u64.MAX_VALUE / 10);
  });

  it("ticksToCycles at 100 MHz: ten cycles a tick", () => {
    expect(ticksToCycles(0)).toBe(0);
    expect(ticksToCycles(1)).toBe(10);
    expect(ticksToCycles(12_345)).toBe(123_450);
    expect(ticksToCycles(1 << 50)).toBe((1 << 50) * 10);
  });

  it("round trip at 100 MHz", () => {
    checkFirstCycle(100_000_000);
  });

  it("33 MHz (not a multiple of the timebase): 3.3 cycles a tick", () => {
    setClockHz(33_000_000);
    expect(cyclesToTicks(3)).toBe(0);
    expect(cyclesToTicks(4)).toBe(1);
    expect(cyclesToTicks(33)).toBe(10);
    expect(cyclesToTicks(32)).toBe(9);
    expect(ticksToCycles(1)).toBe(4);
    expect(ticksToCycles(3)).toBe(10);
    expect(ticksToCycles(10)).toBe(33);
    expect(ticksToCycles(11)).toBe(37);
    expect(ticksToCycles(10_000_000)).toBe(33_000_000);
    checkFirstCycle(33_000_000);
  });

  it("other clocks: 10 MHz, 7 MHz, 1 MHz (slower than the timebase), 4294967295 Hz", () => {
    checkFirstCycle(10_000_000);
    expect(ticksToCycles(777)).toBe(777);
    checkFirstCycle(7_000_000);
    checkFirstCycle(1_000_000);
    expect(ticksToCycles(25)).toBe(3); // the timer reads 30 at cycle 3
    expect(cyclesToTicks(3)).toBe(30);
    checkFirstCycle(0xFFFF_FFFF);
  });

  it("cyclesToTicks never goes backwards", () => {
    const clocks: u64[] = [100_000_000, 33_000_000, 7_000_000, 1_000_000];
    for (let i = 0; i < clocks.length; i++) {
      setClockHz(clocks[i]);
      const maxStep: u64 = clocks[i] < TIMEBASE_HZ ? TIMEBASE_HZ / clocks[i] + 1 : 1;
      let previous: u64 = 0;
      let bad: i64 = -1;
      for (let c: u64 = 0; c < 5000 && bad < 0; c++) {
        const ticks = cyclesToTicks(c);
        if (ticks < previous || ticks - previous > maxStep) bad = <i64>c;
        previous = ticks;
      }
      expect(bad).toBe(-1, "cycle where the timer jumps, at " + clocks[i].toString() + " Hz");
    }
  });

  it("a disarmed timer (all ones) never fires: the deadline saturates where cycles would overflow", () => {
    const clocks: u64[] = [100_000_000, 33_000_000, 0xFFFF_FFFF];
    for (let i = 0; i < clocks.length; i++) {
      setClockHz(clocks[i]);
      expect(ticksToCycles(u64.MAX_VALUE)).toBe(u64.MAX_VALUE);
      expect(ticksToCycles(u64.MAX_VALUE - 1)).toBe(u64.MAX_VALUE);
    }
    // Slower than the timebase, cycles do not overflow: the deadline is merely unreachable
    // (more than 2^60 cycles away).
    setClockHz(1_000_000);
    expect(ticksToCycles(u64.MAX_VALUE)).toBeGreaterThan(1 << 60);
  });
});
