// Dirty tracking: one byte per page of guest RAM (vm.dirty). Every store into RAM sets
// its page's consumer bits (DIRTY_ALL); each consumer owns one bit and clears only its
// own, so the collector, migration and replication can track writes independently
// (docs/stream-format.md, "Dirty tracking"). Bit 7 is the hart's, not a consumer's
// (DIRTY_WATCHED below).

/**
 * Whether the hart marks pages at all. Always true in the core; the checkpoint benchmark
 * builds a second core with `asc --use FERRY_NO_DIRTY_TRACKING=1` to measure what the
 * marking costs the guest. Checkpoints of that build are meaningless.
 */
// @ts-ignore: FERRY_NO_DIRTY_TRACKING exists only when asc defines it.
export const DIRTY_TRACKING: bool = !isDefined(FERRY_NO_DIRTY_TRACKING);

/** What a store sets: every consumer's bit (0-6, the free ones included). */
export const DIRTY_ALL: u8 = 0x7F;
/** Bit 0, touched since the VM was created: a full checkpoint sends the page. Nobody clears it. */
export const DIRTY_TOUCHED: u8 = 0x01;
/** Bit 1, the collector's: written since its last checkpoint; an incremental one sends the page. */
export const DIRTY_COLLECTOR: u8 = 0x02;
/** Bit 2, migration's: written since the migration manager last sent the page. */
export const DIRTY_MIGRATION: u8 = 0x04;
/** Bit 3, migration's post-copy: still to be pushed to the destination after the commit. */
export const DIRTY_POSTCOPY_PENDING: u8 = 0x08;
/**
 * Bit 4, migration's rate meter: written since the current pre-copy round began. Unlike
 * bit 2 the round's page scan never clears it, so it counts every page the VM wrote during
 * the round, also those written ahead of the scan and sent in the same round.
 */
export const DIRTY_ROUND: u8 = 0x10;
/** Bit 5, replication's: written since the last epoch the primary sent its backup (replication.ts). */
export const DIRTY_REPLICA: u8 = 0x20;
/**
 * Bit 6, the working-set tracker's (working-set.ts): written since the tracker last
 * sampled (once per pre-copy round), which shifts it into the page's recency byte.
 */
export const DIRTY_WORKING_SET: u8 = 0x40;
/**
 * Bit 7, the hart's: stores to this page take the slow path, because the page holds
 * decoded instructions (decode-cache.ts: the store may have to drop them) or the HTIF
 * tohost word (the store may end the VM). A store that finds this bit clear and the
 * consumer bits all set writes nothing here at all, which makes dirty tracking nearly
 * free. The bit may be set where it need not be (the slow path then clears it), never
 * the other way round: code that writes whole bytes must write it set (0xFF, 0xFD, ...)
 * or keep it (read-modify-write); never clear it.
 */
export const DIRTY_WATCHED: u8 = 0x80;
