/**
 * Why a VM stopped, in the terms of the `ferry run` contract: the reason's
 * name, the exit status (0 pass, 1 fail) and what to tell the user.
 */
import { VmExitReason } from './core-runtime.js';
import { hex } from './format.js';

export type ExitReasonName =
  | 'shutdown' | 'failure' | 'tohost' | 'finisher' | 'reboot' | 'fault' | 'max-cycles'
  /** Still running when the run's planned length (--duration) ended: no failure. */
  | 'duration'
  /** Ctrl-C ended the run (exit status 130). */
  | 'interrupted';

export interface VmOutcome {
  reason: ExitReasonName;
  /** vmExitCode: the detail for the reason (SRST reason, value written, trap cause). */
  code: number;
  /** 0 for a passing exit, 1 for a failing one (124 is the runner's, for max-cycles). */
  exitStatus: number;
  /** For stderr; absent when the guest simply passed. */
  message?: string;
}

const FINISHER_PASS = 0x5555;
const FINISHER_FAIL = 0x3333;
const FINISHER_RESET = 0x7777;

/** Exit status 124 when the cycle limit ran out, as timeout(1) does. */
export const MAX_CYCLES_EXIT_STATUS = 124;

/** Decodes vmExit/vmExitCode of a stopped VM; `pc` locates a fault. */
export function describeVmExit(exitReason: number, code: number, pc: number): VmOutcome {
  switch (exitReason) {
    case VmExitReason.shutdown:
      return { reason: 'shutdown', code, exitStatus: 0 };
    case VmExitReason.failure:
      return fail('failure', code, `shutdown: the guest reported a system failure (SRST reason ${code})`);
    case VmExitReason.tohost:
      return describeTohost(code);
    case VmExitReason.finisher:
      return describeFinisher(code);
    case VmExitReason.reboot:
      return fail('reboot', code, `reboot: the guest asked for a ${rebootKind(code)} (SRST type ${code}); ferry does not reboot guests`);
    case VmExitReason.fault:
      return fail('fault', code, `fault: the guest trapped with no usable handler: ${trapCauseName(code)} (cause ${hex(code)}) at pc ${hex(pc)}`);
    default:
      return fail('fault', code, `fault: the core stopped the VM for an unknown reason ${exitReason} (code ${hex(code)})`);
  }
}

function fail(reason: ExitReasonName, code: number, message: string): VmOutcome {
  return { reason, code, exitStatus: 1, message };
}

function describeTohost(value: number): VmOutcome {
  if (value === 1) return { reason: 'tohost', code: value, exitStatus: 0 };
  if ((value & 1) === 1) return fail('tohost', value, `tohost: test ${value >>> 1} failed`);
  // Even values are HTIF device requests (syscalls), which ferry does not serve.
  return fail('tohost', value, `tohost: unsupported value ${hex(value)} (HTIF device requests are not supported)`);
}

function describeFinisher(value: number): VmOutcome {
  const status = value & 0xffff;
  if (status === FINISHER_PASS) return { reason: 'finisher', code: value, exitStatus: 0 };
  if (status === FINISHER_FAIL) return fail('finisher', value, `finisher: fail, code ${value >>> 16}`);
  if (status === FINISHER_RESET) return fail('finisher', value, 'finisher: the guest asked for a reset; ferry does not reboot guests');
  return fail('finisher', value, `finisher: unknown value ${hex(value)}`);
}

function rebootKind(srstType: number): string {
  if (srstType === 1) return 'cold reboot';
  if (srstType === 2) return 'warm reboot';
  return 'reboot';
}

const EXCEPTION_NAMES: Record<number, string> = {
  0: 'instruction address misaligned',
  1: 'instruction access fault',
  2: 'illegal instruction',
  3: 'breakpoint',
  4: 'load address misaligned',
  5: 'load access fault',
  6: 'store/AMO address misaligned',
  7: 'store/AMO access fault',
  8: 'environment call from U-mode',
  9: 'environment call from S-mode',
  11: 'environment call from M-mode',
  12: 'instruction page fault',
  13: 'load page fault',
  15: 'store/AMO page fault',
};

const INTERRUPT_NAMES: Record<number, string> = {
  1: 'supervisor software interrupt',
  3: 'machine software interrupt',
  5: 'supervisor timer interrupt',
  7: 'machine timer interrupt',
  9: 'supervisor external interrupt',
  11: 'machine external interrupt',
};

/** mcause/scause in words: bit 31 set means an interrupt. */
export function trapCauseName(cause: number): string {
  const isInterrupt = (cause & 0x8000_0000) !== 0;
  const number = cause & 0x7fff_ffff;
  const name = isInterrupt ? INTERRUPT_NAMES[number] : EXCEPTION_NAMES[number];
  return name ?? `${isInterrupt ? 'interrupt' : 'exception'} ${number}`;
}
