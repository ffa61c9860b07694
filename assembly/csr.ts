// The emulated CSR file: machine and supervisor trap CSRs, counters, PMP registers that
// hold what firmware writes (but protect nothing), and the CSRs a system without MMU
// accepts (satp). A CSR that is not here raises an illegal-instruction exception, which
// is how firmware probes for one.
import { now, cyclesToTicks } from "./clock";
import { MODE_M, MODE_S, MODE_U } from "./config";
import { pendingBits } from "./irq";
import { pmpState, Vm } from "./vm";

export const MSTATUS_SPIE: u32 = 1 << 5;
export const MSTATUS_MPIE: u32 = 1 << 7;
export const MSTATUS_SPP: u32 = 1 << 8;
export const MSTATUS_MPP_SHIFT: u32 = 11;
export const MSTATUS_MPP: u32 = 3 << MSTATUS_MPP_SHIFT;
export const MSTATUS_MPRV: u32 = 1 << 17;
export const MSTATUS_TVM: u32 = 1 << 20;
export const MSTATUS_TW: u32 = 1 << 21;
export const MSTATUS_TSR: u32 = 1 << 22;
const MSTATUS_WRITABLE: u32 = 0x007E_19AA; // SIE MIE SPIE MPIE SPP MPP MPRV SUM MXR TVM TW TSR
const SSTATUS_VISIBLE: u32 = 0x000C_0122; // SIE SPIE SPP SUM MXR
const MIE_WRITABLE: u32 = 0xAAA;
const MIP_WRITABLE: u32 = 0x222; // SSIP STIP SEIP (MTIP, MEIP, MSIP come from devices)
const MIDELEG_WRITABLE: u32 = 0x222;
const MEDELEG_WRITABLE: u32 = 0xB3FF; // all but ecall from M and the reserved causes
/** RV32 (MXL = 1) with A, C, I, M, S and U. Read-only: C cannot be turned off, so IALIGN is always 16. */
const MISA: u32 = 0x4014_1105;

/** Returned by readCsr for a CSR that does not exist or may not be accessed. */
export const CSR_ILLEGAL: u64 = 1 << 32;

/** Cycles the VM has consumed up to the instruction now executing. */
function cyclesNow(vm: Vm): u64 {
  return vm.cycles + vm.sliceExecuted;
}

function instretNow(vm: Vm): u64 {
  return vm.executed + vm.sliceExecuted - vm.trapped;
}

/** Counters readable below M only where mcounteren (and, in U, scounteren) allow. */
function counterAllowed(vm: Vm, csr: u32): bool {
  const bit: u32 = 1 << (csr & 0x1F);
  if (vm.mode < MODE_M && (vm.mcounteren & bit) == 0) return false;
  if (vm.mode == MODE_U && (vm.scounteren & bit) == 0) return false;
  return true;
}

function isIgnoredCsr(csr: u32): bool {
  return (csr >= 0x320 && csr <= 0x33F) // mcountinhibit, mhpmevent*
    || (csr >= 0xB03 && csr <= 0xB1F) || (csr >= 0xB83 && csr <= 0xB9F) // mhpmcounter*
    || csr == 0x30A || csr == 0x31A || csr == 0x10A // menvcfg, menvcfgh, senvcfg
    || csr == 0x310; // mstatush
}

/** Privilege and read-only checks common to every CSR instruction. */
export function csrAccessAllowed(vm: Vm, csr: u32, writes: bool): bool {
  if (vm.mode < ((csr >> 8) & 3)) return false;
  if (writes && (csr >> 10) == 3) return false;
  if (csr == 0x180 && vm.mode == MODE_S && (vm.mstatus & MSTATUS_TVM) != 0) return false;
  return true;
}

// PMP: entries 0-15 are implemented (pmpcfg0-3, pmpaddr0-15), 16-63 read as zero. The
// fields are WARL with the spec's rules (reserved cfg bits 6:5 read 0, R = 0 with W = 1
// becomes W = 0, a locked entry ignores writes to its cfg and address and, if it is TOR,
// to the address below it; granularity 4 bytes), and nothing is enforced: no access is
// ever denied (docs/guests.md). Checkpoints carry them in the optional PMP record
// (docs/stream-format.md), written only when one of them is not zero.
const PMPCFG0: u32 = 0x3A0;
const PMPADDR0: u32 = 0x3B0;
const PMP_ENTRIES: u32 = 16;
const PMP_LOCKED: u32 = 0x80;
const PMP_TOR: u32 = 0x08;
const PMP_A_MASK: u32 = 0x18;

