// The state records of a checkpoint: everything about a VM except its RAM, one record per
// component (vCPU, timer, interrupt lines, console, scheduling accounting). Each record
// type has three functions here — save (VM → stream), check (is a body legal? no side
// effects), apply (body → VM) — and the collector calls them through the switches below.
//
// Adding VM state (a new component, or new fields): docs/stream-format.md first (a new
// record type, or a new version for a changed layout), then a REC_ constant in stream.ts,
// an entry in STATE_RECORDS, and a case in each of stateRecordBodyBytes, saveStateRecord,
// checkStateRecord and applyStateRecord. A record in STATE_RECORDS is mandatory in every complete checkpoint.
import { CONSOLE_BUFFER_BYTES, EXIT_FAULT, KIND_PARAVIRTUAL, MODE_M, MODE_S, MODE_U } from "./config";
import { now } from "./clock";
import {
  beginRecord, endRecord, ERR_BAD_LENGTH, ERR_BAD_VALUE, REC_CONSOLE, REC_IRQ, REC_PMP, REC_SCHEDULE, REC_TASK_SET, REC_CHANNELS, REC_TIMER,
  REC_VCPU, refuse,
} from "./stream";
import { loadTaskSet, MAX_TASKS, TASK_SET_HEADER_BYTES, TASK_RECORD_BYTES, taskCount } from "./tasks";
import { applyChannels, channelsRecordBytes, checkChannels, CHANNELS_BAD_LENGTH, CHANNELS_OK, saveChannels } from "./channel-record";
import { PMP_STATE_BYTES, pmpState, Vm, VM_COUNTERS, vmCounters } from "./vm";

/** Mandatory state records of a complete checkpoint, in the order the collector writes them. */
export const STATE_RECORDS: StaticArray<u32> = [REC_VCPU, REC_TIMER, REC_IRQ, REC_CONSOLE, REC_SCHEDULE, REC_TASK_SET, REC_CHANNELS];

/**
 * Optional state records: written only when their state differs from the reset state
 * (optionalStateWanted), so streams of VMs that never touch it stay as they were; a reader
 * that does not know one skips it, and the state is then as after a reset.
 */
export const OPTIONAL_STATE_RECORDS: StaticArray<u32> = [REC_PMP];

/** Position of `type` in STATE_RECORDS, then OPTIONAL_STATE_RECORDS (its bit in a seen-mask), or -1. */
export function stateRecordIndex(type: u32): i32 {
  for (let i = 0; i < STATE_RECORDS.length; i++) if (unchecked(STATE_RECORDS[i]) == type) return i;
  for (let i = 0; i < OPTIONAL_STATE_RECORDS.length; i++) {
    if (unchecked(OPTIONAL_STATE_RECORDS[i]) == type) return STATE_RECORDS.length + i;
  }
  return -1;
}

/** Does the collector write optional state record `type` for `vm` now? */
export function optionalStateWanted(type: u32, vm: Vm): bool {
  if (type != REC_PMP) return false;
  for (let at: u32 = 0; at < PMP_STATE_BYTES; at += 4) if (load<u32>(pmpState(vm) + at) != 0) return true;
  return false;
}

/** Mask with one bit for every state record: what a complete checkpoint must have seen. */
export function allStateRecordsMask(): u32 {
  return (1 << <u32>STATE_RECORDS.length) - 1;
}

/** Body bytes saveStateRecord(type, vm) would write now (migration sizes its blackout with it). */
export function stateRecordBodyBytes(type: u32, vm: Vm): u32 {
  switch (type) {
    case REC_VCPU: return VCPU_BYTES;
    case REC_TIMER: return TIMER_BYTES;
    case REC_IRQ: return IRQ_BYTES;
    case REC_CONSOLE: return CONSOLE_HEADER_BYTES + vm.consoleBytes;
    case REC_SCHEDULE: return SCHEDULE_BYTES;
    case REC_TASK_SET: return taskSetRecordBytes(vm);
    case REC_CHANNELS: return channelsRecordBytes(vm.id);
    case REC_PMP: return PMP_STATE_BYTES;
  }
  return 0;
}

