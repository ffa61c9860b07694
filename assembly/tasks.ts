// Task sets that paravirtual guests report (Ferry hypercall report_task_set), their
// deadline accounting, and the VM's slack: the longest blackout the VM can take without
// a task missing its deadline. Migration (issue 6) admits a move only within it.
//
// Analysis: fixed-priority preemptive scheduling inside the VM, deadline-monotonic
// priorities (shorter relative deadline first, ties by index), D <= T, run only inside
// the VM's windows. Supply is the partition schedule: sbf(t) is the least processor time
// the VM gets in any interval of length t. A blackout of length B removes at most
// msf(B) of supply (the most the VM can get in any B-long interval), so task i still
// meets its deadline if the smallest t with sbf(t) >= C_i + msf(B) + sum_hp ceil(t/T_j) C_j
// is <= D_i. The slack is the largest such B (binary search; the test is monotonic in B).
import { cyclesToNs, getClockHz, now } from "./clock";
import { TRACE_DEADLINE_MISS } from "./config";
import { frameLengthCycles, windowsOf } from "./schedule";
import { trace } from "./trace";
import { Vm } from "./vm";

export const MAX_TASKS: i32 = 16;

// A task set: u32 count, u32 reserved, then per task u64 period, wcet, deadline (cycles),
// release origin (cycle), jobs done. The TASK_SET stream record has the same layout.
export const TASK_SET_HEADER_BYTES: u32 = 8;
export const TASK_RECORD_BYTES: u32 = 40;
const TASK_BYTES: usize = TASK_RECORD_BYTES;
const HEADER_BYTES: usize = TASK_SET_HEADER_BYTES;

@inline function taskAt(set: usize, i: i32): usize {
  return set + HEADER_BYTES + <usize>i * TASK_BYTES;
}

export function taskCount(set: usize): i32 {
  return set == 0 ? 0 : load<i32>(set);
}

export function usToCycles(us: u64): u64 {
  return (us / 1_000_000) * getClockHz() + ((us % 1_000_000) * getClockHz()) / 1_000_000;
}

/** Records a task set given in microseconds (period, wcet, deadline per task). */
export function recordTaskSet(vm: Vm, periodsUs: StaticArray<u32>, wcetsUs: StaticArray<u32>, deadlinesUs: StaticArray<u32>, count: i32): void {
  if (vm.tasks == 0) vm.tasks = heap.alloc(HEADER_BYTES + <usize>MAX_TASKS * TASK_BYTES);
  store<i32>(vm.tasks, count);
  const origin = now();
  for (let i = 0; i < count; i++) {
    const task = taskAt(vm.tasks, i);
    store<u64>(task, usToCycles(periodsUs[i]));
    store<u64>(task, usToCycles(wcetsUs[i]), 8);
    store<u64>(task, usToCycles(deadlinesUs[i]), 16);
    store<u64>(task, origin, 24);
    store<u64>(task, 0, 32);
  }
}

/** Takes a task set in the record layout (checked by the collector); count 0 clears it. */
export function loadTaskSet(vm: Vm, body: usize): void {
  const count = load<u32>(body);
  if (count == 0) {
    if (vm.tasks != 0) store<i32>(vm.tasks, 0);
    return;
  }
  if (vm.tasks == 0) vm.tasks = heap.alloc(HEADER_BYTES + <usize>MAX_TASKS * TASK_BYTES);
  store<u32>(vm.tasks, 0, 4);
  memory.copy(vm.tasks, body, HEADER_BYTES + <usize>count * TASK_BYTES);
  store<u32>(vm.tasks, 0, 4);
}

/** Completes the oldest open job of task `index`; true if it missed its deadline. */
export function jobDone(vm: Vm, index: i32, atCycles: u64): bool {
  const task = taskAt(vm.tasks, index);
  const jobs = load<u64>(task, 32);
  const deadline = load<u64>(task, 24) + jobs * load<u64>(task) + load<u64>(task, 16);
  store<u64>(task, jobs + 1, 32);
  vm.jobsDone++;
  if (atCycles <= deadline) return false;
  vm.deadlineMisses++;
  trace(TRACE_DEADLINE_MISS, vm.id, atCycles, <u64>index, cyclesToNs(atCycles - deadline));
  return true;
}

// ---- supply of the VM's windows -------------------------------------------------------