function isPmpCsr(csr: u32): bool {
  return csr >= PMPCFG0 && csr <= 0x3EF;
}

/** The cfg byte of PMP entry `entry` (< PMP_ENTRIES). */
function pmpCfg(vm: Vm, entry: u32): u32 {
  return load<u8>(pmpState(vm) + entry);
}

function readPmp(vm: Vm, csr: u32): u32 {
  if (csr < PMPCFG0 + (PMP_ENTRIES >> 2)) return load<u32>(pmpState(vm) + ((csr - PMPCFG0) << 2));
  if (csr >= PMPADDR0 && csr < PMPADDR0 + PMP_ENTRIES) return load<u32>(pmpState(vm) + 16 + ((csr - PMPADDR0) << 2));
  return 0;
}

/** A legal cfg byte for what the guest wrote: reserved bits clear, no write without read. */
function legalPmpCfg(value: u32): u32 {
  let cfg = value & 0x9F;
  if ((cfg & 3) == 2) cfg &= ~2;
  return cfg;
}

function writePmp(vm: Vm, csr: u32, value: u32): void {
  if (csr < PMPCFG0 + (PMP_ENTRIES >> 2)) {
    const first = (csr - PMPCFG0) << 2;
    for (let i: u32 = 0; i < 4; i++) {
      if ((pmpCfg(vm, first + i) & PMP_LOCKED) == 0) store<u8>(pmpState(vm) + first + i, <u8>legalPmpCfg(value >> (i << 3)));
    }
    return;
  }
  if (csr < PMPADDR0 || csr >= PMPADDR0 + PMP_ENTRIES) return; // entries 16-63: read-only zero
  const entry = csr - PMPADDR0;
  if ((pmpCfg(vm, entry) & PMP_LOCKED) != 0) return;
  const above = entry + 1 < PMP_ENTRIES ? pmpCfg(vm, entry + 1) : 0;
  if ((above & PMP_LOCKED) != 0 && (above & PMP_A_MASK) == PMP_TOR) return;
  store<u32>(pmpState(vm) + 16 + (entry << 2), value);
}

export function readCsr(vm: Vm, csr: u32): u64 {
  if (isIgnoredCsr(csr)) return 0;
  if (isPmpCsr(csr)) return readPmp(vm, csr);
  if ((csr >= 0xC00 && csr <= 0xC1F) || (csr >= 0xC80 && csr <= 0xC9F)) {
    if (!counterAllowed(vm, csr)) return CSR_ILLEGAL;
  }
  switch (csr) {
    case 0x300: return vm.mstatus;
    case 0x301: return MISA;
    case 0x302: return vm.medeleg;
    case 0x303: return vm.mideleg;
    case 0x304: return vm.mie;
    case 0x305: return vm.mtvec;
    case 0x306: return vm.mcounteren;
    case 0x340: return vm.mscratch;
    case 0x341: return vm.mepc;
    case 0x342: return vm.mcause;
    case 0x343: return vm.mtval;
    case 0x344: return pendingBits(vm, now() + vm.sliceExecuted);
    case 0x100: return vm.mstatus & SSTATUS_VISIBLE;
    case 0x104: return vm.mie & vm.mideleg;
    case 0x105: return vm.stvec;
    case 0x106: return vm.scounteren;
    case 0x140: return vm.sscratch;
    case 0x141: return vm.sepc;
    case 0x142: return vm.scause;
    case 0x143: return vm.stval;
    case 0x144: return pendingBits(vm, now() + vm.sliceExecuted) & vm.mideleg;
    case 0x180: return 0; // satp: Bare, no MMU
    case 0xB00: case 0xC00: return <u32>(cyclesNow(vm) + vm.cycleDelta);
    case 0xB80: case 0xC80: return <u32>((cyclesNow(vm) + vm.cycleDelta) >> 32);
    case 0xB02: case 0xC02: return <u32>(instretNow(vm) + vm.instretDelta);
    case 0xB82: case 0xC82: return <u32>((instretNow(vm) + vm.instretDelta) >> 32);
    case 0xC01: return <u32>cyclesToTicks(now() + vm.sliceExecuted);
    case 0xC81: return <u32>(cyclesToTicks(now() + vm.sliceExecuted) >> 32);
    case 0xF11: case 0xF12: case 0xF13: case 0xF14: case 0xF15: return 0; // ids, hart 0
  }
  if ((csr >= 0xC03 && csr <= 0xC1F) || (csr >= 0xC83 && csr <= 0xC9F)) return 0; // hpmcounters
  return CSR_ILLEGAL;
}

