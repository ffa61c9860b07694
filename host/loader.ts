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
  const tohost = image.symbols.get(TOHOST_SYMBOL);
  if (tohost !== undefined) checkAddressInRam(`${TOHOST_SYMBOL} symbol`, tohost.value, ramBytes);
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
  if (tohost !== undefined) core.vmSetTohost(vm, tohost.value);
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
