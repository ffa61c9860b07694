// One virtual machine: its vCPU (registers, privilege mode, CSRs), its RAM and the
// bookkeeping the rest of the core hangs on it. Everything lives in the core's linear
// memory; the host sees none of it except through the exports in index.ts.
import {
  CONSOLE_BUFFER_BYTES, EXIT_RUNNING, KIND_PARAVIRTUAL, MAX_VMS, MODE_M, MODE_S, VM_HANDLE_SLOTS,
  VM_STAT_METRIC_REPORTS,
  PAGE_SHIFT, IRQ_S_SOFT, IRQ_S_TIMER, IRQ_S_EXT,
} from "./config";
import { newDecodeCache, resetDecodeCache } from "./decode-cache";
import { now } from "./clock";

/** Register file: x0..x31, then a sink (index 32) that decoded writes to x0 go to. */
export const REG_SLOTS: u32 = 33;
/** Where the register file of the vCPU in the hart's loop lives while it runs (hart.ts). */
export const RUNNING_REGS: usize = memory.data(REG_SLOTS << 2, 16);
/** Offset in bytes of the x0 sink in the register file. */
export const REG_SINK_OFFSET: u32 = 32 << 2;

@unmanaged
export class Vm {
  id: u32;
  kind: u32;
  /** Core address of the register file (REG_SLOTS x i32). */
  regs: usize;
  pc: u32;
  /** Privilege mode: MODE_U, MODE_S or MODE_M. */
  mode: u32;
  /** Core address of guest RAM (guest-physical RAM_BASE maps here). */
  ram: usize;
  ramBytes: u32;
  /** One byte per page; every store sets it to 0xFF, consumers clear their own bit. */
  dirty: usize;
  /** Decode cache (decode-cache.ts): the VM's decoded blocks; it moves when it grows. */
  decode: usize;
  exit: u32;
  exitCode: u32;
  /** Halted in wfi until an interrupt is pending. */
  waiting: bool;
  /** Instructions executed (each costs one cycle), including those that trapped. */
  executed: u64;
  /** Instructions that trapped instead of retiring. */
  trapped: u64;
  /** Instructions of the running slice before the one now in the system slow path. */
  sliceExecuted: u64;
  /** Cycles this VM consumed: executed instructions plus time it idled in wfi. */
  cycles: u64;
  /** Written into minstret / mcycle by the guest: reads are offset by these. */
  instretDelta: u64;
  cycleDelta: u64;
  /** Guest address of the HTIF tohost word, 0 when the image has none. */
  tohost: u32;
  // Machine-level CSRs (for paravirtual VMs these belong to the hypervisor).
  mstatus: u32;
  medeleg: u32;
  mideleg: u32;
  mie: u32;
  /** mip bits written by software (SSIP, STIP, SEIP, MSIP); timer and external bits are computed. */
  mipSoft: u32;
  mtvec: u32;
  mscratch: u32;
  mepc: u32;
  mcause: u32;
  mtval: u32;
  mcounteren: u32;
  // Supervisor-level CSRs.
  stvec: u32;
  sscratch: u32;
  sepc: u32;
  scause: u32;
  stval: u32;
  scounteren: u32;
  /** Timer compare values in timer ticks: CLINT mtimecmp (machine), SBI set_timer (paravirtual). */
  mtimecmp: u64;
  stimecmp: u64;
  /** Level of the external interrupt line the board drives. */
  externalLevel: u32;
  consoleBuffer: usize;
  consoleBytes: u32;
  /** The UART's line control register (machine VMs): bit 7 (DLAB) maps the divisor latch over THR. */
  uartLineControl: u32;
  // Partition scheduling.
  /** Gave up the rest of its window (Ferry yield hypercall). */
  yielded: bool;
  /** Absolute cycle the VM's last window ended. */
  lastWindowEndCycles: u64;
  /** Task set the guest reported (tasks.ts), 0 if none. */
  tasks: usize;
  // Counters (vmStat 0..13, in this order; VM_COUNTERS): keep them consecutive.
  windowsUsed: u64;
  overruns: u64;
  lateInterrupts: u64;
  latenessCycles: u64;
  deadlineMisses: u64;
  jobsDone: u64;
  slackNs: u64;
  hypercalls: u64;
  framesSent: u64;
  framesReceived: u64;
  framesDropped: u64;
  /** The guest's own figure of merit (Ferry report_metric, e.g. a control error), last and largest magnitude. */
  metricLast: u64;
  metricPeak: u64;
  metricReports: u64;
  // Migration (migration.ts, vm-lifecycle.ts).
  /** Not scheduled: reserved for an incoming migration, or stopped in its blackout. */
  held: bool;
  /** Share of each window the VM may use, in permille (throttled pre-copy). */
  cpuSharePermille: u32;
  /** A protection's copy (failover.ts): held, its channel ports asleep, until it takes over. */
  copy: bool;
  /** A protected VM runs only until its lease ends (failover.ts); u64 max for every other VM. */
  leaseEndCycles: u64;
  /** Restored by a migration: may run from this cycle on. */
  notBeforeCycles: u64;
  /** Restored by a migration and not yet run: its first instruction ends the downtime. */
  awaitingFirstRun: bool;
  /** Post-copy: one byte per page, non-zero while the page has not arrived; 0 when all RAM is here. */
  absent: usize;
  /** Post-copy: 1 + the page the VM waits for, 0 if none. */
  awaitingPage: u32;
  /** The cycle up to which the VM last had the processor (ran, or slept in wfi in its window). */
  lastRanCycles: u64;
  /** Post-copy: since when it waits for the page it is waiting for, and how long it waited for pages in all. */
  pageWaitSinceCycles: u64;
  pageWaitCycles: u64;
  // Its place in a checkpoint chain (checkpoint-chain.ts).
  chainKnown: bool;
  chainId: u32;
  chainSequence: u32;
  /** The same for replication's epochs (replication.ts). */
  replicaChainKnown: bool;
  replicaChainId: u32;
  replicaChainSequence: u32;
  // RV32A and the machine-mode CSRs firmware probes (atomic.ts, csr.ts).
  /** LR/SC reservation: guest address of the reserved word, 0 for none (RAM never starts at 0). */
  reservation: u32;
  /** The boot image (vm-image.ts): what vmLoad wrote before the first instruction, where it was booted; 0 elsewhere. */
  image: usize;
  imageBytes: u32;
  imageCapacity: u32;
  // Trace-replay (input-log.ts, trace-replay.ts).
  /** TRACE_OFF, TRACE_LOGGING (its inputs go into the log) or TRACE_REPLAYING (they come from it). */
  traceMode: u32;
  /** Bytes the VM's inputs would have cost as log entries since meterCycles (the log rate at admission). */
  inputLogBytes: u64;
  /** Where the rate meter of the VM's inputs and instructions starts: the cycle, and vm.executed then. */
  meterCycles: u64;
  meterExecuted: u64;
  /** The image grew past the VM's RAM (loads written over loads): it cannot be replayed. */
  imageOverflow: bool;
  bootPc: u32;
  bootA0: u32;
  bootA1: u32;
  /** What the VM can afford to be down, ns, as the board configured it (0: its task set's slack); a migration carries it. */
  affordableNs: u64;
  /** The board pinned it to where it runs: the load policies never move it (a migration carries this). */
  pinned: bool;
  /** PMP CSRs (csr.ts), consecutive: pmpcfg0..3, then pmpaddr0..15 (PMP_STATE_BYTES). */
  pmpcfg0: u32;
  pmpcfg1: u32;
  pmpcfg2: u32;
  pmpcfg3: u32;
  pmpaddr0: u32;
  pmpaddr1: u32;
  pmpaddr2: u32;
  pmpaddr3: u32;
  pmpaddr4: u32;
  pmpaddr5: u32;
  pmpaddr6: u32;
  pmpaddr7: u32;
  pmpaddr8: u32;
  pmpaddr9: u32;
  pmpaddr10: u32;
  pmpaddr11: u32;
  pmpaddr12: u32;
  pmpaddr13: u32;
  pmpaddr14: u32;
  pmpaddr15: u32;
}