export function saveStateRecord(type: u32, vm: Vm): void {
  switch (type) {
    case REC_VCPU: saveVcpu(vm); break;
    case REC_TIMER: saveTimer(vm); break;
    case REC_IRQ: saveIrq(vm); break;
    case REC_CONSOLE: saveConsole(vm); break;
    case REC_SCHEDULE: saveSchedule(vm); break;
    case REC_TASK_SET: saveTaskSet(vm); break;
    case REC_CHANNELS: saveChannelRecord(vm); break;
    case REC_PMP: savePmp(vm); break;
  }
}

/** Is this body legal for a VM of `kind`? Refuses (and returns false) naming the field. */
export function checkStateRecord(type: u32, body: usize, length: u32, kind: u32): bool {
  switch (type) {
    case REC_VCPU: return checkVcpu(body, length, kind);
    case REC_TIMER: return checkLength(length, TIMER_BYTES);
    case REC_IRQ: return checkIrq(body, length);
    case REC_CONSOLE: return checkConsole(body, length);
    case REC_SCHEDULE: return checkSchedule(body, length);
    case REC_TASK_SET: return checkTaskSet(body, length);
    case REC_CHANNELS: return checkChannelRecord(body, length);
    case REC_PMP: return checkPmp(body, length);
  }
  return true;
}

export function applyStateRecord(type: u32, vm: Vm, body: usize): void {
  switch (type) {
    case REC_VCPU: applyVcpu(vm, body); break;
    case REC_TIMER: applyTimer(vm, body); break;
    case REC_IRQ: applyIrq(vm, body); break;
    case REC_CONSOLE: applyConsole(vm, body); break;
    case REC_SCHEDULE: applySchedule(vm, body); break;
    case REC_TASK_SET: applyTaskSet(vm, body); break;
    case REC_CHANNELS: applyChannels(vm.id, body); break;
    case REC_PMP: memory.copy(pmpState(vm), body, PMP_STATE_BYTES); break;
  }
}

/** Can the collector capture all of this VM's state? Yes, unless it has left (no RAM). */
export function captureSupported(vm: Vm): bool {
  return vm.ramBytes != 0;
}

function checkLength(length: u32, expected: u32): bool {
  return length == expected ? true : refuse(ERR_BAD_LENGTH, length, expected);
}

/** A field at `offset` in the body holds an illegal value. */
function badValue(offset: u32, value: u64): bool {
  return refuse(ERR_BAD_VALUE, offset, value);
}

// ---- VCPU: registers, pc, mode, CSRs, counters (256 bytes). ----

const VCPU_BYTES: u32 = 256;
const VCPU_PC: usize = 128;
const VCPU_MODE: usize = 132;
const VCPU_FLAGS: usize = 136;
const VCPU_EXIT: usize = 140;
const VCPU_EXIT_CODE: usize = 144;
const VCPU_MSTATUS: usize = 148;
const VCPU_MEDELEG: usize = 152;
const VCPU_MIDELEG: usize = 156;
const VCPU_MIE: usize = 160;
const VCPU_MTVEC: usize = 164;
const VCPU_MSCRATCH: usize = 168;
const VCPU_MEPC: usize = 172;
const VCPU_MCAUSE: usize = 176;
const VCPU_MTVAL: usize = 180;
const VCPU_MCOUNTEREN: usize = 184;
const VCPU_STVEC: usize = 188;
const VCPU_SSCRATCH: usize = 192;
const VCPU_SEPC: usize = 196;
const VCPU_SCAUSE: usize = 200;
const VCPU_STVAL: usize = 204;
const VCPU_SCOUNTEREN: usize = 208;
const VCPU_RESERVED: usize = 212;
const VCPU_EXECUTED: usize = 216;
const VCPU_TRAPPED: usize = 224;
const VCPU_CYCLES: usize = 232;
const VCPU_INSTRET_DELTA: usize = 240;
const VCPU_CYCLE_DELTA: usize = 248;
const VCPU_FLAG_WAITING: u32 = 1;

