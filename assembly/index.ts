// The core's exported interface: everything the board (host) may do to this processor
// and its VMs. docs/core-interface.md is the contract; wit/ describes the same world.
// The core's components and the order they build on each other: docs/core-interface.md,
// "The core's components".
import { now as clockNow, setClockHz, setProcessorId } from "./clock";
import { addPort, channelStat as readChannelStat, portsHere } from "./channel";
import { relaysHere } from "./channel-relay"; // (importing it fills in the VM hooks and the channel relays)
import { configureLink, framesDropped, framesOutOfOrder, framesReceived, framesSent, setLinkTiming } from "./communication";
import { receiveFrame } from "./link-inbox";
import {
  cancelMigration, migrationIncomingStat as readIncomingStat, migrationStat as readMigrationStat, setNextParam, startMigration,
} from "./migration";
import { ramFits, setRamCapacity } from "./vm-lifecycle";
import { addWindow, clearSchedule, setMajorFrame } from "./schedule";
import { setTraceEnabled } from "./trace";
import {
  EXIT_GONE, KIND_MACHINE, KIND_PARAVIRTUAL, MAX_VM_RAM_BYTES, MODE_M, PAGE_BYTES, PROCESSOR_STAT_FRAMES_DROPPED,
  PROCESSOR_STAT_FRAMES_OUT_OF_ORDER, PROCESSOR_STAT_FRAMES_RECEIVED, PROCESSOR_STAT_FRAMES_SENT, PROCESSOR_STAT_PORTS,
  PROCESSOR_STAT_RELAYS, PROCESSOR_STAT_VMS, SBI_ERR_BAD_RANGE,
  SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM, STAGING_BYTES,
} from "./config";
import { readCsr } from "./csr";
import { timerDueCycles } from "./irq";
import { noteWritten, ramOffset } from "./guestmem";
import { runProcessor, stallProcessor } from "./processor";
import {
  addCopy, addProcessor, configure as configureFailover, holdAtStart, protect, protectionStat, warning, worstTripHere,
} from "./failover";
import { addMember, healthStat as readHealthStat } from "./health-monitor";
import { loadStat as readLoadStat, setLoadParam } from "./load-monitor";
import { inStaging, stagingBuffer as stagingAddress } from "./staging";
import { createVm, flushDecodeCache, getReg, setReg, Vm, vmById, VM_COUNTERS, vmCounters, vmsInUse } from "./vm";
import { recordImageBoot, recordImageLoad } from "./vm-image";


export function configure(clockHz: u32, processorId: u32): void {
  setClockHz(clockHz == 0 ? 1 : clockHz);
  setProcessorId(processorId);
}

export function traceEnable(on: u32): void {
  setTraceEnabled(on != 0);
}

export function scheduleClear(): void {
  clearSchedule();
}