/** Bytes of the PMP CSRs in a Vm, from pmpcfg0 on: 4 pmpcfg and 16 pmpaddr words. */
export const PMP_STATE_BYTES: u32 = 80;

export function pmpState(vm: Vm): usize {
  return changetype<usize>(vm) + offsetof<Vm>("pmpcfg0");
}

/** The per-VM counters vmStat reports: consecutive u64 fields from windowsUsed to metricReports. */
export const VM_COUNTERS: u32 = VM_STAT_METRIC_REPORTS + 1;

export function vmCounters(vm: Vm): usize {
  return changetype<usize>(vm) + offsetof<Vm>("windowsUsed");
}

// The VM table: MAX_VMS slots, reused once a VM is released. A VM's handle (vm.id, what
// the host and the guest see) is its slot plus VM_HANDLE_SLOTS times the slot's
// generation, which grows with every reuse: a handle of a released VM names nobody,
// never the next VM in its slot.
const vmTable = memory.data(MAX_VMS * 4);
const generations = new StaticArray<u32>(MAX_VMS);
/** Changes whenever a VM is created or released: the default schedule follows it. */
let vmSetGeneration: u32 = 0;

export function noteVmSetChanged(): void {
  vmSetGeneration++;
}

export function vmSetVersion(): u32 {
  return vmSetGeneration;
}

/** The VM in table slot `slot` (0 .. MAX_VMS-1), or null if the slot is free. */
export function vmAtSlot(slot: i32): Vm | null {
  const ptr = load<usize>(vmTable + (<usize>slot << 2));
  return ptr == 0 ? null : changetype<Vm>(ptr);
}