// What the CSR file can hold (csr.ts): the rules a restored value must meet.
const MSTATUS_LEGAL: u32 = 0x007E_19AA;
const MSTATUS_MPP_RESERVED: u32 = 2 << 11;
const MEDELEG_LEGAL_MACHINE: u32 = 0xB3FF;
/** The hypervisor's own delegation of a paravirtual VM (vm.ts resetVcpu) lies within this. */
const MEDELEG_LEGAL_PARAVIRTUAL: u32 = 0xFFFF;
const MIDELEG_LEGAL: u32 = 0x222;
const MIE_LEGAL: u32 = 0xAAA;

function saveVcpu(vm: Vm): void {
  const body = beginRecord(REC_VCPU, VCPU_BYTES);
  memory.copy(body, vm.regs, 128);
  store<u32>(body, 0); // x0: the register file's slot is never written, but say so
  store<u32>(body + VCPU_PC, vm.pc);
  store<u32>(body + VCPU_MODE, vm.mode);
  store<u32>(body + VCPU_FLAGS, vm.waiting ? VCPU_FLAG_WAITING : 0);
  store<u32>(body + VCPU_EXIT, vm.exit);
  store<u32>(body + VCPU_EXIT_CODE, vm.exitCode);
  store<u32>(body + VCPU_MSTATUS, vm.mstatus);
  store<u32>(body + VCPU_MEDELEG, vm.medeleg);
  store<u32>(body + VCPU_MIDELEG, vm.mideleg);
  store<u32>(body + VCPU_MIE, vm.mie);
  store<u32>(body + VCPU_MTVEC, vm.mtvec);
  store<u32>(body + VCPU_MSCRATCH, vm.mscratch);
  store<u32>(body + VCPU_MEPC, vm.mepc);
  store<u32>(body + VCPU_MCAUSE, vm.mcause);
  store<u32>(body + VCPU_MTVAL, vm.mtval);
  store<u32>(body + VCPU_MCOUNTEREN, vm.mcounteren);
  store<u32>(body + VCPU_STVEC, vm.stvec);
  store<u32>(body + VCPU_SSCRATCH, vm.sscratch);
  store<u32>(body + VCPU_SEPC, vm.sepc);
  store<u32>(body + VCPU_SCAUSE, vm.scause);
  store<u32>(body + VCPU_STVAL, vm.stval);
  store<u32>(body + VCPU_SCOUNTEREN, vm.scounteren);
  store<u32>(body + VCPU_RESERVED, 0);
  store<u64>(body + VCPU_EXECUTED, vm.executed);
  store<u64>(body + VCPU_TRAPPED, vm.trapped);
  store<u64>(body + VCPU_CYCLES, vm.cycles);
  store<u64>(body + VCPU_INSTRET_DELTA, vm.instretDelta);
  store<u64>(body + VCPU_CYCLE_DELTA, vm.cycleDelta);
  endRecord();
}

function checkVcpu(body: usize, length: u32, kind: u32): bool {
  if (!checkLength(length, VCPU_BYTES)) return false;
  if (load<u32>(body) != 0) return badValue(0, load<u32>(body));
  const mode = load<u32>(body + VCPU_MODE);
  const modeLegal = mode == MODE_U || mode == MODE_S || (mode == MODE_M && kind != KIND_PARAVIRTUAL);
  if (!modeLegal) return badValue(<u32>VCPU_MODE, mode);
  if ((load<u32>(body + VCPU_FLAGS) & ~VCPU_FLAG_WAITING) != 0) return badValue(<u32>VCPU_FLAGS, load<u32>(body + VCPU_FLAGS));
  if (load<u32>(body + VCPU_EXIT) > EXIT_FAULT) return badValue(<u32>VCPU_EXIT, load<u32>(body + VCPU_EXIT));
  return checkVcpuCsrs(body, kind) && checkVcpuCounters(body);
}

