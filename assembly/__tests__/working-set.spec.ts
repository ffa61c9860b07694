// Working-set ordering (working-set.ts): each page's recency is the rounds it was written
// in; a round's order puts never-written pages first and the latest round's last, and
// holds back the predicted-hot pages — written in the latest round and at least once
// more — for the blackout, never more than it is allowed.
import { KIND_PARAVIRTUAL, PAGE_SHIFT } from "../config";
import { DIRTY_MIGRATION, DIRTY_WORKING_SET } from "../dirty-tracking";
import { ORDER_HELD, WorkingSet } from "../working-set";
import { Vm } from "../vm";
import { newVm } from "./helpers/vm";

const RAM: u32 = 64 * 1024; // 16 pages

function write(vm: Vm, page: u32): void {
  store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) | DIRTY_WORKING_SET | DIRTY_MIGRATION);
}

function order(ws: WorkingSet, page: u32): u8 {
  return load<u8>(ws.order + page);
}

describe("working-set ordering", () => {
  it("orders a round by recency and holds back the pages written round after round", () => {
    const vm = newVm(KIND_PARAVIRTUAL, RAM);
    const ws = new WorkingSet();
    ws.start(vm);
    // Round 1: pages 0-3 written; round 2: pages 0-1 again, and page 5; round 3: page 0, 1 and 6.
    for (let p: u32 = 0; p < 4; p++) write(vm, p);
    ws.sample(vm);
    write(vm, 0); write(vm, 1); write(vm, 5);
    ws.sample(vm);
    write(vm, 0); write(vm, 1); write(vm, 6);
    ws.sample(vm);
    for (let p: u32 = 0; p < (RAM >> PAGE_SHIFT); p++) store<u8>(vm.dirty + p, load<u8>(vm.dirty + p) | DIRTY_MIGRATION);
    ws.plan(vm, DIRTY_MIGRATION, 8);
    expect(order(ws, 0)).toBe(ORDER_HELD, "written in all three rounds: predicted hot");
    expect(order(ws, 1)).toBe(ORDER_HELD);
    expect(order(ws, 6)).toBe(3, "written once, in the latest round: hottest bucket, but not predicted hot");
    expect(order(ws, 5)).toBe(2, "written the round before");
    expect(order(ws, 2)).toBe(1, "written three rounds ago");
    expect(order(ws, 9)).toBe(0, "never written: cold, first");
    expect(ws.heldPages).toBe(2);
  });

  it("holds back no more than it may, the most recently and often written first", () => {
    const vm = newVm(KIND_PARAVIRTUAL, RAM);
    const ws = new WorkingSet();
    ws.start(vm);
    for (let round = 0; round < 3; round++) {
      for (let p: u32 = 0; p < 6; p++) if (p < 2 || round > 0) write(vm, p);
      ws.sample(vm);
    }
    ws.plan(vm, DIRTY_MIGRATION, 3);
    expect(ws.heldPages).toBeLessThanOrEqual(3);
    expect(order(ws, 0)).toBe(ORDER_HELD, "written in all three rounds");
    expect(order(ws, 1)).toBe(ORDER_HELD);
    ws.plan(vm, DIRTY_MIGRATION, 0);
    expect(ws.heldPages).toBe(0);
    ws.release();
  });
});
