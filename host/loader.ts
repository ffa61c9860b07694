/**
 * Places an ELF image into a VM: checks the whole layout against the VM's RAM
 * before writing anything, copies the segments through the core's staging
 * buffer, registers the HTIF tohost mailbox and boots at the entry point.
 */
import { loadBytes } from './core-runtime.js';
import type { CoreRuntime } from './core-runtime.js';
import { GUEST_RAM_BASE, TOHOST_SYMBOL } from './defaults.js';
import type { ElfImage, ElfSegment } from './elf.js';
import { CoreError, ImageError, describeSbiError } from './errors.js';
import { hex } from './format.js';

const ADDRESS_SPACE_BYTES = 2 ** 32;
/** The HTIF tohost mailbox is a word the core watches: 4 bytes, 4-aligned (a store elsewhere in it would be missed). */
const TOHOST_BYTES = 4;
/** RV32IM without the C extension: every instruction, the first included, is 4-aligned. */
const INSTRUCTION_ALIGN = 4;

/** Throws ImageError unless every segment, the entry and tohost lie in guest RAM. */
export function checkImageFits(image: ElfImage, ramBytes: number): void {
  let neededBytes = 0;
  for (const segment of image.segments) {
    checkSegmentStart(segment, ramBytes);
    neededBytes = Math.max(neededBytes, segment.paddr + segment.memBytes - GUEST_RAM_BASE);
  }
  // A segment that starts in RAM but runs past its end wants a bigger VM.
  if (neededBytes > ramBytes) {
    throw new ImageError(`image needs ${neededBytes} bytes but the VM has ${ramBytes}`);
  }
  checkAddressInRam('entry point', image.entry, ramBytes);
  if (image.entry % INSTRUCTION_ALIGN !== 0) {
    throw new ImageError(`entry point ${hex(image.entry)} is not ${INSTRUCTION_ALIGN}-byte aligned: RV32IM instructions (no C extension) start on 4-byte boundaries`);
  }
  const tohost = image.symbols.get(TOHOST_SYMBOL);
  if (tohost !== undefined) checkTohost(tohost.value, ramBytes);
}

function checkTohost(address: number, ramBytes: number): void {
  checkAddressInRam(`${TOHOST_SYMBOL} symbol`, address, ramBytes);
  if (address % TOHOST_BYTES !== 0) {
    throw new ImageError(`${TOHOST_SYMBOL} symbol ${hex(address)} is not ${TOHOST_BYTES}-byte aligned: the HTIF mailbox is an aligned word (put it in a section with .align 3)`);
  }
  checkAddressInRam(`${TOHOST_SYMBOL} symbol's last byte`, address + TOHOST_BYTES - 1, ramBytes);
}

function checkSegmentStart(segment: ElfSegment, ramBytes: number): void {
  const startsInRam = segment.paddr >= GUEST_RAM_BASE && segment.paddr < GUEST_RAM_BASE + ramBytes;
  const wraps = segment.paddr + segment.memBytes > ADDRESS_SPACE_BYTES;
  if (!startsInRam || wraps) {
    throw new ImageError(
      `segment ${segment.index} at ${hex(segment.paddr)} (size ${segment.memBytes} bytes) lies outside guest RAM ${ramRange(ramBytes)}`,
    );
  }
}

function checkAddressInRam(what: string, address: number, ramBytes: number): void {
  if (address < GUEST_RAM_BASE || address >= GUEST_RAM_BASE + ramBytes) {
    throw new ImageError(`${what} ${hex(address)} lies outside guest RAM ${ramRange(ramBytes)}`);
  }
}

/** "0x80000000–0x807fffff": first and last byte of RAM. */
function ramRange(ramBytes: number): string {
  return `${hex(GUEST_RAM_BASE)}–${hex(GUEST_RAM_BASE + ramBytes - 1)}`;
}

/** Checks, copies and boots: pc = e_entry, a0 = a1 = 0. */
export function loadImage(core: CoreRuntime, vm: number, image: ElfImage, ramBytes: number): void {
  checkImageFits(image, ramBytes);
  // Fresh guest RAM is zero, so bss (memBytes past the file data) needs no writes.
  for (const segment of image.segments) copySegment(core, vm, segment);
  const tohost = image.symbols.get(TOHOST_SYMBOL);
  if (tohost !== undefined) {
    const set = core.vmSetTohost(vm, tohost.value);
    if (set !== 0) throw new CoreError(`vmSetTohost(${vm}, ${hex(tohost.value)}) failed: ${describeSbiError(set)}`);
  }
  const booted = core.vmBoot(vm, image.entry, 0, 0);
  if (booted !== 0) throw new CoreError(`vmBoot(${vm}, ${hex(image.entry)}) failed: ${describeSbiError(booted)}`);
}

function copySegment(core: CoreRuntime, vm: number, segment: ElfSegment): void {
  const loaded = loadBytes(core, vm, segment.paddr, segment.data);
  // checkImageFits already proved the range; a refusal means host and core disagree.
  if (loaded !== 0) {
    throw new CoreError(`vmLoad(${vm}, ${hex(segment.paddr)}, ${segment.data.length} bytes) failed: ${describeSbiError(loaded)}`);
  }
}
