// The load monitor's picture of windows (load-monitor.ts): a VM's windows as slices of
// the major frame, marked whenever a window touches a slice, so that a VM is never judged
// to fit where its windows overlap a peer's; windows that meet on a slice boundary (whole
// milliseconds of a 10 ms frame) do not collide. And a peer's load report, taken apart.
import { setClockHz } from "../clock";
import { KIND_PARAVIRTUAL, LOAD_REPORT_BYTES, LOAD_PARAM_PERIOD_NS, LOAD_PARAM_SLEEP, LOAD_PARAM_STRATEGY, STRATEGY_COLD, STRATEGY_COUNT, STRATEGY_STOP_COPY, STRATEGY_TRACE_REPLAY } from "../config";
import { framesDropped } from "../communication";
import {
  addVmSlices, fitsSlices, peerFlags, peerFreePages, peerFrameUs, peerKnown, peerSlices, peerUtilisation, peerVms,
  receiveLoadReport, setLoadParam, SLICE_WORDS,
} from "../load-monitor";
import { addWindow, clearSchedule, setMajorFrame } from "../schedule";
import { newVm } from "./helpers/vm";

const FRAME_NS: u64 = 10_000_000;

function bit(mask: StaticArray<u64>, slice: i32): bool {
  return (mask[slice >> 6] & (<u64>1 << <u64>(slice & 63))) != 0;
}

function marked(mask: StaticArray<u64>): i32 {
  let n = 0;
  for (let s = 0; s < 250; s++) if (bit(mask, s)) n++;
  return n;
}

describe("the load monitor's window slices", () => {
  it("marks every slice a window touches, and nothing else", () => {
    setClockHz(100_000_000);
    const vm = newVm(KIND_PARAVIRTUAL, 64 * 1024);
    const other = newVm(KIND_PARAVIRTUAL, 64 * 1024); // (each new test VM takes the whole schedule: set it afterwards)
    clearSchedule();
    expect(setMajorFrame(FRAME_NS)).toBe(true);
    expect(addWindow(vm.id, 2_000_000, 2_000_000)).toBe(true); // 2-4 ms: slices 50-99 of 250 (40 us each)
    const mask = new StaticArray<u64>(SLICE_WORDS);
    addVmSlices(vm.id, mask, 0);
    expect(marked(mask)).toBe(50);
    expect(bit(mask, 49)).toBe(false);
    expect(bit(mask, 50)).toBe(true);
    expect(bit(mask, 99)).toBe(true);
    expect(bit(mask, 100)).toBe(false);
    // A window off the slice grid (6.01-6.06 ms) marks both slices it touches.
    expect(addWindow(other.id, 6_010_000, 50_000)).toBe(true); // 6.01-6.06 ms: slices 150 and 151
    const second = new StaticArray<u64>(SLICE_WORDS);
    addVmSlices(other.id, second, 0);
    expect(marked(second)).toBe(2);
    expect(bit(second, 150)).toBe(true);
    expect(bit(second, 151)).toBe(true);
  });

  it("fits a VM where its slices are free, not where they overlap, and windows that meet do not collide", () => {
    setClockHz(100_000_000);
    const vm = newVm(KIND_PARAVIRTUAL, 64 * 1024);
    clearSchedule();
    expect(setMajorFrame(FRAME_NS)).toBe(true);
    expect(addWindow(vm.id, 2_000_000, 2_000_000)).toBe(true);
    const frameUs = <u32>(FRAME_NS / 1000);
    const peer = new StaticArray<u64>(SLICE_WORDS);
    // The peer's windows: 0-2 ms and 4-6 ms, meeting this VM's at 2 and 4 ms.
    for (let s = 0; s < 50; s++) peer[s >> 6] |= <u64>1 << <u64>(s & 63);
    for (let s = 100; s < 150; s++) peer[s >> 6] |= <u64>1 << <u64>(s & 63);
    expect(fitsSlices(vm, frameUs, 1000, 2, peer, 0)).toBe(true);
    // One more slice, 4.00-4.04 ms → 3.96-4.00 ms: overlaps.
    peer[99 >> 6] |= <u64>1 << <u64>(99 & 63);
    expect(fitsSlices(vm, frameUs, 1000, 2, peer, 0)).toBe(false);
    peer[99 >> 6] &= ~(<u64>1 << <u64>(99 & 63));
    // RAM: 16 pages needed; a full VM table; another major frame; the default schedule there.
    expect(fitsSlices(vm, frameUs, 15, 2, peer, 0)).toBe(false);
    expect(fitsSlices(vm, frameUs, 16, 2, peer, 0)).toBe(true);
    expect(fitsSlices(vm, frameUs, 1000, 16, peer, 0)).toBe(false);
    expect(fitsSlices(vm, 20_000, 1000, 2, peer, 0)).toBe(false);
    expect(fitsSlices(vm, 0, 1000, 2, peer, 0)).toBe(false);
  });
});

describe("a peer's load report", () => {
  it("is taken apart field by field; one of another length is dropped and counted", () => {
    const report = new StaticArray<u8>(LOAD_REPORT_BYTES);
    const at = changetype<usize>(report);
    store<u16>(at, 812);
    store<u16>(at, 4 | 8, 2);
    store<u16>(at, 3, 4);
    store<u32>(at, 1234, 8);
    store<u32>(at, 10_000, 12);
    store<u64>(at, 0xF0, 16);
    store<u64>(at, 1, 40);
    receiveLoadReport(5, at, LOAD_REPORT_BYTES);
    expect(peerKnown[5]).toBe(true);
    expect(peerUtilisation[5]).toBe(812);
    expect(peerFlags[5]).toBe(12);
    expect(peerVms[5]).toBe(3);
    expect(peerFreePages[5]).toBe(1234);
    expect(peerFrameUs[5]).toBe(10_000);
    expect(peerSlices[5 * SLICE_WORDS]).toBe(0xF0);
    expect(peerSlices[5 * SLICE_WORDS + 3]).toBe(1);
    const dropped = framesDropped;
    receiveLoadReport(6, at, LOAD_REPORT_BYTES - 1);
    expect(framesDropped).toBe(dropped + 1);
    expect(peerKnown[6]).toBe(false);
  });
});

describe("load parameters", () => {
  it("refuses an unknown key and values out of range", () => {
    expect(setLoadParam(99, 1)).toBe(false);
    expect(setLoadParam(LOAD_PARAM_PERIOD_NS, 999)).toBe(false);
    expect(setLoadParam(LOAD_PARAM_STRATEGY, STRATEGY_COUNT)).toBe(false);
    expect(setLoadParam(LOAD_PARAM_STRATEGY, STRATEGY_COLD)).toBe(false); // a load policy keeps the VM's state
    expect(setLoadParam(LOAD_PARAM_STRATEGY, STRATEGY_TRACE_REPLAY)).toBe(true);
    expect(setLoadParam(LOAD_PARAM_STRATEGY, STRATEGY_STOP_COPY)).toBe(true);
    expect(setLoadParam(LOAD_PARAM_SLEEP, 2)).toBe(false);
    expect(setLoadParam(LOAD_PARAM_PERIOD_NS, 20_000_000)).toBe(true);
  });
});
