// The collector's exports (docs/core-interface.md, "Checkpoints"). The host moves stream
// bytes through the staging buffer in chunks: out with checkpointRead, in with
// restoreWrite. Every call returns plain numbers, so the component build can wrap a
// chunk as a list<u8> result or argument without changing the core.
import { advance, getClockHz, now } from "./clock";
import { MAX_STREAM_BYTES, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM, SBI_ERR_INVALID_STATE } from "./config";
import { captureCheckpoint, closeStream, openStream } from "./collector";
import { restoreStream, validatedInfo, validateStream } from "./restore";
import { inStaging, stagingBuffer, stagingBytes } from "./staging";
import { drainOut, errorField, ERR_TARGET, ERR_TOO_LARGE, HEADER_INDEX, hostWriter, outPending, refuse, setCurrentRecord, useWriter } from "./stream";
import { Vm, vmById } from "./vm";

/** Largest stream restore accepts (MAX_STREAM_BYTES): the input buffer doubles up to it, never past it. */
const MAX_RESTORE_BYTES: u32 = MAX_STREAM_BYTES;

/** Starts a new stream in the core's output buffer (its header); drops undrained bytes. */
export function checkpointBegin(): void {
  useWriter(hostWriter);
  openStream();
}

/**
 * Appends a checkpoint of VM `vm` (incremental != 0: only pages written since its last
 * checkpoint) at the processor's current time. 0; -3 no such VM; -10 no stream begun, or
 * an incremental checkpoint of a VM never checkpointed; -2 the VM has state the stream
 * cannot carry yet (a reported task set).
 */
export function checkpointCapture(vm: u32, incremental: u32): i32 {
  const target = vmById(vm);
  if (target == null) return SBI_ERR_INVALID_PARAM;
  useWriter(hostWriter);
  return captureCheckpoint(target, incremental != 0, now(), <u32>getClockHz());
}

/** Ends the stream (END record). 0, or -10 if none was begun. */
export function checkpointEnd(): i32 {
  useWriter(hostWriter);
  return closeStream();
}

/** Stream bytes produced and not yet read. */
export function checkpointPending(): u32 {
  useWriter(hostWriter);
  return outPending();
}

/** Moves up to `maxBytes` of the pending stream bytes to the start of the staging buffer; returns how many. */
export function checkpointRead(maxBytes: u32): u32 {
  const limit = maxBytes < stagingBytes() ? maxBytes : stagingBytes();
  useWriter(hostWriter);
  return drainOut(stagingBuffer(), limit);
}

// ---- Restore: the host writes the whole stream, then checks or applies it. ----

let input: usize = 0;
let inputCapacity: usize = 0;
let inputBytes: u32 = 0;
let inputTooLarge = false;

/** Starts collecting a stream to restore (forgets any earlier one). */
export function restoreBegin(): void {
  inputBytes = 0;
  inputTooLarge = false;
}

/** Appends `len` bytes at `ptr` (in the staging buffer). 0; -3 bad pointer; -1 stream too large. */
export function restoreWrite(ptr: usize, len: u32): i32 {
  if (!inStaging(ptr, len)) return SBI_ERR_INVALID_PARAM;
  if (len > MAX_RESTORE_BYTES - inputBytes) { inputTooLarge = true; return SBI_ERR_FAILED; }
  growInput(<usize>inputBytes + len);
  memory.copy(input + inputBytes, ptr, len);
  inputBytes += len;
  return 0;
}

function growInput(bytes: usize): void {
  if (bytes <= inputCapacity) return;
  let capacity = inputCapacity == 0 ? <usize>(1 << 16) : inputCapacity;
  while (capacity < bytes) capacity <<= 1;
  input = input == 0 ? heap.alloc(capacity) : heap.realloc(input, capacity);
  inputCapacity = capacity;
}

/** The VM a restore targets: -1 (any negative) a new one; else an existing VM, or null if there is none. */
function targetOf(vm: i32): Vm | null {
  return vm < 0 ? null : vmById(<u32>vm);
}

/** Detail a of ERR_TARGET when the target VM does not exist (b: its id). */
const NO_SUCH_VM: u32 = 0xFFFF_FFFE;

function refuseNoVm(vm: i32): void {
  setCurrentRecord(0, HEADER_INDEX, 0);
  refuse(ERR_TARGET, NO_SUCH_VM, <u64>vm);
}

function refuseTooLarge(): void {
  setCurrentRecord(0, HEADER_INDEX, 0);
  refuse(ERR_TOO_LARGE, inputBytes, MAX_RESTORE_BYTES);
}

/**
 * Checks the written stream as restoreApply(vm) would, changing nothing. 0 accepted;
 * -3 refused (restoreError says why and where), or `vm` names no VM.
 */
export function restoreCheck(vm: i32): i32 {
  if (inputTooLarge) { refuseTooLarge(); return SBI_ERR_INVALID_PARAM; }
  if (vm >= 0 && targetOf(vm) == null) { refuseNoVm(vm); return SBI_ERR_INVALID_PARAM; }
  return validateStream(input, inputBytes, targetOf(vm)) ? 0 : SBI_ERR_INVALID_PARAM;
}

/**
 * Checks the written stream and, if it is accepted, applies its checkpoints in order to
 * VM `vm` (-1: a new VM made from the stream's configuration). Returns the VM's id; -3
 * refused (nothing changed); -1 no room for another VM.
 */
export function restoreApply(vm: i32): i32 {
  if (inputTooLarge) { refuseTooLarge(); return SBI_ERR_INVALID_PARAM; }
  if (vm >= 0 && targetOf(vm) == null) { refuseNoVm(vm); return SBI_ERR_INVALID_PARAM; }
  return restoreStream(input, inputBytes, targetOf(vm));
}

/** Why the last check refused: 0 code, 1 byte offset, 2 record index, 3 record type, 4 and 5 details. */
export function restoreError(field: u32): u64 {
  return errorField(field);
}

/** After an accepted check: 0 checkpoints, 1 capture cycles, 2 clock Hz, 3 kind, 4 RAM bytes, 5 last flags, 6 source VM id. */
export function restoreInfo(field: u32): u64 {
  return validatedInfo(field);
}

/**
 * Starts a fresh processor's clock at `cycles` (the capture time of the stream it will
 * restore), so restored timers fire when they would have. 0, or -10 if this processor's
 * time has already advanced.
 */
export function processorSetTime(cycles: u64): i32 {
  if (now() != 0) return SBI_ERR_INVALID_STATE;
  advance(cycles);
  return 0;
}
