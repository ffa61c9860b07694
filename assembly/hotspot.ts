// Hotspot relief (after Sandpiper: a resource over its threshold for a sustained time;
// docs/load-policies.md). A processor is hot in a load period when its utilisation is at
// or above the hot threshold, when at least the overrun threshold of its VMs' windows
// overran, or when its VMs missed at least the misses threshold of deadlines. Hot without
// a break for the sustained time, it moves one VM away: the one with the most load per
// byte to move (Sandpiper's volume-to-size ratio: its share of the period over its RAM),
// to the peer where it fits best — its RAM free there, its windows free in that peer's
// major frame, and the peer's load with the VM's below both the hot threshold and the
// fill limit; the least loaded such peer, an awake one before a sleeping one. The move
// goes through the migration manager, whose admission starts it only if its downtime
// bound fits the VM's affordable downtime; turned down, the VM's next best peer is tried,
// then the next VM. A VM that moved is held for the hold time, and so is a peer a move of
// the VM was turned down by (load-monitor.ts). After a move the processor measures afresh:
// still hot for the sustained time, it moves the next.
import { getProcessorId, nowNs } from "./clock";
import {
  LOAD_CAUSE_MISSES, LOAD_CAUSE_OVERRUNS, LOAD_CAUSE_UTILISATION, LOAD_PARAM_FILL_PERMILLE, LOAD_PARAM_HOT_MISSES,
  LOAD_PARAM_HOT_OVERRUN_PERMILLE, LOAD_PARAM_HOT_SUSTAINED_NS, LOAD_PARAM_HOT_UTILISATION_PERMILLE, LOAD_STAT_HOT_NS,
  LOAD_STAT_HOT_SINCE_NS, LOAD_STAT_RELIEF_MOVES, MAX_PEERS, MAX_VMS,
} from "./config";
import {
  FLAG_ASLEEP, FLAG_EVACUATING, FLAG_HOT, FLAG_RECEIVING, fitsSlices, hotspotOn, loadParam, loadStats, missesInPeriod, movable,
  overrunPermille, peerAllowed, peerFlags, peerFrameUs, peerFreePages, peerSlices, peerUsable, peerUtilisation, peerVms, periodStartNs,
  setOwnFlag, settled, SLICE_WORDS, startLoadMove, utilisationPermille, vmUtilisationPermille,
} from "./load-monitor";
import { Vm, vmAtSlot } from "./vm";

const NO_PEER: u32 = 0xFFFF_FFFF;
/** Hot without a break since hotSinceNs (the start of the first hot period of the spell). */
let hotSpell = false;
let hotSinceNs: u64 = 0;
let hot = false;
const tried = new StaticArray<bool>(MAX_VMS);
let lastMeasuredNs: u64 = 0;

/** Why the last period was hot (LoadCause), 0 if it was not. */
function hotCause(): u64 {
  const misses = loadParam(LOAD_PARAM_HOT_MISSES);
  if (misses != 0 && missesInPeriod >= misses) return LOAD_CAUSE_MISSES;
  const overruns = loadParam(LOAD_PARAM_HOT_OVERRUN_PERMILLE);
  if (overruns != 0 && <u64>overrunPermille >= overruns) return LOAD_CAUSE_OVERRUNS;
  const utilisation = loadParam(LOAD_PARAM_HOT_UTILISATION_PERMILLE);
  if (utilisation != 0 && <u64>utilisationPermille >= utilisation) return LOAD_CAUSE_UTILISATION;
  return 0;
}

/** Is this processor hot now (for consolidation: a hot processor takes nothing on)? */
export function isHot(): bool {
  return hot;
}

/** The most a peer may be loaded after taking a VM for a relief: below the hot threshold and within the fill limit. */
function reliefLimitPermille(): u64 {
  const fill = loadParam(LOAD_PARAM_FILL_PERMILLE);
  const hotAt = loadParam(LOAD_PARAM_HOT_UTILISATION_PERMILLE);
  return hotAt != 0 && hotAt - 1 < fill ? hotAt - 1 : fill;
}

/** The peer where `vm` (in `slot`) fits best for a relief, or NO_PEER. */
function bestPeerFor(vm: Vm, slot: i32, share: u32): u32 {
  const limit = reliefLimitPermille();
  let best = NO_PEER;
  let bestLoad: u64 = u64.MAX_VALUE;
  for (let peer: u32 = 0; peer < MAX_PEERS; peer++) {
    if (!peerUsable(peer) || !peerAllowed(slot, peer)) continue;
    const flags = unchecked(peerFlags[peer]);
    if ((flags & (FLAG_HOT | FLAG_EVACUATING | FLAG_RECEIVING)) != 0) continue;
    const after = <u64>unchecked(peerUtilisation[peer]) + <u64>share;
    if (after > limit) continue;
    if (!fitsSlices(vm, unchecked(peerFrameUs[peer]), unchecked(peerFreePages[peer]), unchecked(peerVms[peer]), peerSlices, <i32>peer * SLICE_WORDS)) continue;
    // An awake peer before a sleeping one (waking one costs energy), then the least loaded, then the lowest id.
    const rank = ((flags & FLAG_ASLEEP) != 0 ? <u64>1 << 32 : 0) + after;
    if (rank < bestLoad) { bestLoad = rank; best = peer; }
  }
  return best;
}

/** Once a load period: is the processor hot, for how long, and is a VM to move away? */
export function relieveHotspot(): void {
  if (!hotspotOn()) return;
  const t = nowNs();
  const cause = hotCause();
  if (hot) unchecked(loadStats[LOAD_STAT_HOT_NS] += t - lastMeasuredNs);
  lastMeasuredNs = t;
  hot = cause != 0;
  setOwnFlag(FLAG_HOT, hot);
  if (!hot) { hotSpell = false; unchecked(loadStats[LOAD_STAT_HOT_SINCE_NS] = 0); return; }
  if (!hotSpell) { hotSpell = true; hotSinceNs = periodStartNs; } // hot over the whole period measured
  unchecked(loadStats[LOAD_STAT_HOT_SINCE_NS] = hotSinceNs);
  if (!settled() || t - hotSinceNs < loadParam(LOAD_PARAM_HOT_SUSTAINED_NS)) return;
  // Candidates by load per byte to move, most first; the first that fits a peer and is admitted goes.
  for (let slot = 0; slot < MAX_VMS; slot++) unchecked(tried[slot] = false);
  for (let round = 0; round < MAX_VMS; round++) {
    let pick = -1;
    let pickRatio: u64 = 0;
    for (let slot = 0; slot < MAX_VMS; slot++) {
      const vm = vmAtSlot(slot);
      if (vm == null || unchecked(tried[slot]) || !movable(vm, slot)) continue;
      const ratio = (<u64>vmUtilisationPermille(slot) << 32) / <u64>(vm.ramBytes >> 12);
      if (pick < 0 || ratio > pickRatio) { pick = slot; pickRatio = ratio; }
    }
    if (pick < 0) return;
    unchecked(tried[pick] = true);
    const vm = vmAtSlot(pick)!;
    // Its best peer; if the move there is turned down (that peer is held for it), the next best.
    for (let attempt = 0; attempt < <i32>MAX_PEERS && movable(vm, pick); attempt++) {
      const peer = bestPeerFor(vm, pick, vmUtilisationPermille(pick));
      if (peer == NO_PEER || peer == getProcessorId()) break;
      if (startLoadMove(vm, pick, peer, cause)) {
        unchecked(loadStats[LOAD_STAT_RELIEF_MOVES]++);
        hotSpell = false; // measured afresh once the move is over
        return;
      }
    }
  }
}
