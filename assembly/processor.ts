// One processor's run loop. It follows the partition schedule (schedule.ts): in a VM's
// window it runs that VM, taking interrupts at exact cycles and letting a vCPU in wfi
// sleep through idle time; in a gap, or when the owner cannot run, the processor idles.
// Window use, overruns and late interrupts are counted here, where they happen.
import { advance, now } from "./clock";
import { EXIT_RUNNING, IRQ_M_TIMER, IRQ_S_TIMER, MAX_VMS, TRACE_INTERRUPT, TRACE_VM_EXIT, TRACE_VM_SWITCH } from "./config";
import { flushConsole } from "./console";
import { raiseInterrupt } from "./dispatcher";
import { executeSlice } from "./hart";
import { interruptToTake, shouldWake, timerDueCycles } from "./irq";
import { interruptInput, TRACE_REPLAYING } from "./input-log";
import { replaySlice } from "./trace-replay";
import { serviceLinks } from "./link-inbox";
import { noteFirstRun } from "./failover";
import { slotAt } from "./schedule";
import { NO_VM, trace } from "./trace";
import { Vm, vmAtSlot, vmById } from "./vm";

/** Longest slice the hart runs without looking at interrupts (the timer bounds it too). */
const MAX_SLICE_CYCLES: u64 = 1 << 20;

/** The slot the processor is in (schedule.ts serial), and who ran in it. */
let slotSerial: u64 = u64.MAX_VALUE;
let slotStartCycles: u64 = 0;
let runningVm: u32 = NO_VM;
/** Where the owner's share of the current window ends (throttled pre-copy cuts it). */
let shareEndCycles: u64 = 0;

function idle(vm: Vm, cycles: u64): void {
  advance(cycles);
  vm.cycles += cycles;
  vm.lastRanCycles = now();
}

/** Delivers an interrupt; a timer interrupt that fired before this window began was late. */
function deliverInterrupt(vm: Vm, irq: u32): void {
  let latenessCycles: u64 = 0;
  if (irq == IRQ_S_TIMER || irq == IRQ_M_TIMER) {
    const due = timerDueCycles(vm);
    if (due < now()) latenessCycles = now() - due;
    if (due < slotStartCycles) {
      vm.lateInterrupts++;
      vm.latenessCycles += latenessCycles;
    }
  }
  trace(TRACE_INTERRUPT, vm.id, now(), 0x8000_0000 | irq, latenessCycles);
  interruptInput(vm, irq);
  raiseInterrupt(vm, irq);
}

/**
 * Trace-replay's destination: the reserved VM replays the log in its windows (its
 * instructions cost their cycles, as its execution would); with nothing left to replay
 * the rest of the window idles.
 */
function runReplay(vm: Vm, endCycles: u64): void {
  const executed = replaySlice(vm, endCycles - now());
  advance(executed);
  vm.lastRanCycles = now();
}

/** Runs `vm` until virtual time reaches `endCycles`, or it stops or yields. */
function runVm(vm: Vm, endCycles: u64): void {
  if (vm.traceMode == TRACE_REPLAYING) { runReplay(vm, endCycles); return; }
  while (vm.exit == EXIT_RUNNING && !vm.yielded && !vm.held && vm.awaitingPage == 0 && now() < endCycles) {
    const at = now();
    const irq = interruptToTake(vm, at);
    if (irq >= 0) {
      deliverInterrupt(vm, <u32>irq);
      if (vm.exit != EXIT_RUNNING) break;
    }
    const due = timerDueCycles(vm);
    if (vm.waiting) {
      // A VM asleep in wfi is running as far as downtime goes: it has the processor.
      if (vm.awaitingFirstRun) noteFirstRun(vm, at);
      if (shouldWake(vm, at)) { vm.waiting = false; continue; }
      // Asleep: nothing but the timer (or the board, between runs) can wake it.
      idle(vm, (due > at && due < endCycles ? due : endCycles) - at);
      continue;
    }
    let slice = endCycles - at;
    if (due > at && due - at < slice) slice = due - at;
    if (slice > MAX_SLICE_CYCLES) slice = MAX_SLICE_CYCLES;
    const executed = <u64>executeSlice(vm, <i32>slice);
    if (vm.awaitingFirstRun && executed > 0) noteFirstRun(vm, at); // the slice's first instruction ran at `at`
    advance(executed);
    vm.executed += executed;
    vm.cycles += executed;
    vm.lastRanCycles = now();
    if (vm.awaitingPage != 0 && vm.pageWaitSinceCycles == 0) vm.pageWaitSinceCycles = now(); // a demand fault: it waits from here
  }
  if (vm.exit != EXIT_RUNNING) {
    flushConsole(vm);
    trace(TRACE_VM_EXIT, vm.id, now(), vm.exit, vm.exitCode);
  }
}

