// The devices machine guests find where bare-metal programs for QEMU's virt board expect
// them: an ns16550 UART (transmit and line status), a CLINT (msip, mtimecmp, mtime) and
// the test finisher. Paravirtual guests have no devices: they use hypercalls.
import { cyclesToTicks, now } from "./clock";
import { EXIT_FINISHER, EXIT_REBOOT, IRQ_M_SOFT } from "./config";
import { consolePutByte } from "./console";
import { Vm } from "./vm";

const UART_BASE: u32 = 0x1000_0000;
const UART_BYTES: u32 = 0x100;
const UART_THR: u32 = 0;
const UART_LCR: u32 = 3;
const UART_LSR: u32 = 5;
/** LCR bit 7: offsets 0 and 1 are the baud-rate divisor latch, not THR and IER. */
const UART_LCR_DLAB: u32 = 0x80;
/** Line status: transmit holding register empty, transmitter empty. */
const UART_LSR_IDLE: u32 = 0x60;

const CLINT_BASE: u32 = 0x0200_0000;
const CLINT_BYTES: u32 = 0x1_0000;
const CLINT_MSIP: u32 = 0x0;
const CLINT_MTIMECMP: u32 = 0x4000;
const CLINT_MTIME: u32 = 0xBFF8;

const FINISHER_BASE: u32 = 0x0010_0000;
const FINISHER_BYTES: u32 = 0x1000;
const FINISHER_PASS: u32 = 0x5555;
const FINISHER_FAIL: u32 = 0x3333;
const FINISHER_RESET: u32 = 0x7777;

/** Returned by deviceLoad where no device answers. */
export const NO_DEVICE: u64 = 1 << 32;

function mtimeNow(vm: Vm): u64 {
  return cyclesToTicks(now() + vm.sliceExecuted);
}

/** Reads `bytes` at `addr`; NO_DEVICE if nothing is mapped there. */
export function deviceLoad(vm: Vm, addr: u32, bytes: u32): u64 {
  if (addr - UART_BASE < UART_BYTES) {
    const reg = addr - UART_BASE;
    if (reg == UART_LSR) return UART_LSR_IDLE;
    if (reg == UART_LCR) return vm.uartLineControl;
    return 0;
  }
  if (addr - CLINT_BASE < CLINT_BYTES) {
    const reg = addr - CLINT_BASE;
    if (reg == CLINT_MSIP) return (vm.mipSoft >> IRQ_M_SOFT) & 1;
    if (reg == CLINT_MTIMECMP) return <u32>vm.mtimecmp;
    if (reg == CLINT_MTIMECMP + 4) return <u32>(vm.mtimecmp >> 32);
    if (reg == CLINT_MTIME) return <u32>mtimeNow(vm);
    if (reg == CLINT_MTIME + 4) return <u32>(mtimeNow(vm) >> 32);
    return 0;
  }
  if (addr - FINISHER_BASE < FINISHER_BYTES) return 0;
  return NO_DEVICE;
}

/** Writes `value` (`bytes` wide) at `addr`; false if nothing is mapped there. */
export function deviceStore(vm: Vm, addr: u32, bytes: u32, value: u32): bool {
  if (addr - UART_BASE < UART_BYTES) {
    const reg = addr - UART_BASE;
    if (reg == UART_LCR) vm.uartLineControl = value & 0xFF;
    else if (reg == UART_THR && (vm.uartLineControl & UART_LCR_DLAB) == 0) consolePutByte(vm, value & 0xFF);
    return true;
  }
  if (addr - CLINT_BASE < CLINT_BYTES) {
    const reg = addr - CLINT_BASE;
    if (reg == CLINT_MSIP) vm.mipSoft = (vm.mipSoft & ~(1 << IRQ_M_SOFT)) | ((value & 1) << IRQ_M_SOFT);
    else if (reg == CLINT_MTIMECMP) vm.mtimecmp = (vm.mtimecmp & 0xFFFF_FFFF_0000_0000) | <u64>value;
    else if (reg == CLINT_MTIMECMP + 4) vm.mtimecmp = (vm.mtimecmp & 0xFFFF_FFFF) | (<u64>value << 32);
    return true; // mtime is read-only here
  }
  if (addr - FINISHER_BASE < FINISHER_BYTES) {
    const command = value & 0xFFFF;
    if (command == FINISHER_PASS || command == FINISHER_FAIL) {
      vm.exit = EXIT_FINISHER;
      vm.exitCode = value;
    } else if (command == FINISHER_RESET) {
      vm.exit = EXIT_REBOOT;
      vm.exitCode = value;
    }
    return true;
  }
  return false;
}
