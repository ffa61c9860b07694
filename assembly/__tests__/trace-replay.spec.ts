// Trace-replay's inputs (input-log.ts) and replay (trace-replay.ts): a time read on the
// source is logged with its position; the same program replayed later, at another time,
// reads the logged value and stores the same word; an input the log does not have voids
// the replay; the digest covers what execution decides.
import { advance } from "../clock";
import { RAM_BASE } from "../config";
import {
  appendReplay, csrInput, endReplay, ENTRY_BYTES, loggedBytes, loggedEntries, loggedPtr, replayDiverged, startLogging, startReplay,
  stopLogging, TRACE_OFF,
} from "../input-log";
import { replaySlice, stateDigest } from "../trace-replay";
import { encodeI, encodeS } from "./helpers/encode";
import { cleanVm, CODE, DATA, paravirtualVm, peek, program, setRegister, step } from "./helpers/vm";

const X10: u32 = 10, X11: u32 = 11;
/** csrrs x10, time, x0; sw x10, 0(x11); then a time read again. */
const PROGRAM: u32[] = [encodeI(0x73, X10, 2, 0, 0xC01), encodeS(0x23, 2, X11, X10, 0), encodeI(0x73, X10, 2, 0, 0xC01)];

describe("trace-replay", () => {
  test("a time read is logged with its position and replayed, whatever the time is then", () => {
    const vm = cleanVm(paravirtualVm());
    program(vm, PROGRAM);
    setRegister(vm, X11, DATA);
    advance(1_000_000);
    startLogging(vm);
    expect(step(vm, 2)).toBe(2);
    const seen = peek(vm, DATA);
    expect(seen).not.toBe(0);
    expect(loggedEntries()).toBe(1);
    expect(loggedBytes()).toBe(ENTRY_BYTES);
    expect(load<u64>(loggedPtr())).toBe(0); // the first instruction
    const log = heap.alloc(ENTRY_BYTES);
    memory.copy(log, loggedPtr(), ENTRY_BYTES);
    stopLogging(vm);
    expect(vm.traceMode).toBe(TRACE_OFF);
    const sourceDigest = stateDigest(vm);

    // The same VM from the same start, five million cycles later: the replay reads the log.
    cleanVm(vm);
    program(vm, PROGRAM);
    setRegister(vm, X11, DATA);
    advance(5_000_000);
    startReplay(vm);
    appendReplay(log, ENTRY_BYTES, 2, true);
    expect(replaySlice(vm, 100)).toBe(2); // never past what the log covers
    expect(peek(vm, DATA)).toBe(seen);
    expect(replayDiverged()).toBe(false);
    expect(stateDigest(vm)).toBe(sourceDigest);
    endReplay(vm);
  });

  test("an input the log does not have voids the replay", () => {
    const vm = cleanVm(paravirtualVm());
    program(vm, PROGRAM);
    setRegister(vm, X11, DATA);
    startReplay(vm);
    appendReplay(0, 0, 3, true); // a log that says the source ran 3 instructions with no input
    replaySlice(vm, 100);
    expect(replayDiverged()).toBe(true);
    endReplay(vm);
  });

  test("reads of CSRs execution decides are no inputs", () => {
    const vm = cleanVm(paravirtualVm());
    startLogging(vm);
    expect(csrInput(vm, 0x100, 7)).toBe(7); // sstatus
    expect(csrInput(vm, 0xC02, 9)).toBe(9); // instret
    expect(loggedEntries()).toBe(0);
    expect(csrInput(vm, 0x144, 0x20)).toBe(0x20); // sip: the timer line
    expect(loggedEntries()).toBe(1);
    stopLogging(vm);
  });

  test("the digest sees a byte of RAM and a register", () => {
    const vm = cleanVm(paravirtualVm());
    program(vm, PROGRAM);
    const before = stateDigest(vm);
    store<u8>(vm.ram + (DATA - RAM_BASE), 1);
    store<u8>(vm.dirty + ((DATA - RAM_BASE) >> 12), 0xFF);
    const afterRam = stateDigest(vm);
    expect(afterRam).not.toBe(before);
    setRegister(vm, X10, 1);
    expect(stateDigest(vm)).not.toBe(afterRam);
    expect(CODE).toBe(RAM_BASE);
  });
});
