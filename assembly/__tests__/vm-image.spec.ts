// A VM's boot image (vm-image.ts): what vmLoad wrote before the first instruction is
// kept, and a restart (a cold move's) puts exactly that back — RAM the guest wrote is
// zero again, the vCPU boots at the image's entry, and only the image's pages count as
// touched, so a full checkpoint afterwards sends the image and nothing else.
import { KIND_MACHINE, PAGE_SHIFT, RAM_BASE } from "../config";
import { DIRTY_TOUCHED } from "../dirty-tracking";
import { stagingBuffer, vmBoot, vmLoad } from "../index";
import { hasImage, imagePages, restartFromImage } from "../vm-image";
import { Vm } from "../vm";
import { addi, jal, sw } from "./helpers/encode";
import { CODE, DATA, newVm, peek, reg, setRegister, step } from "./helpers/vm";

const T0: u32 = 5, T2: u32 = 7;
const RAM: u32 = 64 * 1024;

/** Loads `words` at `addr` through vmLoad, as the host's loader does. */
function loadWords(vm: Vm, addr: u32, words: u32[]): void {
  const staging = stagingBuffer();
  for (let i = 0; i < words.length; i++) store<u32>(staging + (<usize>i << 2), words[i]);
  expect(vmLoad(vm.id, addr, staging, words.length * 4)).toBe(0);
}

function touched(vm: Vm, addr: u32): bool {
  return (load<u8>(vm.dirty + ((addr - RAM_BASE) >> PAGE_SHIFT)) & DIRTY_TOUCHED) != 0;
}

let vm: Vm | null = null;

/** A VM with a 3-instruction image at CODE (t0 += 1; store t0 at 0(t2); loop) and a data word in another page. */
function bootedVm(): Vm {
  if (vm == null) {
    vm = newVm(KIND_MACHINE, RAM);
    loadWords(vm!, CODE, [addi(T0, T0, 1), sw(T0, T2, 0), jal(0, -8)]);
    loadWords(vm!, RAM_BASE + 0x3000, [0x12345678]);
    expect(vmBoot(vm!.id, CODE, 7, 9)).toBe(0);
  }
  return vm!;
}

describe("the boot image", () => {
  it("is what vmLoad wrote before the first instruction, in the pages it wrote", () => {
    const vm = bootedVm();
    expect(hasImage(vm)).toBe(true);
    expect(imagePages(vm)).toBe(2);
  });

  it("a restart zeroes what the guest wrote, puts the image back and boots at its entry", () => {
    const vm = bootedVm();
    setRegister(vm, T2, DATA);
    step(vm, 7);
    expect(peek(vm, DATA)).toBeGreaterThan(0, "the guest wrote its data word");
    store<u32>(vm.ram + 0x3000, 0xDEAD); // and over its image's data
    expect(touched(vm, DATA)).toBe(true);
    restartFromImage(vm);
    expect(peek(vm, DATA)).toBe(0);
    expect(peek(vm, RAM_BASE + 0x3000)).toBe(0x12345678);
    expect(peek(vm, CODE)).toBe(addi(T0, T0, 1));
    expect(vm.pc).toBe(CODE);
    expect(reg(vm, 10)).toBe(7);
    expect(reg(vm, 11)).toBe(9);
    expect(reg(vm, T0)).toBe(0);
    expect(touched(vm, DATA)).toBe(false, "a page outside the image is no longer touched");
    expect(touched(vm, CODE)).toBe(true);
    expect(touched(vm, RAM_BASE + 0x3000)).toBe(true);
  });

  it("runs the image again after the restart, from its first instruction", () => {
    const vm = bootedVm();
    setRegister(vm, T2, DATA);
    step(vm, 2);
    expect(peek(vm, DATA)).toBe(1);
  });

  it("a load into a VM that has run is not part of its image", () => {
    const vm = bootedVm();
    loadWords(vm, RAM_BASE + 0x5000, [1, 2, 3]);
    expect(imagePages(vm)).toBe(2);
    restartFromImage(vm);
    expect(peek(vm, RAM_BASE + 0x5000)).toBe(0);
  });
});
