/**
 * The host's defaults in one place. Board files (boards/) will supply these
 * per processor and per VM; until then a run uses these values.
 */

/** Guest-physical base of every VM's RAM (docs/core-interface.md). */
export const GUEST_RAM_BASE = 0x8000_0000;

/** Guest RAM sizes are whole pages. */
export const GUEST_PAGE_BYTES = 4096;

/** The most RAM a VM may have: the core's limit (wit/numbers.json). */
export { MAX_VM_RAM_BYTES as MAX_RAM_BYTES } from './numbers.js';

export const DEFAULT_RAM_BYTES = 8 * 1024 * 1024;

export const DEFAULT_CLOCK_HZ = 100_000_000;

/**
 * Virtual time the host hands the core per call: long enough that call
 * overhead vanishes, short enough that a cycle limit or a future board
 * event is not overshot by much.
 */
export const DEFAULT_QUANTUM_CYCLES = 1_000_000n;

/** Bytes of the ELF symbol that ends a machine guest (HTIF convention). */
export const TOHOST_SYMBOL = 'tohost';