function checkVcpuCsrs(body: usize, kind: u32): bool {
  const mstatus = load<u32>(body + VCPU_MSTATUS);
  if ((mstatus & ~MSTATUS_LEGAL) != 0 || (mstatus & (3 << 11)) == MSTATUS_MPP_RESERVED) return badValue(<u32>VCPU_MSTATUS, mstatus);
  const medelegLegal = kind == KIND_PARAVIRTUAL ? MEDELEG_LEGAL_PARAVIRTUAL : MEDELEG_LEGAL_MACHINE;
  if (!within(body, VCPU_MEDELEG, medelegLegal)) return false;
  if (!within(body, VCPU_MIDELEG, MIDELEG_LEGAL)) return false;
  if (!within(body, VCPU_MIE, MIE_LEGAL)) return false;
  if ((load<u32>(body + VCPU_MTVEC) & 3) >= 2) return badValue(<u32>VCPU_MTVEC, load<u32>(body + VCPU_MTVEC));
  if ((load<u32>(body + VCPU_STVEC) & 3) >= 2) return badValue(<u32>VCPU_STVEC, load<u32>(body + VCPU_STVEC));
  if (!within(body, VCPU_MEPC, ~1)) return false; // IALIGN = 16: bit 1 may be set (RV32C)
  if (!within(body, VCPU_SEPC, ~1)) return false;
  return within(body, VCPU_RESERVED, 0);
}

function checkVcpuCounters(body: usize): bool {
  const executed = load<u64>(body + VCPU_EXECUTED);
  const trapped = load<u64>(body + VCPU_TRAPPED);
  if (trapped > executed) return badValue(<u32>VCPU_TRAPPED, trapped);
  return true;
}

/** The u32 at `offset` has no bits outside `legal`. */
function within(body: usize, offset: usize, legal: u32): bool {
  const value = load<u32>(body + offset);
  return (value & ~legal) == 0 ? true : badValue(<u32>offset, value);
}

function applyVcpu(vm: Vm, body: usize): void {
  memory.copy(vm.regs, body, 128);
  store<u32>(vm.regs, 0);
  vm.pc = load<u32>(body + VCPU_PC);
  vm.mode = load<u32>(body + VCPU_MODE);
  vm.waiting = (load<u32>(body + VCPU_FLAGS) & VCPU_FLAG_WAITING) != 0;
  vm.exit = load<u32>(body + VCPU_EXIT);
  vm.exitCode = load<u32>(body + VCPU_EXIT_CODE);
  vm.mstatus = load<u32>(body + VCPU_MSTATUS);
  vm.medeleg = load<u32>(body + VCPU_MEDELEG);
  vm.mideleg = load<u32>(body + VCPU_MIDELEG);
  vm.mie = load<u32>(body + VCPU_MIE);
  vm.mtvec = load<u32>(body + VCPU_MTVEC);
  vm.mscratch = load<u32>(body + VCPU_MSCRATCH);
  vm.mepc = load<u32>(body + VCPU_MEPC);
  vm.mcause = load<u32>(body + VCPU_MCAUSE);
  vm.mtval = load<u32>(body + VCPU_MTVAL);
  vm.mcounteren = load<u32>(body + VCPU_MCOUNTEREN);
  vm.stvec = load<u32>(body + VCPU_STVEC);
  vm.sscratch = load<u32>(body + VCPU_SSCRATCH);
  vm.sepc = load<u32>(body + VCPU_SEPC);
  vm.scause = load<u32>(body + VCPU_SCAUSE);
  vm.stval = load<u32>(body + VCPU_STVAL);
  vm.scounteren = load<u32>(body + VCPU_SCOUNTEREN);
  vm.executed = load<u64>(body + VCPU_EXECUTED);
  // The rates trace-replay's admission measures (instructions, inputs) start again here.
  vm.meterCycles = now();
  vm.meterExecuted = vm.executed;
  vm.inputLogBytes = 0;
  vm.trapped = load<u64>(body + VCPU_TRAPPED);
  vm.cycles = load<u64>(body + VCPU_CYCLES);
  vm.instretDelta = load<u64>(body + VCPU_INSTRET_DELTA);
  vm.cycleDelta = load<u64>(body + VCPU_CYCLE_DELTA);
  // Captured between runs, never inside a slice.
  vm.sliceExecuted = 0;
  vm.reservation = 0; // an LR/SC reservation is not carried (docs/stream-format.md)
  memory.fill(pmpState(vm), 0, PMP_STATE_BYTES); // reset, unless a PMP record follows
}

