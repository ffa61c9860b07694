// A VM's boot image, kept on the processor where it was booted, and the restart from it
// that a cold move is (docs/migration.md, "Strategies"). The image is what the host
// loaded before the VM's first instruction (vmLoad: the ELF's file bytes; fresh RAM is
// zero, so bss needs nothing) and where it boots (vmBoot: pc, a0, a1). It is kept as the
// loads came — `u32 offset, u32 bytes, the bytes padded to 4` each — so it costs what the
// image's file bytes cost, not the VM's RAM. A VM restored from a stream, or arrived by a
// migration, has no image here: it cannot move cold from here.
import { PAGE_BYTES, PAGE_SHIFT } from "./config";
import { flushConsole } from "./console";
import { DIRTY_TOUCHED } from "./dirty-tracking";
import { noteWritten, watchTohost } from "./guestmem";
import { flushDecodeCache, resetVcpu, setReg, Vm } from "./vm";

const LOAD_HEADER_BYTES: u32 = 8;

/** Bytes one load of `bytes` takes in the image. */
function loadBytesInImage(bytes: u32): u32 {
  return LOAD_HEADER_BYTES + ((bytes + 3) & ~3);
}

/** Room for `more` bytes at the end of the image; false if it would outgrow the VM's RAM. */
function reserveImage(vm: Vm, more: u32): bool {
  const needed = <u64>vm.imageBytes + more;
  if (needed > <u64>vm.ramBytes + 64 * LOAD_HEADER_BYTES) return false;
  if (needed <= <u64>vm.imageCapacity) return true;
  let capacity = vm.imageCapacity == 0 ? 4096 : vm.imageCapacity;
  while (<u64>capacity < needed) capacity <<= 1;
  vm.image = vm.image == 0 ? heap.alloc(capacity) : heap.realloc(vm.image, capacity);
  vm.imageCapacity = capacity;
  return true;
}

/** vmLoad wrote `bytes` at RAM `offset`: before the first instruction that is part of the image. */
export function recordImageLoad(vm: Vm, offset: u32, bytes: u32): void {
  if (vm.executed != 0 || vm.imageOverflow) return; // a load into a running VM is not its image
  const size = loadBytesInImage(bytes);
  if (!reserveImage(vm, size)) { vm.imageOverflow = true; return; }
  const at = vm.image + vm.imageBytes;
  store<u32>(at, offset);
  store<u32>(at, bytes, 4);
  memory.copy(at + LOAD_HEADER_BYTES, vm.ram + offset, bytes);
  vm.imageBytes += size;
}

/** vmBoot set where the VM starts: the restart starts there too. */
export function recordImageBoot(vm: Vm, pc: u32, a0: u32, a1: u32): void {
  if (vm.executed != 0) return;
  vm.bootPc = pc;
  vm.bootA0 = a0;
  vm.bootA1 = a1;
}

/** Can the VM be restarted from its image here? */
export function hasImage(vm: Vm): bool {
  return vm.imageBytes != 0 && !vm.imageOverflow;
}

/** Pages the image's loads write, each once (a page two loads share counts once). */
export function imagePages(vm: Vm): u64 {
  const pages = vm.ramBytes >> PAGE_SHIFT;
  const scratch = heap.alloc(pages);
  memory.fill(scratch, 0, pages);
  let count: u64 = 0;
  for (let at: u32 = 0; at < vm.imageBytes;) {
    const offset = load<u32>(vm.image + at), bytes = load<u32>(vm.image + at, 4);
    if (bytes != 0) {
      for (let page = offset >> PAGE_SHIFT; page <= (offset + bytes - 1) >> PAGE_SHIFT; page++) {
        if (load<u8>(scratch + page) == 0) { store<u8>(scratch + page, 1); count++; }
      }
    }
    at += loadBytesInImage(bytes);
  }
  heap.free(scratch);
  return count;
}

/**
 * Restarts the VM from its image, in place: every page it wrote is zeroed, the image is
 * written again, and the vCPU is reset to boot at the image's entry. The VM's state is
 * lost — that is what a cold move means. Afterwards exactly the image's pages count as
 * touched (a full checkpoint sends only them), and every other consumer of the dirty
 * bits sees every page that changed as written. Counters, the task set the guest
 * reported, its windows and its channel ports stay: they are the board's, not the guest's.
 */
export function restartFromImage(vm: Vm): void {
  flushConsole(vm);
  const pages = vm.ramBytes >> PAGE_SHIFT;
  for (let page: u32 = 0; page < pages; page++) {
    const flags = load<u8>(vm.dirty + page);
    if ((flags & DIRTY_TOUCHED) == 0) continue;
    memory.fill(vm.ram + (<usize>page << PAGE_SHIFT), 0, PAGE_BYTES);
    noteWritten(vm, page << PAGE_SHIFT, PAGE_BYTES);
    store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) & ~DIRTY_TOUCHED);
  }
  for (let at: u32 = 0; at < vm.imageBytes;) {
    const offset = load<u32>(vm.image + at), bytes = load<u32>(vm.image + at, 4);
    memory.copy(vm.ram + offset, vm.image + at + LOAD_HEADER_BYTES, bytes);
    noteWritten(vm, offset, bytes);
    at += loadBytesInImage(bytes);
  }
  flushDecodeCache(vm);
  resetVcpu(vm);
  resetTrapCsrs(vm);
  vm.pc = vm.bootPc;
  setReg(vm, 10, vm.bootA0);
  setReg(vm, 11, vm.bootA1);
  watchTohost(vm);
}

/** The CSRs resetVcpu leaves alone (createVm zeroes them): a restart zeroes them too. */
function resetTrapCsrs(vm: Vm): void {
  vm.mtvec = 0;
  vm.mscratch = 0;
  vm.mepc = 0;
  vm.mcause = 0;
  vm.mtval = 0;
  vm.stvec = 0;
  vm.sscratch = 0;
  vm.sepc = 0;
  vm.scause = 0;
  vm.stval = 0;
  vm.scounteren = 0;
  vm.uartLineControl = 0;
  vm.yielded = false;
  vm.consoleBytes = 0;
}