function withLow(value: u64, low: u32): u64 {
  return (value & 0xFFFF_FFFF_0000_0000) | <u64>low;
}

function withHigh(value: u64, high: u32): u64 {
  return (value & 0xFFFF_FFFF) | (<u64>high << 32);
}

function writeMstatus(vm: Vm, value: u32): void {
  let next = (vm.mstatus & ~MSTATUS_WRITABLE) | (value & MSTATUS_WRITABLE);
  // MPP is WARL over the implemented modes M, S, U: a write of the reserved 2 keeps the old value.
  if (((next & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2) next = (next & ~MSTATUS_MPP) | (vm.mstatus & MSTATUS_MPP);
  vm.mstatus = next;
}

/** Trap vector: direct (0) or vectored (1); the reserved modes are not kept. */
function legalTvec(value: u32): u32 {
  return (value & 3) >= 2 ? value & ~3 : value;
}

/** Writes a CSR already checked by csrAccessAllowed; false if it does not exist. */
export function writeCsr(vm: Vm, csr: u32, value: u32): bool {
  if (isIgnoredCsr(csr)) return true;
  if (isPmpCsr(csr)) { writePmp(vm, csr, value); return true; }
  switch (csr) {
    case 0x300: writeMstatus(vm, value); return true;
    case 0x301: return true; // misa: fixed
    case 0x302: vm.medeleg = value & MEDELEG_WRITABLE; return true;
    case 0x303: vm.mideleg = value & MIDELEG_WRITABLE; return true;
    case 0x304: vm.mie = value & MIE_WRITABLE; return true;
    case 0x305: vm.mtvec = legalTvec(value); return true;
    case 0x306: vm.mcounteren = value; return true;
    case 0x340: vm.mscratch = value; return true;
    case 0x341: vm.mepc = value & ~1; return true; // IALIGN = 16
    case 0x342: vm.mcause = value; return true;
    case 0x343: vm.mtval = value; return true;
    case 0x344: vm.mipSoft = (vm.mipSoft & ~MIP_WRITABLE) | (value & MIP_WRITABLE); return true;
    case 0x100: writeMstatus(vm, (vm.mstatus & ~SSTATUS_VISIBLE) | (value & SSTATUS_VISIBLE)); return true;
    case 0x104: vm.mie = (vm.mie & ~vm.mideleg) | (value & vm.mideleg); return true;
    case 0x105: vm.stvec = legalTvec(value); return true;
    case 0x106: vm.scounteren = value; return true;
    case 0x140: vm.sscratch = value; return true;
    case 0x141: vm.sepc = value & ~1; return true;
    case 0x142: vm.scause = value; return true;
    case 0x143: vm.stval = value; return true;
    case 0x144: { // sip: only SSIP is writable from S, and only when delegated
      const mask = vm.mideleg & 2;
      vm.mipSoft = (vm.mipSoft & ~mask) | (value & mask);
      return true;
    }
    case 0x180: return true; // satp: writes of unsupported modes are ignored
    case 0xB00: vm.cycleDelta = withLow(cyclesNow(vm) + vm.cycleDelta, value) - cyclesNow(vm); return true;
    case 0xB80: vm.cycleDelta = withHigh(cyclesNow(vm) + vm.cycleDelta, value) - cyclesNow(vm); return true;
    // The write happens in place of this instruction retiring, so it counts one less.
    case 0xB02: vm.instretDelta = withLow(instretNow(vm) + vm.instretDelta, value) - instretNow(vm) - 1; return true;
    case 0xB82: vm.instretDelta = withHigh(instretNow(vm) + vm.instretDelta, value) - instretNow(vm) - 1; return true;
  }
  return false;
}
