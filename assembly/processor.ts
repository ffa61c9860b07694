// One processor's run loop: advances virtual time, takes interrupts at exact cycles,
// lets a waiting vCPU sleep through idle time, and hands slices to the hart.
import { advance, now } from "./clock";
import { EXIT_RUNNING } from "./config";
import { flushConsole } from "./console";
import { raiseInterrupt } from "./dispatcher";
import { executeSlice } from "./hart";
import { interruptToTake, shouldWake, timerDueCycles } from "./irq";
import { Vm, vmById, vmCountNow } from "./vm";

/** Longest slice the hart runs without looking at interrupts (the timer bounds it too). */
const MAX_SLICE_CYCLES: u64 = 1 << 20;

function idle(vm: Vm, cycles: u64): void {
  advance(cycles);
  vm.cycles += cycles;
}

/** Runs `vm` until virtual time reaches `endCycles` or the VM stops. */
function runVm(vm: Vm, endCycles: u64): void {
  while (vm.exit == EXIT_RUNNING && now() < endCycles) {
    const at = now();
    const irq = interruptToTake(vm, at);
    if (irq >= 0) {
      raiseInterrupt(vm, <u32>irq);
      if (vm.exit != EXIT_RUNNING) break;
    }
    const due = timerDueCycles(vm);
    if (vm.waiting) {
      if (shouldWake(vm, at)) { vm.waiting = false; continue; }
      // Asleep: nothing but the timer (or the board, between runs) can wake it.
      idle(vm, (due > at && due < endCycles ? due : endCycles) - at);
      continue;
    }
    let slice = endCycles - at;
    if (due > at && due - at < slice) slice = due - at;
    if (slice > MAX_SLICE_CYCLES) slice = MAX_SLICE_CYCLES;
    const executed = <u64>executeSlice(vm, <i32>slice);
    advance(executed);
    vm.executed += executed;
    vm.cycles += executed;
  }
}

/** The VM to run next; null when every VM has stopped. The partition scheduler replaces this. */
function nextRunnable(): Vm | null {
  for (let id = 0; id < vmCountNow(); id++) {
    const vm = vmById(<u32>id)!;
    if (vm.exit == EXIT_RUNNING) return vm;
  }
  return null;
}

/** Advances this processor by up to `cycles`; returns the cycles advanced. */
export function runProcessor(cycles: u64): u64 {
  const start = now();
  const end = start + cycles;
  while (now() < end) {
    const vm = nextRunnable();
    if (vm == null) break;
    runVm(vm, end);
  }
  for (let id = 0; id < vmCountNow(); id++) flushConsole(vmById(<u32>id)!);
  return now() - start;
}