export function scheduleSetMajorFrame(ns: u64): i32 {
  return setMajorFrame(ns) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function scheduleAddWindow(vm: u32, offsetNs: u64, durationNs: u64): i32 {
  return addWindow(vm, offsetNs, durationNs) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function linkConfigure(peer: u32, mtuBytes: u32): i32 {
  return configureLink(peer, mtuBytes) ? 0 : SBI_ERR_INVALID_PARAM;
}

/** What the board says about the link to `peer`: for the migration manager's downtime bound. */
export function linkSetTiming(peer: u32, bandwidthBytesPerS: u64, latencyNs: u64, deliveryGranularityNs: u64): i32 {
  return setLinkTiming(peer, bandwidthBytesPerS, latencyNs, deliveryGranularityNs) ? 0 : SBI_ERR_INVALID_PARAM;
}

/** RAM this processor has for VMs (an incoming migration that does not fit is refused); 0 = no limit. */
export function processorSetRam(bytes: u64): void {
  setRamCapacity(bytes);
}

/** Sets parameter `key` of the next migrationStart (only that one; MigrationParam in wit/numbers.json). */
export function migrationSetParam(key: u32, value: u64): i32 {
  return setNextParam(key, value) ? 0 : SBI_ERR_INVALID_PARAM;
}

/** Starts migrating VM `vm` to processor `destProcessor`: 0, or an SBI error (-4 refused: migrationStat says why). */
export function migrationStart(vm: u32, destProcessor: u32, strategy: u32): i32 {
  return startMigration(vm, destProcessor, strategy);
}

export function migrationCancel(): i32 {
  return cancelMigration();
}

/** MigrationStat `key` of this processor's outgoing migration `id` (0: the latest). */
export function migrationStat(id: u32, key: u32): u64 {
  return readMigrationStat(id, key);
}

/** IncomingStat `key` of this processor's incoming migration `id` (0: the latest). */
export function migrationIncomingStat(id: u32, key: u32): u64 {
  return readIncomingStat(id, key);
}

/** ChannelStat `key` of `channel`'s end on this processor. */
export function channelStat(channel: u32, key: u32): u64 {
  return readChannelStat(channel, key);
}

export function linkReceive(peer: u32, ptr: usize, len: u32): i32 {
  if (!inStaging(ptr, len)) return SBI_ERR_INVALID_PARAM;
  receiveFrame(peer, ptr, len);
  return 0;
}

export function channelAddSource(channel: u32, vm: u32, port: u32, kind: u32, maxMessageBytes: u32, depth: u32, destProcessor: u32): i32 {
  return addPort(channel, vm, port, kind, maxMessageBytes, depth, true, destProcessor);
}

export function channelAddDestination(channel: u32, vm: u32, port: u32, kind: u32, maxMessageBytes: u32, depth: u32): i32 {
  return addPort(channel, vm, port, kind, maxMessageBytes, depth, false, 0);
}

/** ProcessorStat counters (wit/numbers.json). */
export function processorStat(stat: u32): u64 {
  if (stat == PROCESSOR_STAT_FRAMES_SENT) return framesSent;
  if (stat == PROCESSOR_STAT_FRAMES_RECEIVED) return framesReceived;
  if (stat == PROCESSOR_STAT_FRAMES_DROPPED) return framesDropped;
  if (stat == PROCESSOR_STAT_FRAMES_OUT_OF_ORDER) return framesOutOfOrder;
  if (stat == PROCESSOR_STAT_RELAYS) return <u64>relaysHere();
  if (stat == PROCESSOR_STAT_PORTS) return <u64>portsHere();
  if (stat == PROCESSOR_STAT_VMS) return <u64>vmsInUse();
  return 0;
}

/** Per-VM counters, docs/core-interface.md. */
export function vmStat(id: u32, stat: u32): u64 {
  const vm = vmById(id);
  if (vm == null) return 0;
  return stat < VM_COUNTERS ? load<u64>(vmCounters(vm) + (<usize>stat << 3)) : 0;
}

export function now(): u64 {
  return clockNow();
}

export function run(cycles: u64): u64 {
  return runProcessor(cycles);
}

export function stagingBuffer(): usize {
  return stagingAddress();
}

export function stagingBytes(): u32 {
  return STAGING_BYTES;
}

/**
 * The canonical ABI's allocator, for the component build (docs/runtimes.md): a
 * byte list passed into the core (vm-load's bytes) lands in the staging buffer,
 * exactly where the plain-module host writes it itself, so vmLoad sees the same
 * (ptr, len) either way. One fresh list per call: a list larger than the buffer,
 * an alignment above 16 or a realloc of an earlier block traps.
 */
export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (oldPtr != 0 || oldSize != 0 || align > 16 || newSize > <usize>STAGING_BYTES) unreachable();
  return stagingAddress();
}

export function vmCreate(kind: u32, ramBytes: u32): i32 {
  if (kind != KIND_PARAVIRTUAL && kind != KIND_MACHINE) return SBI_ERR_INVALID_PARAM;
  if (ramBytes == 0 || ramBytes % PAGE_BYTES != 0 || ramBytes > MAX_VM_RAM_BYTES) return SBI_ERR_INVALID_PARAM;
  if (!ramFits(ramBytes)) return SBI_ERR_FAILED; // no memory for it: refused, not trapped
  const vm = createVm(kind, ramBytes);
  return vm == null ? SBI_ERR_FAILED : <i32>vm.id;
}

export function vmLoad(id: u32, guestAddr: u32, ptr: usize, len: u32): i32 {
  const vm = vmById(id);
  if (vm == null || !inStaging(ptr, len)) return SBI_ERR_INVALID_PARAM;
  const offset = ramOffset(vm, guestAddr, len);
  if (offset < 0) return SBI_ERR_BAD_RANGE;
  memory.copy(vm.ram + <usize>offset, ptr, len);
  noteWritten(vm, <u32>offset, len);
  recordImageLoad(vm, <u32>offset, len);
  return 0;
}

export function vmSetTohost(id: u32, addr: u32): i32 {
  const vm = vmById(id);
  if (vm == null) return SBI_ERR_INVALID_PARAM;
  if (ramOffset(vm, addr, 4) < 0) return SBI_ERR_BAD_RANGE;
  vm.tohost = addr;
  return 0;
}

export function vmBoot(id: u32, pc: u32, a0: u32, a1: u32): i32 {
  const vm = vmById(id);
  if (vm == null) return SBI_ERR_INVALID_PARAM;
  vm.pc = pc;
  setReg(vm, 10, a0);
  setReg(vm, 11, a1);
  recordImageBoot(vm, pc, a0, a1);
  return 0;
}

function vmOrNull(id: u32): Vm | null {
  return vmById(id);
}

/** Why the VM stopped (0 running); EXIT_GONE for a handle that names no VM here (any more). */
export function vmExit(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? EXIT_GONE : vm.exit;
}

export function vmExitCode(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.exitCode;
}

export function vmInstret(id: u32): u64 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.executed - vm.trapped;
}

