// The hypercall handler: the paravirtual interface in the RISC-V SBI calling convention.
// a7 = extension, a6 = function, a0..a5 = arguments; the result goes to a0 (error) and
// a1 (value) and every other register is preserved. docs/hypercalls.md is the ABI.
import {
  EXIT_FAILURE, EXIT_REBOOT, EXIT_SHUTDOWN, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, SBI_SUCCESS,
  TRACE_HYPERCALL,
} from "./config";
import { consolePutByte, consoleWrite } from "./console";
import { BUFFER_ABSENT, guestBuffer } from "./guestmem";
import { now } from "./clock";
import { EXT_FERRY, ferryHypercallBuffer, handleFerryHypercall } from "./hypercall-ferry";
import { trace } from "./trace";
import { getReg, setReg, Vm } from "./vm";

const A0: u32 = 10, A1: u32 = 11, A2: u32 = 12, A6: u32 = 16, A7: u32 = 17;

export const EXT_LEGACY_PUTCHAR: u32 = 0x01;
export const EXT_BASE: u32 = 0x10;
export const EXT_TIME: u32 = 0x5449_4D45;
export const EXT_SRST: u32 = 0x5352_5354;
export const EXT_DBCN: u32 = 0x4442_434E;

/** SBI specification 2.0. */
const SPEC_VERSION: u32 = 2 << 24;
/** Ferry's implementation id: not in the SBI registry; "FRRY" in ASCII. */
export const IMPL_ID: u32 = 0x4652_5259;
/** Ferry 0.1.0 as major << 16 | minor << 8 | patch. */
export const IMPL_VERSION: u32 = 0x0000_0100;

function ret(vm: Vm, error: i32, value: u32): void {
  setReg(vm, A0, <u32>error);
  setReg(vm, A1, value);
}

export function isExtensionImplemented(eid: u32): bool {
  return eid == EXT_BASE || eid == EXT_TIME || eid == EXT_SRST || eid == EXT_DBCN || eid == EXT_LEGACY_PUTCHAR || eid == EXT_FERRY;
}

function base(vm: Vm, fid: u32): void {
  switch (fid) {
    case 0: ret(vm, SBI_SUCCESS, SPEC_VERSION); return;
    case 1: ret(vm, SBI_SUCCESS, IMPL_ID); return;
    case 2: ret(vm, SBI_SUCCESS, IMPL_VERSION); return;
    case 3: ret(vm, SBI_SUCCESS, isExtensionImplemented(getReg(vm, A0)) ? 1 : 0); return;
    case 4: case 5: case 6: ret(vm, SBI_SUCCESS, 0); return; // mvendorid, marchid, mimpid
  }
  ret(vm, SBI_ERR_NOT_SUPPORTED, 0);
}

function time(vm: Vm, fid: u32): void {
  if (fid != 0) { ret(vm, SBI_ERR_NOT_SUPPORTED, 0); return; }
  // set_timer(stime_value): the pending bit follows from time >= stimecmp (irq.ts).
  vm.stimecmp = (<u64>getReg(vm, A1) << 32) | <u64>getReg(vm, A0);
  ret(vm, SBI_SUCCESS, 0);
}

function debugConsole(vm: Vm, fid: u32): void {
  if (fid == 2) { // write_byte
    consolePutByte(vm, getReg(vm, A0) & 0xFF);
    ret(vm, SBI_SUCCESS, 0);
    return;
  }
  if (fid != 0 && fid != 1) { ret(vm, SBI_ERR_NOT_SUPPORTED, 0); return; }
  // write / read (num_bytes, base_lo, base_hi): the buffer must lie in the guest's RAM.
  const bytes = getReg(vm, A0);
  const offset = getReg(vm, A2) == 0 ? guestBuffer(vm, getReg(vm, A1), bytes) : -1;
  if (offset == BUFFER_ABSENT) return;
  if (offset < 0) { ret(vm, SBI_ERR_INVALID_PARAM, 0); return; }
  if (fid == 0) {
    consoleWrite(vm, vm.ram + <usize>offset, bytes);
    ret(vm, SBI_SUCCESS, bytes);
  } else {
    ret(vm, SBI_SUCCESS, 0); // the board has no console input: nothing to read
  }
}

function systemReset(vm: Vm, fid: u32): void {
  if (fid != 0) { ret(vm, SBI_ERR_NOT_SUPPORTED, 0); return; }
  const type = getReg(vm, A0);
  const reason = getReg(vm, A1);
  if ((type > 2 && type < 0xF000_0000) || (reason > 1 && reason < 0xE000_0000)) {
    ret(vm, SBI_ERR_INVALID_PARAM, 0);
    return;
  }
  if (type == 0) {
    vm.exit = reason == 0 ? EXIT_SHUTDOWN : EXIT_FAILURE;
    vm.exitCode = reason;
  } else {
    vm.exit = EXIT_REBOOT;
    vm.exitCode = type;
  }
  ret(vm, SBI_SUCCESS, 0);
}

/**
 * The guest memory the ecall at vm.pc would read or write, as (address << 32 | bytes);
 * 0 if none. It follows the handlers here and in hypercall-ferry.ts (keep them in step):
 * post-copy's blackout sends these pages so that a VM resuming at an ecall never waits.
 */
export function hypercallBuffer(vm: Vm): u64 {
  const eid = getReg(vm, A7);
  const fid = getReg(vm, A6);
  if (eid == EXT_DBCN && (fid == 0 || fid == 1)) return (<u64>getReg(vm, A1) << 32) | <u64>getReg(vm, A0);
  if (eid == EXT_FERRY) return ferryHypercallBuffer(vm, fid);
  return 0;
}

export function handleHypercall(vm: Vm): void {
  const eid = getReg(vm, A7);
  const fid = getReg(vm, A6);
  vm.hypercalls++;
  trace(TRACE_HYPERCALL, vm.id, now() + vm.sliceExecuted, eid, fid);
  if (eid == EXT_BASE) base(vm, fid);
  else if (eid == EXT_TIME) time(vm, fid);
  else if (eid == EXT_DBCN) debugConsole(vm, fid);
  else if (eid == EXT_SRST) systemReset(vm, fid);
  else if (eid == EXT_FERRY) handleFerryHypercall(vm, fid);
  else if (eid == EXT_LEGACY_PUTCHAR) { consolePutByte(vm, getReg(vm, A0) & 0xFF); setReg(vm, A0, 0); }
  else ret(vm, SBI_ERR_NOT_SUPPORTED, 0);
}
