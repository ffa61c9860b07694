// Dirty tracking: one byte per page of guest RAM (vm.dirty). Every store into RAM sets
// its page's byte to 0xFF; each consumer owns one bit and clears only its own, so the
// collector, migration and replication can track writes independently
// (docs/stream-format.md, "Dirty tracking").

/**
 * Whether the hart marks pages at all. Always true in the core; the checkpoint benchmark
 * builds a second core with `asc --use FERRY_NO_DIRTY_TRACKING=1` to measure what the
 * marking costs the guest. Checkpoints of that build are meaningless.
 */
// @ts-ignore: FERRY_NO_DIRTY_TRACKING exists only when asc defines it.
export const DIRTY_TRACKING: bool = !isDefined(FERRY_NO_DIRTY_TRACKING);

/** What a store writes: every consumer's bit set. */
export const DIRTY_ALL: u8 = 0xFF;
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
// Bits 6-7 (0xC0) are free.
