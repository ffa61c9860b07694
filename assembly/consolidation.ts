// Consolidation (docs/load-policies.md): a processor whose utilisation stays below the
// consolidation threshold for the sustained time empties itself onto its peers, so that
// it can sleep. It goes only with a plan for every VM it holds: best fit decreasing —
// its VMs by load, most first, each to the peer that is the most loaded after taking it
// while within the fill limit, with its RAM free and its windows free in that peer's
// major frame (the plan counts what it already put on each peer). Every VM here must be
// movable (load-monitor.ts: not protected, not held, its hold time over), or nothing
// moves. One move at a time goes through the migration manager, whose admission (the
// downtime bound against the VM's affordable downtime) decides; the plan is made afresh
// each period, and a move turned down ends this evacuation: the next plan leaves that peer
// out for the VM until its hold is over (load-monitor.ts).
//
// No loop: a processor empties only onto peers that take part less than it — peers that
// are not below the threshold themselves, or that are but rank above it (more VMs, then
// the higher id) — never onto a peer that is evacuating, hot or asleep; so two processors
// never empty onto each other, and a moved VM is held for the hold time wherever it went.
// Once it holds no VM the processor sleeps (load-monitor.ts), until a VM comes to it.
import { getProcessorId, nowNs } from "./clock";
import {
  EXIT_RUNNING, LOAD_CAUSE_CONSOLIDATION, LOAD_PARAM_CONSOLIDATE_BELOW_PERMILLE, LOAD_PARAM_CONSOLIDATE_SUSTAINED_NS,
  LOAD_PARAM_FILL_PERMILLE, LOAD_STAT_CONSOLIDATION_MOVES, MAX_PEERS, MAX_VMS,
} from "./config";
import { isHot } from "./hotspot";
import {
  consolidationOn, FLAG_ASLEEP, FLAG_EVACUATING, FLAG_HOT, FLAG_RECEIVING, fitsSlices, isAsleep, loadParam, loadStats, movable,
  peerAllowed,
  peerFlags, peerFrameUs, peerFreePages, peerSlices, peerUsable, peerUtilisation, peerVms, periodStartNs, setOwnFlag,
  settled, SLICE_WORDS, startLoadMove, takeSlices, utilisationPermille, vmsHere, vmUtilisationPermille,
} from "./load-monitor";
import { vmAtSlot } from "./vm";

const NO_PEER: i32 = -1;
let lowSpell = false;
let lowSinceNs: u64 = 0;
/** Its reports say it is evacuating (it goes a period later at the earliest). */
let announced = false;

// The plan's view of the peers: what each holds once the plan's VMs are on it.
const planUtilisation = new StaticArray<u64>(MAX_PEERS);
const planFreePages = new StaticArray<u32>(MAX_PEERS);
const planVms = new StaticArray<u32>(MAX_PEERS);
const planSlices = new StaticArray<u64>(MAX_PEERS * SLICE_WORDS);
const planTaker = new StaticArray<bool>(MAX_PEERS);
const placed = new StaticArray<bool>(MAX_VMS);
let firstSlot: i32 = -1;
let firstPeer: i32 = NO_PEER;

/** May this processor empty onto `peer`: it takes part less (not below the threshold, or ranks above), and is awake, not hot, not evacuating. */
function takes(peer: u32, below: u64): bool {
  if (!peerUsable(peer)) return false;
  if ((unchecked(peerFlags[peer]) & (FLAG_ASLEEP | FLAG_EVACUATING | FLAG_HOT)) != 0) return false;
  if (<u64>unchecked(peerUtilisation[peer]) >= below) return true;
  const vms = unchecked(peerVms[peer]), here = vmsHere();
  return vms > here || (vms == here && peer > getProcessorId());
}

/** Does `a` rank above `b` among the takers: more VMs, then the higher id. */
function ranksAbove(a: u32, b: u32): bool {
  const va = unchecked(peerVms[a]), vb = unchecked(peerVms[b]);
  return va > vb || (va == vb && a > b);
}

/** Is a peer that ranks below this processor evacuating too (it goes first)? */
function lowerEvacuating(): bool {
  const here = vmsHere(), self = getProcessorId();
  for (let peer: u32 = 0; peer < MAX_PEERS; peer++) {
    if (!peerUsable(peer) || (unchecked(peerFlags[peer]) & FLAG_EVACUATING) == 0) continue;
    const vms = unchecked(peerVms[peer]);
    if (vms < here || (vms == here && peer < self)) return true;
  }
  return false;
}