// ---- PMP (optional): pmpcfg0..3, then pmpaddr0..15, as csr.ts keeps them (80 bytes). ----

function savePmp(vm: Vm): void {
  const body = beginRecord(REC_PMP, PMP_STATE_BYTES);
  memory.copy(body, pmpState(vm), PMP_STATE_BYTES);
  endRecord();
}

/** Each cfg byte as csr.ts can hold it: reserved bits 6:5 clear, never W without R. */
function checkPmp(body: usize, length: u32): bool {
  if (!checkLength(length, PMP_STATE_BYTES)) return false;
  for (let i: u32 = 0; i < 16; i++) {
    const cfg: u32 = load<u8>(body + i);
    if ((cfg & 0x60) != 0 || (cfg & 3) == 2) return badValue(i & ~3, load<u32>(body + (i & ~3)));
  }
  return true;
}

// ---- TIMER: compare values in timer ticks (16 bytes). Any value is legal. ----

const TIMER_BYTES: u32 = 16;

function saveTimer(vm: Vm): void {
  const body = beginRecord(REC_TIMER, TIMER_BYTES);
  store<u64>(body, vm.mtimecmp);
  store<u64>(body, vm.stimecmp, 8);
  endRecord();
}

function applyTimer(vm: Vm, body: usize): void {
  vm.mtimecmp = load<u64>(body);
  vm.stimecmp = load<u64>(body, 8);
}

// ---- IRQ: software-pending bits and the external line (8 bytes). ----

const IRQ_BYTES: u32 = 8;
/** SSIP, MSIP, STIP, SEIP: the bits mipSoft can hold (csr.ts, platform.ts). */
const MIP_SOFT_LEGAL: u32 = 0x22A;

function saveIrq(vm: Vm): void {
  const body = beginRecord(REC_IRQ, IRQ_BYTES);
  store<u32>(body, vm.mipSoft);
  store<u32>(body, vm.externalLevel != 0 ? 1 : 0, 4);
  endRecord();
}

function checkIrq(body: usize, length: u32): bool {
  if (!checkLength(length, IRQ_BYTES)) return false;
  if (!within(body, 0, MIP_SOFT_LEGAL)) return false;
  return within(body, 4, 1);
}

function applyIrq(vm: Vm, body: usize): void {
  vm.mipSoft = load<u32>(body);
  vm.externalLevel = load<u32>(body, 4);
}

// ---- CONSOLE: bytes buffered for the board (8 + n bytes). ----

const CONSOLE_HEADER_BYTES: u32 = 8;

function saveConsole(vm: Vm): void {
  const body = beginRecord(REC_CONSOLE, CONSOLE_HEADER_BYTES + vm.consoleBytes);
  store<u32>(body, vm.consoleBytes);
  store<u32>(body, vm.uartLineControl, 4);
  memory.copy(body + CONSOLE_HEADER_BYTES, vm.consoleBuffer, vm.consoleBytes);
  endRecord();
}

function checkConsole(body: usize, length: u32): bool {
  if (length < CONSOLE_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, CONSOLE_HEADER_BYTES);
  const bytes = load<u32>(body);
  if (bytes > CONSOLE_BUFFER_BYTES) return badValue(0, bytes);
  if (!checkLength(length, CONSOLE_HEADER_BYTES + bytes)) return false;
  return within(body, 4, 0xFF);
}

function applyConsole(vm: Vm, body: usize): void {
  vm.uartLineControl = load<u32>(body, 4);
  vm.consoleBytes = load<u32>(body);
  memory.copy(vm.consoleBuffer, body + CONSOLE_HEADER_BYTES, vm.consoleBytes);
}

// ---- SCHEDULE: the VM's partition accounting and vmStat counters (16 + 8 · VM_COUNTERS bytes). ----

