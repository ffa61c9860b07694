// Working-set ordering for pre-copy (after the LRU working-set predictors of the
// migration literature): each page's write recency, kept as one byte per page beside the
// dirty map — a shift register of the rounds it was written in (bit 7: the latest round,
// bit 0: eight rounds ago), sampled from dirty bit 6 at the end of every round. A round
// then sends its pages coldest first and hottest last (a page sent late is less likely
// to be written again before the round ends), and leaves the pages predicted hot —
// written in the latest round and in at least one more of the last eight — for the
// blackout instead of resending them every round (docs/migration.md, "Working-set
// ordering").
import { PAGE_SHIFT } from "./config";
import { DIRTY_WORKING_SET } from "./dirty-tracking";
import { Vm } from "./vm";

/** A round sends its pages in this many passes, bucket 0 (cold) first. */
export const ORDER_BUCKETS: u8 = 4;
/** The order byte of a page this round leaves for the blackout. */
export const ORDER_HELD: u8 = 0xFF;

/** The bucket of a page with recency byte `recency`: not written in eight rounds, last three or more rounds ago, the round before the latest, the latest. */
function bucketOf(recency: u32): u8 {
  if (recency == 0) return 0;
  if (recency < 0x40) return 1;
  if (recency < 0x80) return 2;
  return 3;
}

/** Written in the latest round and in at least one more of the last eight. */
@inline function predictedHot(recency: u32): bool {
  return recency >= 0x80 && popcnt<u32>(recency) >= 2;
}

export class WorkingSet {
  /** One recency byte per page. */
  recency: usize = 0;
  /** One order byte per page for the current round: its bucket, or ORDER_HELD. */
  order: usize = 0;
  pages: u32 = 0;
  /** Pages the current round leaves for the blackout. */
  heldPages: u64 = 0;

  /** Starts tracking `vm`: no page has a history yet. */
  start(vm: Vm): void {
    this.release();
    this.pages = vm.ramBytes >> PAGE_SHIFT;
    this.recency = heap.alloc(this.pages);
    this.order = heap.alloc(this.pages);
    memory.fill(this.recency, 0, this.pages);
    memory.fill(this.order, 0, this.pages);
    this.heldPages = 0;
    clearWorkingSetBits(vm);
  }

  release(): void {
    if (this.recency != 0) heap.free(this.recency);
    if (this.order != 0) heap.free(this.order);
    this.recency = 0;
    this.order = 0;
    this.pages = 0;
  }

  /** A round ended: shift whether each page was written during it into its recency byte. */
  sample(vm: Vm): void {
    for (let page: u32 = 0; page < this.pages; page++) {
      const dirty = load<u8>(vm.dirty + page);
      const written: u32 = (dirty & DIRTY_WORKING_SET) != 0 ? 0x80 : 0;
      store<u8>(this.recency + page, <u8>((<u32>load<u8>(this.recency + page) >> 1) | written));
      if (written != 0) store<u8>(vm.dirty + page, dirty & ~DIRTY_WORKING_SET);
    }
  }

  /**
   * The order of the next round over the pages with `bit` set: each its bucket, except the
   * hottest predicted-hot pages, at most `maxHeld` of them (the hottest by recency first),
   * which it leaves for the blackout.
   */
  plan(vm: Vm, bit: u8, maxHeld: u64): void {
    const histogram = new StaticArray<u32>(256);
    for (let page: u32 = 0; page < this.pages; page++) {
      const recency = <u32>load<u8>(this.recency + page);
      if ((load<u8>(vm.dirty + page) & bit) != 0 && predictedHot(recency)) unchecked(histogram[recency]++);
    }
    // The lowest recency that still keeps the held set within maxHeld.
    let held: u64 = 0;
    let threshold: u32 = 256;
    for (let value: i32 = 255; value >= 0x80; value--) {
      const count = <u64>unchecked(histogram[value]);
      if (held + count > maxHeld) break;
      held += count;
      threshold = <u32>value;
    }
    this.heldPages = 0;
    for (let page: u32 = 0; page < this.pages; page++) {
      const recency = <u32>load<u8>(this.recency + page);
      const hold = (load<u8>(vm.dirty + page) & bit) != 0 && predictedHot(recency) && recency >= threshold;
      store<u8>(this.order + page, hold ? ORDER_HELD : bucketOf(recency));
      if (hold) this.heldPages++;
    }
  }
}

function clearWorkingSetBits(vm: Vm): void {
  const pages = <usize>(vm.ramBytes >> PAGE_SHIFT);
  const keep: u8 = ~DIRTY_WORKING_SET;
  for (let page: usize = 0; page < pages; page++) store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) & keep);
}