function beginSlot(vm: Vm | null, slotEnd: u64): void {
  slotStartCycles = now();
  shareEndCycles = slotEnd;
  if (vm != null && vm.cpuSharePermille < 1000) {
    shareEndCycles = now() + ((slotEnd - now()) * <u64>vm.cpuSharePermille) / 1000;
  }
  const id = vm == null || vm.exit != EXIT_RUNNING ? NO_VM : vm.id;
  if (vm != null && id != NO_VM) {
    vm.windowsUsed++;
    vm.yielded = false;
  }
  if (id != runningVm) trace(TRACE_VM_SWITCH, id, now(), runningVm, id);
  runningVm = id;
}

/** A window that ends with its VM still busy (not asleep in wfi, not yielded) overran. */
function endWindow(vm: Vm): void {
  if (vm.exit == EXIT_RUNNING && !vm.waiting && !vm.yielded && !vm.held && vm.cpuSharePermille == 1000) vm.overruns++;
  vm.lastWindowEndCycles = now();
}

function runnable(vm: Vm | null): bool {
  return vm != null && vm.exit == EXIT_RUNNING && !vm.yielded && (!vm.held || vm.traceMode == TRACE_REPLAYING) && vm.awaitingPage == 0;
}

/** The processor hangs for `cycles`: time passes, nothing runs, nothing is sent or taken. */
export function stallProcessor(cycles: u64): u64 {
  advance(cycles);
  return cycles;
}

/**
 * Advances this processor by `cycles` of virtual time and returns them. A processor
 * whose VMs have all stopped idles: time passes for every processor of a board alike.
 */
export function runProcessor(cycles: u64): u64 {
  const start = now();
  const end = start + cycles;
  serviceLinks();
  while (now() < end) {
    const slot = slotAt(now());
    const owner = slot.vm >= 0 ? vmById(<u32>slot.vm) : null;
    const slotEnd = slot.endCycles;
    if (slot.serial != slotSerial) {
      slotSerial = slot.serial;
      beginSlot(owner, slotEnd);
      serviceLinks();
    }
    const stop = slotEnd < end ? slotEnd : end;
    if (runnable(owner)) {
      const vm = owner!;
      // A protected VM runs only while its lease lasts (failover.ts), to the cycle.
      let shareEnd = shareEndCycles < stop ? shareEndCycles : stop;
      if (vm.leaseEndCycles < shareEnd) shareEnd = vm.leaseEndCycles > now() ? vm.leaseEndCycles : now();
      if (vm.notBeforeCycles > now() && now() < shareEnd) advance((vm.notBeforeCycles < shareEnd ? vm.notBeforeCycles : shareEnd) - now());
      if (now() < shareEnd) runVm(vm, shareEnd);
    }
    if (now() < stop) advance(stop - now()); // gap, stopped owner, yield, spent share: the processor idles
    if (owner != null && now() >= slotEnd) endWindow(owner);
  }
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm != null) flushConsole(vm);
  }
  return now() - start;
}