const SCHEDULE_BYTES: u32 = 16 + (VM_COUNTERS << 3);
const SCHEDULE_FLAG_YIELDED: u32 = 1;

function saveSchedule(vm: Vm): void {
  const body = beginRecord(REC_SCHEDULE, SCHEDULE_BYTES);
  store<u32>(body, vm.yielded ? SCHEDULE_FLAG_YIELDED : 0);
  store<u32>(body, 0, 4);
  store<u64>(body, vm.lastWindowEndCycles, 8);
  memory.copy(body + 16, vmCounters(vm), <usize>VM_COUNTERS << 3);
  endRecord();
}

function checkSchedule(body: usize, length: u32): bool {
  if (!checkLength(length, SCHEDULE_BYTES)) return false;
  if (!within(body, 0, SCHEDULE_FLAG_YIELDED)) return false;
  return within(body, 4, 0);
}

function applySchedule(vm: Vm, body: usize): void {
  vm.yielded = (load<u32>(body) & SCHEDULE_FLAG_YIELDED) != 0;
  vm.lastWindowEndCycles = load<u64>(body, 8);
  memory.copy(vmCounters(vm), body + 16, <usize>VM_COUNTERS << 3);
}

// ---- TASK_SET: the task set the guest reported and its deadline accounting (8 + 40·n bytes). ----
// Layout as tasks.ts keeps it: u32 count, u32 reserved, then per task u64 period, wcet,
// relative deadline (cycles), u64 release origin (cycle), u64 jobs completed.

function taskSetRecordBytes(vm: Vm): u32 {
  return TASK_SET_HEADER_BYTES + <u32>taskCount(vm.tasks) * TASK_RECORD_BYTES;
}

function saveTaskSet(vm: Vm): void {
  const bytes = taskSetRecordBytes(vm);
  const body = beginRecord(REC_TASK_SET, bytes);
  store<u32>(body, <u32>taskCount(vm.tasks));
  store<u32>(body, 0, 4);
  if (bytes > TASK_SET_HEADER_BYTES) memory.copy(body + TASK_SET_HEADER_BYTES, vm.tasks + TASK_SET_HEADER_BYTES, bytes - TASK_SET_HEADER_BYTES);
  endRecord();
}

function checkTaskSet(body: usize, length: u32): bool {
  if (length < TASK_SET_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, TASK_SET_HEADER_BYTES);
  const count = load<u32>(body);
  if (count > <u32>MAX_TASKS) return badValue(0, count);
  if (!checkLength(length, TASK_SET_HEADER_BYTES + count * TASK_RECORD_BYTES)) return false;
  if (!within(body, 4, 0)) return false;
  for (let i: u32 = 0; i < count; i++) {
    const task = body + TASK_SET_HEADER_BYTES + <usize>i * TASK_RECORD_BYTES;
    const period = load<u64>(task), wcet = load<u64>(task, 8), deadline = load<u64>(task, 16);
    const at = TASK_SET_HEADER_BYTES + i * TASK_RECORD_BYTES; // the task's period; its wcet 8 on, its deadline 16 on
    if (period == 0) return badValue(at, period);
    if (wcet == 0 || wcet > deadline) return badValue(at + 8, wcet);
    if (deadline > period) return badValue(at + 16, deadline);
  }
  return true;
}

function applyTaskSet(vm: Vm, body: usize): void {
  loadTaskSet(vm, body);
}

// ---- CHANNELS: the VM's channel ports and their state (channel.ts owns the layout). ----

function saveChannelRecord(vm: Vm): void {
  const body = beginRecord(REC_CHANNELS, channelsRecordBytes(vm.id));
  saveChannels(vm.id, body);
  endRecord();
}

function checkChannelRecord(body: usize, length: u32): bool {
  const verdict = checkChannels(body, length);
  if (verdict == CHANNELS_OK) return true;
  if (verdict == CHANNELS_BAD_LENGTH) return refuse(ERR_BAD_LENGTH, length, 0);
  return badValue(<u32>verdict, load<u32>(body + <usize>verdict));
}