export function vmGetReg(id: u32, r: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null || r > 31 ? 0 : getReg(vm, r);
}

export function vmSetReg(id: u32, r: u32, value: u32): void {
  const vm = vmOrNull(id);
  if (vm != null && r <= 31) setReg(vm, r, value);
}

export function vmGetPc(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.pc;
}

/** Reads any CSR as M-mode would (for tools and tests); 0 for one that does not exist. */
export function vmGetCsr(id: u32, csr: u32): u32 {
  const vm = vmOrNull(id);
  if (vm == null) return 0;
  const mode = vm.mode;
  vm.mode = MODE_M;
  const value = readCsr(vm, csr & 0xFFF);
  vm.mode = mode;
  return <u32>value;
}

export function vmGetMode(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.mode;
}

/**
 * Is the VM asleep in wfi? 0 no; 1 yes, with its timer armed; 2 yes, with nothing armed:
 * only an interrupt from the board could still wake it.
 */
export function vmAsleep(id: u32): u32 {
  const vm = vmOrNull(id);
  if (vm == null || vm.exit != 0 || !vm.waiting) return 0;
  return timerDueCycles(vm) == u64.MAX_VALUE ? 2 : 1;
}

export function vmRaiseExternal(id: u32, level: u32): void {
  const vm = vmOrNull(id);
  if (vm != null) vm.externalLevel = level;
}

// ---- the health monitor and failover (docs/health.md) ----

export function healthProtect(id: u32, policies: u32, intervalNs: u64): i32 {
  return protect(id, policies, intervalNs) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function healthAddProcessor(id: u32, processor: u32): i32 {
  return addProcessor(id, processor) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function healthAddCopy(id: u32, vm: u32): i32 {
  return addCopy(id, vm) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function healthHold(id: u32, vm: u32): i32 {
  return holdAtStart(id, vm) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function healthWorstTrip(): u64 {
  return worstTripHere();
}

export function healthAddMember(processor: u32, worstTripNs: u64): i32 {
  return addMember(processor, worstTripNs) ? 0 : SBI_ERR_INVALID_PARAM;
}

/** 0, or -3: health-stat refusal says why. */
export function healthConfigure(heartbeatNs: u64, suspectNs: u64): i32 {
  return configureFailover(heartbeatNs, suspectNs) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function healthWarning(leadNs: u64): void {
  warning(leadNs);
}

export function healthStat(key: u32): u64 {
  return readHealthStat(key);
}

export function healthProtectionStat(id: u32, key: u32): u64 {
  return protectionStat(id, key);
}

// Load policies: hotspot relief and consolidation (docs/load-policies.md).

export function loadSetParam(key: u32, value: u64): i32 {
  return setLoadParam(key, value) ? 0 : SBI_ERR_INVALID_PARAM;
}

export function loadStat(key: u32): u64 {
  return readLoadStat(key);
}

export function vmSetAffordable(id: u32, ns: u64): i32 {
  const vm = vmById(id);
  if (vm == null || ns / 1000 > <u64>0x7FFF_FFFF) return SBI_ERR_INVALID_PARAM; // a migration carries it in 31 bits of us
  vm.affordableNs = ns;
  return 0;
}

export function vmSetPinned(id: u32, pinned: u32): i32 {
  const vm = vmById(id);
  if (vm == null || pinned > 1) return SBI_ERR_INVALID_PARAM;
  vm.pinned = pinned != 0;
  return 0;
}

export function processorStall(cycles: u64): u64 {
  return stallProcessor(cycles);
}

/** A single-event upset in guest RAM: the byte changes behind everyone's back (no dirty bit); decoded code is dropped. */
export function vmFlipBit(id: u32, guestAddr: u32, bit: u32): i32 {
  const vm = vmById(id);
  if (vm == null || bit > 7) return SBI_ERR_INVALID_PARAM;
  const offset = ramOffset(vm, guestAddr, 1);
  if (offset < 0) return SBI_ERR_BAD_RANGE;
  const at = vm.ram + <usize>offset;
  store<u8>(at, <u8>(<u32>load<u8>(at) ^ (<u32>1 << bit)));
  flushDecodeCache(vm);
  return 0;
}

// The collector: checkpoint streams and restore (docs/stream-format.md).
export * from "./checkpoint-api";
