// Ferry's own hypercall extension (EID 0x0A000000, the SBI firmware-specific range):
// information, task-set reports and job completions for the VM scheduler, yield, and
// channels. docs/hypercalls.md is the ABI.
import { cyclesToNs, getClockHz, getProcessorId, now } from "./clock";
import { SBI_ERR_FAILED, SBI_ERR_INVALID_ADDRESS, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, SBI_SUCCESS, TIMEBASE_HZ } from "./config";
import { channelReceive, channelSend } from "./channel";
import { BUFFER_ABSENT, guestBuffer, noteWritten } from "./guestmem";
import { jobDone, MAX_TASKS, recordTaskSet, slackCycles, taskCount } from "./tasks";
import { getReg, setReg, Vm } from "./vm";

export const EXT_FERRY: u32 = 0x0A00_0000;

const A0: u32 = 10, A1: u32 = 11, A2: u32 = 12;
const TASK_WORDS: u32 = 3;

function ret(vm: Vm, error: i32, value: u32): void {
  setReg(vm, A0, <u32>error);
  setReg(vm, A1, value);
}

function getInfo(vm: Vm): void {
  const what = getReg(vm, A0);
  if (what == 0) ret(vm, SBI_SUCCESS, vm.id);
  else if (what == 1) ret(vm, SBI_SUCCESS, getProcessorId());
  else if (what == 2) ret(vm, SBI_SUCCESS, <u32>getClockHz());
  else if (what == 3) ret(vm, SBI_SUCCESS, <u32>TIMEBASE_HZ);
  else ret(vm, SBI_ERR_INVALID_PARAM, 0);
}

const periods = new StaticArray<u32>(MAX_TASKS);
const wcets = new StaticArray<u32>(MAX_TASKS);
const deadlines = new StaticArray<u32>(MAX_TASKS);

function reportTaskSet(vm: Vm): void {
  const count = getReg(vm, A1);
  if (count == 0 || count > <u32>MAX_TASKS) { ret(vm, SBI_ERR_INVALID_PARAM, 0); return; }
  const offset = guestBuffer(vm, getReg(vm, A0), count * TASK_WORDS * 4);
  if (offset == BUFFER_ABSENT) return;
  if (offset < 0) { ret(vm, SBI_ERR_INVALID_ADDRESS, 0); return; }
  const base = vm.ram + <usize>offset;
  for (let i: u32 = 0; i < count; i++) {
    const task = base + <usize>(i * TASK_WORDS * 4);
    const period = load<u32>(task), wcet = load<u32>(task, 4), deadline = load<u32>(task, 8);
    if (wcet == 0 || wcet > deadline || deadline > period) { ret(vm, SBI_ERR_INVALID_PARAM, 0); return; }
    periods[i] = period;
    wcets[i] = wcet;
    deadlines[i] = deadline;
  }
  recordTaskSet(vm, periods, wcets, deadlines, <i32>count);
  const slack = slackCycles(vm);
  vm.slackNs = slack < 0 ? 0 : cyclesToNs(<u64>slack);
  ret(vm, slack < 0 ? SBI_ERR_FAILED : SBI_SUCCESS, <u32>(vm.slackNs / 1000));
}

function reportJobDone(vm: Vm): void {
  const task = getReg(vm, A0);
  if (task >= <u32>taskCount(vm.tasks)) { ret(vm, SBI_ERR_INVALID_PARAM, 0); return; }
  ret(vm, SBI_SUCCESS, jobDone(vm, <i32>task, now() + vm.sliceExecuted) ? 1 : 0);
}

function send(vm: Vm): void {
  const bytes = getReg(vm, A2);
  const offset = guestBuffer(vm, getReg(vm, A1), bytes);
  if (offset == BUFFER_ABSENT) return;
  if (offset < 0) { ret(vm, SBI_ERR_INVALID_ADDRESS, 0); return; }
  ret(vm, channelSend(vm, getReg(vm, A0), vm.ram + <usize>offset, bytes), 0);
}

function receive(vm: Vm): void {
  const capacity = getReg(vm, A2);
  const offset = guestBuffer(vm, getReg(vm, A1), capacity);
  if (offset == BUFFER_ABSENT) return;
  if (offset < 0) { ret(vm, SBI_ERR_INVALID_ADDRESS, 0); return; }
  const result = channelReceive(vm, getReg(vm, A0), vm.ram + <usize>offset, capacity);
  if (result < 0) { ret(vm, <i32>result, 0); return; }
  noteWritten(vm, <u32>offset, <u32>result); // a write into guest RAM: dirty pages, stale decodes
  ret(vm, SBI_SUCCESS, <u32>result);
}

/** The guest's own figure of merit, a signed value (e.g. a control error in milli-units). */
function reportMetric(vm: Vm): void {
  const value = <i32>getReg(vm, A0);
  const magnitude = <u64>(value < 0 ? -<i64>value : <i64>value);
  vm.metricLast = <u64><i64>value;
  if (magnitude > vm.metricPeak) vm.metricPeak = magnitude;
  vm.metricReports++;
  ret(vm, SBI_SUCCESS, 0);
}

/** The guest memory Ferry function `fid` would touch, as (address << 32 | bytes); 0 if none (see hypercallBuffer). */
export function ferryHypercallBuffer(vm: Vm, fid: u32): u64 {
  if (fid == 1) return (<u64>getReg(vm, A0) << 32) | <u64>(getReg(vm, A1) * TASK_WORDS * 4);
  if (fid == 4 || fid == 5) return (<u64>getReg(vm, A1) << 32) | <u64>getReg(vm, A2);
  return 0;
}

export function handleFerryHypercall(vm: Vm, fid: u32): void {
  switch (fid) {
    case 0: getInfo(vm); return;
    case 1: reportTaskSet(vm); return;
    case 2: reportJobDone(vm); return;
    case 3: vm.yielded = true; ret(vm, SBI_SUCCESS, 0); return;
    case 4: send(vm); return;
    case 5: receive(vm); return;
    case 6: reportMetric(vm); return;
  }
  ret(vm, SBI_ERR_NOT_SUPPORTED, 0);
}