/** Best fit decreasing for every VM here; true if all of them have a place (firstSlot, firstPeer: the move to start). */
function plan(below: u64): bool {
  const fill = loadParam(LOAD_PARAM_FILL_PERMILLE);
  for (let peer: u32 = 0; peer < MAX_PEERS; peer++) {
    const taker = takes(peer, below);
    unchecked(planTaker[peer] = taker);
    if (!taker) continue;
    unchecked(planUtilisation[peer] = <u64>unchecked(peerUtilisation[peer]));
    unchecked(planFreePages[peer] = unchecked(peerFreePages[peer]));
    unchecked(planVms[peer] = unchecked(peerVms[peer]));
    for (let w = 0; w < SLICE_WORDS; w++) unchecked(planSlices[<i32>peer * SLICE_WORDS + w] = unchecked(peerSlices[<i32>peer * SLICE_WORDS + w]));
  }
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    unchecked(placed[slot] = vm == null || vm.exit != EXIT_RUNNING); // a VM that stopped stays: it needs no processor
    if (!unchecked(placed[slot]) && !movable(vm!, slot)) return false; // it cannot leave now: the processor cannot empty
  }
  firstSlot = -1;
  firstPeer = NO_PEER;
  for (let round = 0; round < MAX_VMS; round++) {
    let pick = -1;
    for (let slot = 0; slot < MAX_VMS; slot++) {
      if (unchecked(placed[slot])) continue;
      if (pick < 0 || vmUtilisationPermille(slot) > vmUtilisationPermille(pick)) pick = slot;
    }
    if (pick < 0) return true; // every VM has its place
    const vm = vmAtSlot(pick)!;
    const share = <u64>vmUtilisationPermille(pick);
    let best = NO_PEER;
    let bestLoad: u64 = 0;
    for (let peer: u32 = 0; peer < MAX_PEERS; peer++) {
      if (!unchecked(planTaker[peer]) || !peerAllowed(pick, peer)) continue;
      const after = unchecked(planUtilisation[peer]) + share;
      if (after > fill) continue;
      if (!fitsSlices(vm, unchecked(peerFrameUs[peer]), unchecked(planFreePages[peer]), unchecked(planVms[peer]), planSlices, <i32>peer * SLICE_WORDS)) continue;
      // The most loaded after it; among equals the one that ranks highest, so that equals all pack onto one.
      if (best == NO_PEER || after > bestLoad || (after == bestLoad && ranksAbove(peer, <u32>best))) { best = <i32>peer; bestLoad = after; }
    }
    if (best == NO_PEER) return false;
    unchecked(planUtilisation[best] = bestLoad);
    unchecked(planFreePages[best] -= vm.ramBytes >> 12);
    unchecked(planVms[best]++);
    takeSlices(vm, planSlices, best * SLICE_WORDS);
    unchecked(placed[pick] = true);
    if (firstSlot < 0) { firstSlot = pick; firstPeer = best; }
  }
  return true;
}

/** Once a load period: has the processor been idle enough for long enough, and can it empty? */
export function consolidate(): void {
  if (!consolidationOn()) return;
  const below = loadParam(LOAD_PARAM_CONSOLIDATE_BELOW_PERMILLE);
  if (isAsleep() || vmsHere() == 0 || isHot() || <u64>utilisationPermille >= below) {
    lowSpell = false;
    announced = false;
    setOwnFlag(FLAG_EVACUATING, false);
    return;
  }
  if (!lowSpell) { lowSpell = true; lowSinceNs = periodStartNs; }
  if (!settled() || nowNs() - lowSinceNs < loadParam(LOAD_PARAM_CONSOLIDATE_SUSTAINED_NS)) return;
  if (!plan(below) || firstSlot < 0) { setOwnFlag(FLAG_EVACUATING, false); announced = false; return; }
  // It says so in a report before it moves anything, and the lowest ranked of those that said so goes
  // first: processors that decide in the same period do not all ask the same peer at once.
  setOwnFlag(FLAG_EVACUATING, true);
  if (!announced) { announced = true; return; }
  if (lowerEvacuating()) return;
  // The peer the plan picked is taking another VM now (it would refuse: destination busy): next period.
  if ((unchecked(peerFlags[firstPeer]) & FLAG_RECEIVING) != 0) return;
  const vm = vmAtSlot(firstSlot)!;
  if (startLoadMove(vm, firstSlot, <u32>firstPeer, LOAD_CAUSE_CONSOLIDATION)) {
    unchecked(loadStats[LOAD_STAT_CONSOLIDATION_MOVES]++);
    return;
  }
  announced = false;
  setOwnFlag(FLAG_EVACUATING, false); // turned down: its VM is held, so no plan empties the processor until the hold is over
}
