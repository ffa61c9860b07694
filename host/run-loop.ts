/**
 * The run loop of one processor with one VM, and the one rule for a VM that can never
 * run again. `ferry run <image>`, `ferry checkpoint` and `ferry restore` run through
 * runVm; board runs (lockstep.ts, board-runner.ts) step processors their own way but
 * stop a VM by the same rule, isStalled.
 */
import { VmExitReason } from './core-runtime.js';
import type { CoreRuntime } from './core-runtime.js';
import { hex } from './format.js';
import { describeVmExit } from './vm-exit.js';
import { INTERRUPTED_EXIT_STATUS, pauseForSignals } from './interrupt.js';
import type { VmOutcome } from './vm-exit.js';

/** vmAsleep: asleep in wfi with no timer armed. */
const ASLEEP_FOR_GOOD = 2;

/**
 * A VM asleep in wfi with nothing armed waits for an interrupt nobody can raise: no device
 * of a Ferry board drives a VM's external line, and the timer is the only other source.
 */
export function isStalled(core: CoreRuntime, vm: number): boolean {
  return core.vmExit(vm) === VmExitReason.running && core.vmAsleep(vm) === ASLEEP_FOR_GOOD;
}

export function stalledOutcome(core: CoreRuntime, vm: number): VmOutcome {
  return {
    reason: 'fault', code: 0, exitStatus: 1,
    message: `stalled: the VM waits at pc ${hex(core.vmGetPc(vm))} but nothing can wake it (after ${core.now()} cycles)`,
  };
}

/** Why VM `vm` no longer runs (stopped, or stalled), or undefined while it can still run. */
export function outcomeOf(core: CoreRuntime, vm: number): VmOutcome | undefined {
  const exit = core.vmExit(vm);
  if (exit !== VmExitReason.running) return describeVmExit(exit, core.vmExitCode(vm), core.vmGetPc(vm));
  return isStalled(core, vm) ? stalledOutcome(core, vm) : undefined;
}

/**
 * Runs the processor in quanta until VM `vm` stops or stalls, or until its virtual time
 * reaches `untilCycles` (absolute; never, if undefined). Returns why the VM no longer
 * runs, or undefined if it still ran at `untilCycles`. `sleepThrough`: a stalled VM is
 * still there at `untilCycles` (a checkpoint then captures it asleep).
 */
export async function runVm(
  core: CoreRuntime, vm: number, untilCycles: bigint | undefined, quantumCycles: bigint, sleepThrough = false, interrupted?: () => boolean,
): Promise<VmOutcome | undefined> {
  for (let quanta = 0; ; quanta++) {
    const outcome = outcomeOf(core, vm);
    if (outcome !== undefined && !(sleepThrough && untilCycles !== undefined && isStalled(core, vm))) return outcome;
    const left = untilCycles === undefined ? quantumCycles : untilCycles - core.now();
    if (left <= 0n) return undefined;
    if (interrupted !== undefined) {
      await pauseForSignals(quanta);
      if (interrupted()) return interruptedOutcome(core);
    }
    core.run(left < quantumCycles ? left : quantumCycles);
  }
}

function interruptedOutcome(core: CoreRuntime): VmOutcome {
  return { reason: 'interrupted', code: 0, exitStatus: INTERRUPTED_EXIT_STATUS, message: `interrupted (Ctrl-C) after ${core.now()} cycles` };
}
