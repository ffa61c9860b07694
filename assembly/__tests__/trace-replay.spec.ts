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
import { MigrationStream } from "../migration-stream";
import { drainOut, REC_INPUT_LOG, useWriter } from "../stream";
import { replaySlice, stateDigest, TraceSource } from "../trace-replay";
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

  test("a batch longer than a record goes in several, each ending where its last input's instruction did", () => {
    const vm = cleanVm(paravirtualVm());
    const source = new TraceSource();
    const stream = new MigrationStream();
    startLogging(vm);
    const inputs: u32 = 10_000; // 320 000 bytes of entries: more than one record's 256 KiB
    for (let i: u32 = 0; i < inputs; i++) {
      vm.executed = <u64>i * 3;
      csrInput(vm, 0xC01, i);
    }
    vm.executed = 40_000;
    useWriter(stream.writer);
    source.cut(vm, stream, true, 0x1234_5678);
    const out = heap.alloc(1 << 20);
    const bytes = drainOut(out, 1 << 20);
    expect(load<u32>(out)).toBe(REC_INPUT_LOG);
    const first = out + 8;
    const firstCount = load<u32>(first, 4);
    expect(load<u32>(first)).toBe(0); // not final: the batch goes on
    expect(load<u64>(first, 8)).toBe(0);
    expect(load<u64>(first, 16)).toBe(<u64>(firstCount - 1) * 3 + 1); // just past its last input's instruction
    const next = out + 8 + ((load<u32>(out, 4) + 4 + 7) & ~7);
    expect(load<u32>(next)).toBe(REC_INPUT_LOG);
    const second = next + 8;
    expect(load<u32>(second)).toBe(1); // final
    expect(load<u64>(second, 8)).toBe(load<u64>(first, 16));
    expect(load<u64>(second, 16)).toBe(40_000);
    expect(load<u32>(second, 24)).toBe(0x1234_5678);
    expect(firstCount + load<u32>(second, 4)).toBe(inputs);
    expect(<usize>bytes).toBe(next - out + 8 + ((load<u32>(next, 4) + 4 + 7) & ~7));
    stopLogging(vm);
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
