// Each VM's console: bytes are buffered per VM and handed to the board, which forwards
// them unchanged (the host prints them on stdout).
import { CONSOLE_BUFFER_BYTES } from "./config";
import { TRACE_REPLAYING } from "./input-log";
import { Vm } from "./vm";

@external("ferry:core/board", "console-write")
declare function boardConsoleWrite(vm: u32, ptr: usize, len: u32): void;

export function flushConsole(vm: Vm): void {
  if (vm.consoleBytes == 0) return;
  boardConsoleWrite(vm.id, vm.consoleBuffer, vm.consoleBytes);
  vm.consoleBytes = 0;
}

export function consolePutByte(vm: Vm, byte: u32): void {
  if (vm.traceMode == TRACE_REPLAYING) return; // a replay's output: the source printed it
  store<u8>(vm.consoleBuffer + vm.consoleBytes, <u8>byte);
  vm.consoleBytes++;
  if (byte == 0x0A || vm.consoleBytes == CONSOLE_BUFFER_BYTES) flushConsole(vm);
}

/** Writes `len` bytes that lie in core memory at `ptr` (guest RAM), keeping order with buffered bytes. */
export function consoleWrite(vm: Vm, ptr: usize, len: u32): void {
  flushConsole(vm);
  if (len != 0) boardConsoleWrite(vm.id, ptr, len);
}