const starts = new StaticArray<u64>(64);
const ends = new StaticArray<u64>(64);
let windows: i32 = 0;
let frame: u64 = 0;
let supplyPerFrame: u64 = 0;

function loadWindows(vm: Vm): void {
  frame = frameLengthCycles();
  windows = windowsOf(vm.id, starts, ends);
  supplyPerFrame = 0;
  for (let i = 0; i < windows; i++) supplyPerFrame += ends[i] - starts[i];
}

/** Time from frame position `from` until the VM has received `work` cycles of supply. */
function timeToSupply(from: u64, work: u64): u64 {
  if (work == 0) return 0;
  const frames = (work - 1) / supplyPerFrame; // whole frames before the last partial one
  let remaining = work - frames * supplyPerFrame;
  let elapsed = frames * frame;
  // Walk windows from `from` (at most two frames) for the remainder.
  for (let lap: u64 = 0; lap < 2; lap++) {
    for (let i = 0; i < windows; i++) {
      const s = starts[i] + lap * frame;
      const e = ends[i] + lap * frame;
      if (e <= from) continue;
      const begin = s > from ? s : from;
      const available = e - begin;
      if (available >= remaining) return elapsed + begin + remaining - from;
      remaining -= available;
    }
  }
  return u64.MAX_VALUE; // unreachable: two laps always cover a frame's supply
}

/** Worst-case time to receive `work` cycles: the latest over starts at a window's end. */
function worstTimeToSupply(work: u64): u64 {
  let worst: u64 = 0;
  for (let i = 0; i < windows; i++) {
    const t = timeToSupply(ends[i] % frame, work);
    if (t > worst) worst = t;
  }
  return worst;
}

/** Most supply the VM can receive in an interval of `length` cycles: the max over starts at a window's start. */
function maxSupply(length: u64): u64 {
  let best: u64 = 0;
  for (let i = 0; i < windows; i++) {
    // supply in [s, s + length) = work done by then
    let lo: u64 = 0, hi = length;
    while (lo < hi) { // largest w with timeToSupply(s, w) <= length
      const mid = lo + (hi - lo + 1) / 2;
      if (timeToSupply(starts[i], mid) <= length) lo = mid; else hi = mid - 1;
    }
    if (lo > best) best = lo;
  }
  return best;
}

function ceilDiv(a: u64, b: u64): u64 {
  return (a + b - 1) / b;
}

/** Does every task meet its deadline with a blackout costing `lostSupply` cycles of supply? */
function schedulable(set: usize, lostSupply: u64): bool {
  const n = taskCount(set);
  for (let i = 0; i < n; i++) {
    const task = taskAt(set, i);
    const wcet = load<u64>(task, 8);
    const deadline = load<u64>(task, 16);
    let t = worstTimeToSupply(wcet + lostSupply);
    for (let iteration = 0; iteration < 1000; iteration++) {
      let demand = wcet + lostSupply;
      for (let j = 0; j < n; j++) {
        if (!higherPriority(set, j, i)) continue;
        const other = taskAt(set, j);
        demand += ceilDiv(t, load<u64>(other)) * load<u64>(other, 8);
      }
      const next = worstTimeToSupply(demand);
      if (next > deadline) return false;
      if (next == t) break;
      t = next;
    }
  }
  return true;
}

/** Deadline-monotonic: shorter relative deadline first, ties by index. */
function higherPriority(set: usize, j: i32, i: i32): bool {
  if (j == i) return false;
  const dj = load<u64>(taskAt(set, j), 16);
  const di = load<u64>(taskAt(set, i), 16);
  return dj < di || (dj == di && j < i);
}

/** The VM's slack in cycles; -1 if the task set misses deadlines even without a blackout. */
export function slackCycles(vm: Vm): i64 {
  loadWindows(vm);
  const set = vm.tasks;
  if (windows == 0 || supplyPerFrame == 0 || !schedulable(set, 0)) return -1;
  let shortest: u64 = u64.MAX_VALUE;
  for (let i = 0; i < taskCount(set); i++) {
    const d = load<u64>(taskAt(set, i), 16);
    if (d < shortest) shortest = d;
  }
  let lo: u64 = 0, hi = shortest; // a blackout as long as the shortest deadline can't fit
  while (lo < hi) {
    const mid = lo + (hi - lo + 1) / 2;
    if (schedulable(set, maxSupply(mid))) lo = mid; else hi = mid - 1;
  }
  return <i64>lo;
}
