// The migration protocol's messages (docs/migration.md, "Messages"): their types and body
// layouts, written and read in one place. Every time in them is board nanoseconds: each
// processor converts to and from its own cycles at its own edge (clock.ts).
export const MSG_PREPARE: u32 = 1;
export const MSG_DATA: u32 = 2;
export const MSG_COMMIT: u32 = 3;
export const MSG_CANCEL: u32 = 4;
export const MSG_PREPARE_REPLY: u32 = 5;
export const MSG_COMMIT_REPLY: u32 = 6;
export const MSG_POSTCOPY_DONE: u32 = 7;
export const MSG_PAGE_REQUEST: u32 = 8;
/** Trace-replay, destination → source: u64 the instruction count the replay has reached. */
export const MSG_REPLAY_PROGRESS: u32 = 9;

/** PREPARE: u32 kind, u32 ramBytes, u32 windows, u32 quiet us (post-copy's watch), u32 ports, u32 give-up timeouts, u32 replaces (1 + a protection, 0 none), u32 affordable us | pinned (bit 31), then per window u64 offset ns, u64 duration ns. */
export const PREPARE_HEADER_BYTES: u32 = 32;
/** PREPARE's last word: the VM's configured affordable downtime in us (bits 0-30, 0 none) and whether it is pinned (bit 31). */
export const AFFORDABLE_US_MAX: u32 = 0x7FFF_FFFF;
export const PREPARE_PINNED: u32 = 0x8000_0000;
export const PREPARE_WINDOW_BYTES: u32 = 16;
export const MAX_PREPARE_WINDOWS: u32 = 16;

/** PREPARE_REPLY: u32 status (0 or a reason), u32 the VM's handle there, u32 its clock Hz, u32 0, u64 the longest wait for the VM's window there, ns. */
export const PREPARE_REPLY_BYTES: u32 = 24;

/** COMMIT: u64 board time the VM stopped, u64 blackout stream bytes, u32 flags, u32 0, u64 the bound ns. */
export const COMMIT_BODY_BYTES: u32 = 32;
export const COMMIT_FLAG_POSTCOPY: u32 = 1;

/** COMMIT_REPLY: u32 status (0 applied), u32 the VM's handle there. */
export const COMMIT_REPLY_BYTES: u32 = 8;