/** The VM with handle `id`, or null: no such slot, a free slot, or a handle of an earlier VM in it. */
export function vmById(id: u32): Vm | null {
  const slot = id % VM_HANDLE_SLOTS;
  if (slot >= <u32>MAX_VMS) return null;
  const vm = vmAtSlot(<i32>slot);
  return vm != null && vm.id == id ? vm : null;
}

/** VM slots in use. */
export function vmsInUse(): u32 {
  let n: u32 = 0;
  for (let slot = 0; slot < MAX_VMS; slot++) if (vmAtSlot(slot) != null) n++;
  return n;
}

/** Is there a free slot for another VM? */
export function vmTableHasRoom(): bool {
  for (let slot = 0; slot < MAX_VMS; slot++) if (vmAtSlot(slot) == null) return true;
  return false;
}

function allocZeroed(bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.fill(ptr, 0, bytes);
  return ptr;
}

/** Creates a VM with zeroed RAM in the lowest free slot; null when every slot is taken. */
export function createVm(kind: u32, ramBytes: u32): Vm | null {
  let slot = 0;
  while (slot < MAX_VMS && vmAtSlot(slot) != null) slot++;
  if (slot == MAX_VMS) return null;
  const vm = changetype<Vm>(allocZeroed(offsetof<Vm>()));
  vm.id = <u32>slot + VM_HANDLE_SLOTS * unchecked(generations[slot]);
  vm.kind = kind;
  vm.regs = allocZeroed(REG_SLOTS << 2);
  vm.ram = allocZeroed(ramBytes);
  vm.ramBytes = ramBytes;
  vm.dirty = allocZeroed(ramBytes >> PAGE_SHIFT);
  vm.decode = newDecodeCache(ramBytes >> PAGE_SHIFT);
  vm.consoleBuffer = allocZeroed(CONSOLE_BUFFER_BYTES);
  vm.slackNs = u64.MAX_VALUE;
  vm.leaseEndCycles = u64.MAX_VALUE;
  vm.cpuSharePermille = 1000;
  vm.meterCycles = now();
  resetVcpu(vm);
  store<usize>(vmTable + (<usize>slot << 2), changetype<usize>(vm));
  noteVmSetChanged();
  return vm;
}

/** Gives the VM's slot and every byte it holds back; its handle names nobody from now on. */
export function freeVm(vm: Vm): void {
  const slot = vm.id % VM_HANDLE_SLOTS;
  store<usize>(vmTable + (<usize>slot << 2), 0);
  unchecked(generations[slot]++);
  if (vm.ram != 0) heap.free(vm.ram);
  if (vm.dirty != 0) heap.free(vm.dirty);
  if (vm.decode != 0) heap.free(vm.decode);
  if (vm.absent != 0) heap.free(vm.absent);
  if (vm.tasks != 0) heap.free(vm.tasks);
  if (vm.image != 0) heap.free(vm.image);
  heap.free(vm.regs);
  heap.free(vm.consoleBuffer);
  heap.free(changetype<usize>(vm));
  noteVmSetChanged();
}

/** Architectural reset state of the vCPU, for the VM's kind. */
export function resetVcpu(vm: Vm): void {
  memory.fill(vm.regs, 0, REG_SLOTS << 2);
  vm.exit = EXIT_RUNNING;
  vm.waiting = false;
  vm.mtimecmp = u64.MAX_VALUE;
  vm.stimecmp = u64.MAX_VALUE;
  vm.mstatus = 0;
  vm.mie = 0;
  vm.mipSoft = 0;
  vm.reservation = 0;
  memory.fill(pmpState(vm), 0, PMP_STATE_BYTES);
  if (vm.kind == KIND_PARAVIRTUAL) {
    // The hypervisor plays M-mode firmware: it delegates every exception except ecall
    // from S (the hypercall) and every supervisor interrupt to the guest, and lets the
    // guest read the counters, as SBI firmware does.
    vm.mode = MODE_S;
    vm.medeleg = 0xF1FF;
    vm.mideleg = (1 << IRQ_S_SOFT) | (1 << IRQ_S_TIMER) | (1 << IRQ_S_EXT);
    vm.mcounteren = 7;
  } else {
    vm.mode = MODE_M;
    vm.medeleg = 0;
    vm.mideleg = 0;
    vm.mcounteren = 0;
  }
}

/** Drops every decoded block of the VM (its code was written behind the hart's back). */
export function flushDecodeCache(vm: Vm): void {
  resetDecodeCache(vm.decode);
}

@inline export function getReg(vm: Vm, r: u32): u32 {
  return load<u32>(vm.regs + (<usize>r << 2));
}

@inline export function setReg(vm: Vm, r: u32, value: u32): void {
  if (r != 0) store<u32>(vm.regs + (<usize>r << 2), value);
}

/** VMs in the table (running, stopped, held or reserved). */
export function vmCount(): u32 {
  let count: u32 = 0;
  for (let slot = 0; slot < MAX_VMS; slot++) if (vmAtSlot(slot) != null) count++;
  return count;
}
