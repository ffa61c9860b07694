// The health monitor (docs/health.md): members, heartbeats, suspicion, and this member's
// lease grant for every protection. A member grants a protection's lease to at most one
// member at a time; a grant sent at s lasts until s + leaseNs. failover.ts runs a VM only
// under grants from a quorum, so two copies never run at once whatever the links do.
//
// Everything is board time (nanoseconds): every member stamps its heartbeats with the one
// time base all processors share, so a grant's end means the same instant everywhere.
import { nowNs } from "./clock";
import {
  DROP_MALFORMED, EVENT_PROCESSOR_SUSPECTED, EVENT_PROCESSOR_TRUSTED, FRAME_HEARTBEAT, HEALTH_STAT_HEARTBEATS_RECEIVED,
  HEALTH_STAT_HEARTBEATS_SENT, HEALTH_STAT_INCARNATION, HEALTH_STAT_LEASE_NS, HEALTH_STAT_MEMBERS,
  HEALTH_STAT_MINIMUM_SUSPECT_NS, HEALTH_STAT_SUSPECTED, HEALTH_STAT_SUSPECT_NS, HEALTH_STAT_SUSPICIONS,
  HEALTH_STAT_REFUSAL, HEALTH_STAT_REFUSAL_PROCESSOR, HEALTH_STAT_TRUSTS, HEALTH_STAT_WORST_TRIP_NS, HEARTBEAT_ENTRY_BYTES, HEARTBEAT_HEADER_BYTES, MAX_MEMBERS,
  MAX_PROTECTIONS, POLICY_RESTART,
} from "./config";
import { backlogBytes } from "./channel";
import { canReach, dropFrame, linkGranularityNs, linkMtu, selfId, sendFrame } from "./communication";
import { report } from "./events";
import {
  NO_MEMBER, Protection, protectionAt, protectionCount, ROLE_ARRIVED, ROLE_HANDED_OVER, ROLE_HOLDER, ROLE_IMAGE,
  ROLE_REPLICA,
} from "./protection";
import { NO_VM } from "./trace";
import { tripNs } from "./transport";

// Entry flags (docs/health.md, "Members and heartbeats").
export const ENTRY_HOLDING: u32 = 1;
export const ENTRY_CAPABLE: u32 = 2;
export const ENTRY_IMAGE: u32 = 4;
export const ENTRY_HANDOVER: u32 = 8;
/** The copy is the VM a handover brought (the newest state there is). */
export const ENTRY_ARRIVED: u32 = 16;

// Members, by ascending processor id.
const memberIds = new StaticArray<u32>(MAX_MEMBERS);
const memberTripNs = new StaticArray<u64>(MAX_MEMBERS);
let memberCount: u32 = 0;
let self: u32 = NO_MEMBER;

// What each member's newest heartbeat said (this member's own slot: its last heartbeat sent).
const lastSentNs = new StaticArray<u64>(MAX_MEMBERS);
const heard = new StaticArray<bool>(MAX_MEMBERS);
const incarnationOf = new StaticArray<u64>(MAX_MEMBERS);
const suspectedNow = new StaticArray<bool>(MAX_MEMBERS);
const entries = heap.alloc(<usize>MAX_MEMBERS * MAX_PROTECTIONS * HEARTBEAT_ENTRY_BYTES);
const beat = heap.alloc(<usize>HEARTBEAT_HEADER_BYTES + <usize>MAX_PROTECTIONS * HEARTBEAT_ENTRY_BYTES);

let running = false;
let periodNs: u64 = 0;
let suspectNs: u64 = 0;
let leaseNs: u64 = 0;
let quantumNs: u64 = 0;
let worstTripNs: u64 = 0;
/** Board time this incarnation began: 0 at the board's start, later for a repaired processor. */
let incarnationNs: u64 = 0;
let nextBeatNs: u64 = 0;
let urgent = false;

let heartbeatsSent: u64 = 0;
let heartbeatsReceived: u64 = 0;
let suspicions: u64 = 0;
let trusts: u64 = 0;

export function heartbeatBytes(): u32 {
  return HEARTBEAT_HEADER_BYTES + protectionCount() * HEARTBEAT_ENTRY_BYTES;
}

export function leaseTimeNs(): u64 {
  return leaseNs;
}

export function healthRunning(): bool {
  return running;
}

export function selfMember(): u32 {
  return self;
}

export function memberId(m: u32): u32 {
  return unchecked(memberIds[m]);
}

export function membersKnown(): u32 {
  return memberCount;
}

export function memberOf(processor: u32): u32 {
  for (let m: u32 = 0; m < memberCount; m++) if (unchecked(memberIds[m]) == processor) return m;
  return NO_MEMBER;
}

/** The slowest trip one of this processor's heartbeats can take: behind everything its links may carry. */
export function ownWorstTripNs(): u64 {
  let worst: u64 = 0;
  for (let peer: u32 = 0; peer < 64; peer++) {
    if (peer == selfId() || linkMtu(peer) == 0) continue;
    const trip = tripNs(peer, backlogBytes(peer) + heartbeatBytes());
    if (trip > worst) worst = trip;
  }
  return worst;
}

/** Adds a member (before health-configure): its processor id and the worst trip of its heartbeats. */
export function addMember(processor: u32, tripNs: u64): bool {
  if (running || memberCount == MAX_MEMBERS || memberOf(processor) != NO_MEMBER) return false;
  let at = memberCount;
  while (at > 0 && unchecked(memberIds[at - 1]) > processor) {
    unchecked(memberIds[at] = memberIds[at - 1]);
    unchecked(memberTripNs[at] = memberTripNs[at - 1]);
    at--;
  }
  unchecked(memberIds[at] = processor);
  unchecked(memberTripNs[at] = tripNs);
  memberCount++;
  return true;
}

// Why configureHealth refused (for the host's message).
export const HEALTH_OK: u32 = 0;
export const HEALTH_NOT_A_MEMBER: u32 = 1;
export const HEALTH_NO_LINK: u32 = 2;
export const HEALTH_SUSPECT_TOO_SHORT: u32 = 3;
export const HEALTH_BAD_PERIOD: u32 = 4;
export const HEALTH_NOT_MEMBERS: u32 = 5;
let refusal: u32 = HEALTH_OK;
/** The processor a refusal is about. */
let refusalMember: u32 = 0;

export function refuseConfiguration(why: u32, processor: u32): void {
  refusal = why;
  refusalMember = processor;
}

export function minimumSuspectNs(): u64 {
  return periodNs + quantumNs + worstTripNs;
}

/**
 * Starts the monitor: heartbeats every `period` ns, suspicion after `suspect` ns. Refuses
 * (false, healthRefusal says why) a processor that is not a member, a member it has no
 * link to that carries a heartbeat, or a suspect time below minimumSuspectNs.
 */
export function configureHealth(period: u64, suspect: u64): bool {
  periodNs = period;
  suspectNs = suspect;
  leaseNs = suspect;
  self = memberOf(selfId());
  quantumNs = 0;
  worstTripNs = 0;
  refusal = HEALTH_BAD_PERIOD;
  refusalMember = selfId();
  if (period == 0) return false;
  refusal = HEALTH_NOT_A_MEMBER;
  if (self == NO_MEMBER) return false;
  for (let m: u32 = 0; m < memberCount; m++) {
    const id = unchecked(memberIds[m]);
    if (unchecked(memberTripNs[m]) > worstTripNs) worstTripNs = unchecked(memberTripNs[m]);
    if (m == self) continue;
    if (!canReach(id, heartbeatBytes())) {
      refusal = HEALTH_NO_LINK;
      refusalMember = id;
      return false;
    }
    if (linkGranularityNs(id) > quantumNs) quantumNs = linkGranularityNs(id);
  }
  refusal = HEALTH_SUSPECT_TOO_SHORT;
  if (suspect < minimumSuspectNs()) return false;
  refusal = HEALTH_OK;
  start();
  return true;
}

function start(): void {
  incarnationNs = nowNs();
  const atStart = incarnationNs == 0;
  for (let m: u32 = 0; m < memberCount; m++) {
    unchecked(lastSentNs[m] = incarnationNs); // silent from here on counts towards suspicion
    unchecked(heard[m] = false);
    unchecked(incarnationOf[m] = 0);
    unchecked(suspectedNow[m] = false);
    for (let id: u32 = 0; id < protectionCount(); id++) startingEntry(m, protectionAt(id), atStart);
  }
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const p = protectionAt(id);
    // At the board's start every member grants the primary the lease of term 0 (every
    // member's entry says so until its first heartbeat); a repaired processor grants
    // nothing until it has seen the others.
    p.grantee = atStart && p.defined ? <u32>unchecked(p.order[0]) : NO_MEMBER;
    p.renewing = p.grantee != NO_MEMBER;
    p.grantTerm = 0;
    p.grantSentNs = 0;
    writeOwnEntry(p);
  }
  nextBeatNs = incarnationNs;
  running = true;
}

/** What member `m` is taken to say about `p` before its first heartbeat. */
function startingEntry(m: u32, p: Protection, atStart: bool): void {
  const at = entryAt(m, p.id);
  memory.fill(at, 0, HEARTBEAT_ENTRY_BYTES);
  const primary = p.defined ? <u32>unchecked(p.order[0]) : NO_MEMBER;
  store<u8>(at, <u8>(atStart && m == primary ? ENTRY_HOLDING : 0));
  store<u8>(at, <u8>(atStart ? primary : NO_MEMBER), 1);
  store<u8>(at, <u8>NO_MEMBER, 2);
  store<u8>(at, <u8>NO_MEMBER, 3);
}

// ---- entries ----------------------------------------------------------------------------

@inline function entryAt(m: u32, id: u32): usize {
  return entries + (<usize>m * MAX_PROTECTIONS + id) * HEARTBEAT_ENTRY_BYTES;
}

export function entryFlags(m: u32, id: u32): u32 {
  return load<u8>(entryAt(m, id));
}

export function entryGrantee(m: u32, id: u32): u32 {
  return load<u8>(entryAt(m, id), 1);
}

export function entryBackup(m: u32, id: u32): u32 {
  return load<u8>(entryAt(m, id), 2);
}

export function entryTo(m: u32, id: u32): u32 {
  return load<u8>(entryAt(m, id), 3);
}

export function entryGrantTerm(m: u32, id: u32): u32 {
  return load<u32>(entryAt(m, id), 4);
}

export function entryPrevGrantTerm(m: u32, id: u32): u32 {
  return load<u32>(entryAt(m, id), 8);
}

export function entryCopyTerm(m: u32, id: u32): u32 {
  return load<u32>(entryAt(m, id), 12);
}

export function entrySession(m: u32, id: u32): u32 {
  return load<u32>(entryAt(m, id), 16);
}

/** The term of the holder that named member `m`'s backup and session. */
export function entryNamingTerm(m: u32, id: u32): u32 {
  return load<u32>(entryAt(m, id), 20);
}

/**
 * Namings are ordered by the namer's term, then by its session serial (a holder's sessions
 * count up, "no backup" included: replication.ts): is (termA, sessionA) newer than (termB, sessionB)?
 */
export function namingNewer(termA: u32, sessionA: u32, termB: u32, sessionB: u32): bool {
  return termA > termB || (termA == termB && (sessionA & 0xFF_FFFF) > (sessionB & 0xFF_FFFF));
}

/** This processor's entry for `p`, from what it holds now. */
function ownFlags(p: Protection): u32 {
  if (p.role == ROLE_HOLDER) return ENTRY_HOLDING;
  if (p.role == ROLE_HANDED_OVER) return ENTRY_HANDOVER;
  if (p.role == ROLE_ARRIVED) return ENTRY_CAPABLE | ENTRY_ARRIVED;
  if (p.role == ROLE_REPLICA) return ENTRY_CAPABLE;
  if (p.role == ROLE_IMAGE && p.has(POLICY_RESTART)) return ENTRY_CAPABLE | ENTRY_IMAGE;
  return 0;
}

function writeOwnEntry(p: Protection): void {
  const at = entryAt(self, p.id);
  store<u8>(at, <u8>ownFlags(p));
  store<u8>(at, <u8>(p.renewing ? p.grantee : NO_MEMBER), 1);
  let backup = p.knownBackup, session = p.knownSession, namingTerm = p.knownBackupTerm;
  if (p.role == ROLE_HOLDER) { backup = p.backup; session = p.session; namingTerm = p.term; }
  else if (p.role == ROLE_REPLICA) { backup = self; session = p.copySession; namingTerm = p.term; }
  store<u8>(at, <u8>backup, 2);
  store<u8>(at, <u8>p.handoverTo, 3);
  store<u32>(at, p.grantTerm, 4);
  store<u32>(at, p.prevGrantTerm, 8);
  store<u32>(at, p.term, 12);
  store<u32>(at, session, 16);
  store<u32>(at, namingTerm, 20);
}

/** Something in this processor's part changed: the next service sends a heartbeat at once. */
export function heartbeatSoon(): void {
  urgent = true;
}

// ---- heartbeats ---------------------------------------------------------------------------

function sendHeartbeats(now: u64): void {
  const count = protectionCount();
  for (let id: u32 = 0; id < count; id++) {
    const p = protectionAt(id);
    if (p.renewing && p.grantee != NO_MEMBER) p.grantSentNs = now;
    writeOwnEntry(p);
  }
  unchecked(lastSentNs[self] = now);
  store<u64>(beat, now);
  store<u64>(beat, incarnationNs, 8);
  store<u64>(beat, suspectedMask(), 16);
  store<u16>(beat, <u16>memberCount, 24);
  store<u16>(beat, <u16>count, 26);
  store<u32>(beat, 0, 28);
  memory.copy(beat + HEARTBEAT_HEADER_BYTES, entryAt(self, 0), <usize>count * HEARTBEAT_ENTRY_BYTES);
  for (let m: u32 = 0; m < memberCount; m++) {
    if (m == self) continue;
    sendFrame(unchecked(memberIds[m]), FRAME_HEARTBEAT, 0, beat, heartbeatBytes(), NO_VM);
    heartbeatsSent++;
  }
}

/** A heartbeat frame from `from` (the link inbox hands it here, checked). */
export function receiveHeartbeat(from: u32, payload: usize, bytes: u32): void {
  const m = memberOf(from);
  const count = protectionCount();
  if (!running || m == NO_MEMBER || m == self || bytes != heartbeatBytes()
    || <u32>load<u16>(payload, 24) != memberCount || <u32>load<u16>(payload, 26) != count) {
    dropFrame(from, DROP_MALFORMED);
    return;
  }
  const sentNs = load<u64>(payload);
  const incarnation = load<u64>(payload, 8);
  heartbeatsReceived++;
  if (incarnation < unchecked(incarnationOf[m])) return; // from an earlier life of that processor
  if (incarnation == unchecked(incarnationOf[m]) && heard[m] && sentNs <= unchecked(lastSentNs[m])) return; // overtaken
  unchecked(incarnationOf[m] = incarnation);
  unchecked(lastSentNs[m] = sentNs);
  unchecked(heard[m] = true);
  memory.copy(entryAt(m, 0), payload + HEARTBEAT_HEADER_BYTES, <usize>count * HEARTBEAT_ENTRY_BYTES);
  for (let id: u32 = 0; id < count; id++) learn(protectionAt(id), m);
  if (unchecked(suspectedNow[m]) && nowNs() - sentNs <= suspectNs) {
    unchecked(suspectedNow[m] = false);
    trusts++;
    report(EVENT_PROCESSOR_TRUSTED, from, NO_VM, sentNs, 0);
  }
}

/**
 * What member `m`'s entry teaches about `p`: terms in use, and the newest backup naming —
 * a holder's own, or one another member echoes (a member cut off when the holder named its
 * backup learns it from the others after the holder is gone; a naming only moves forward).
 */
function learn(p: Protection, m: u32): void {
  const id = p.id;
  if (entryGrantTerm(m, id) > p.highestTerm) p.highestTerm = entryGrantTerm(m, id);
  if ((entryFlags(m, id) & ENTRY_HOLDING) != 0 && entryCopyTerm(m, id) > p.highestTerm) p.highestTerm = entryCopyTerm(m, id);
  const term = entryNamingTerm(m, id), session = entrySession(m, id);
  if (!namingNewer(term, session, p.knownBackupTerm, p.knownSession)) return;
  p.knownBackupTerm = term;
  p.knownBackup = entryBackup(m, id);
  p.knownSession = session;
  urgent = true; // echo it soon
}

// ---- suspicion ----------------------------------------------------------------------------

export function suspects(m: u32): bool {
  return m != self && unchecked(suspectedNow[m]);
}

/** Is member `m` alive as far as this processor knows: not silent for the suspect time since it was heard, or since this processor started (itself: always)? */
export function alive(m: u32): bool {
  return m == self || !unchecked(suspectedNow[m]);
}

function suspectedMask(): u64 {
  let mask: u64 = 0;
  for (let m: u32 = 0; m < memberCount; m++) if (suspects(m)) mask |= <u64>1 << m;
  return mask;
}

function updateSuspicions(now: u64): void {
  for (let m: u32 = 0; m < memberCount; m++) {
    if (m == self || unchecked(suspectedNow[m]) || now - unchecked(lastSentNs[m]) <= suspectNs) continue;
    unchecked(suspectedNow[m] = true);
    suspicions++;
    urgent = true;
    report(EVENT_PROCESSOR_SUSPECTED, unchecked(memberIds[m]), NO_VM, unchecked(lastSentNs[m]), 0);
  }
}

// ---- lease grants -------------------------------------------------------------------------

/** A new incarnation grants nothing for a lease time: its earlier life's grants run out meanwhile. */
function mayGrant(now: u64): bool {
  return incarnationNs == 0 || now >= incarnationNs + leaseNs;
}

function updateGrant(p: Protection, now: u64): void {
  if (!p.defined || !mayGrant(now)) return;
  const g = p.grantee;
  if (g != NO_MEMBER) {
    // The holder moved the VM away and stopped for good: the lease follows at once.
    if ((flagsOf(g, p) & ENTRY_HANDOVER) != 0 && handoverTerm(g, p) == p.grantTerm && p.positionOf(handoverTarget(g, p)) >= 0) {
      switchGrant(p, handoverTarget(g, p));
      return;
    }
    if (keeps(p, g)) { renew(p); alignTerm(p, g); return; }
    if (p.renewing) { p.renewing = false; urgent = true; }
    if (now < p.grantSentNs + leaseNs) return; // the last grant still runs
  }
  const pick = pickGrantee(p);
  if (pick == NO_MEMBER) return;
  if (pick == g) renew(p);
  else switchGrant(p, pick);
}

/**
 * Members that chose the same grantee on their own (one after a partition healed, say)
 * may have opened different terms for it, none granted by a quorum: without this they
 * would grant it apart forever. The grantee's holder term wins while it holds the VM (its
 * lease runs under that term); before that, the highest term anyone grants it. A term
 * only rises, so the members meet; the grantee stays the same, so no member grants two
 * processors at once, and a replica still takes over only under the checks of failover.ts.
 */
function alignTerm(p: Protection, g: u32): void {
  const term = (flagsOf(g, p) & ENTRY_HOLDING) != 0 ? termOf(g, p) : highestGrantTermTo(p, g);
  if (term == p.grantTerm || ((flagsOf(g, p) & ENTRY_HOLDING) == 0 && term < p.grantTerm)) return;
  p.grantTerm = term;
  if (term > p.highestTerm) p.highestTerm = term;
  urgent = true;
}

/** The highest term under which a live member grants `p` to `g` (this member's own included). */
function highestGrantTermTo(p: Protection, g: u32): u32 {
  let term = p.grantTerm;
  for (let m: u32 = 0; m < memberCount; m++) {
    if (m == self || !alive(m) || entryGrantee(m, p.id) != g) continue;
    if (entryGrantTerm(m, p.id) > term) term = entryGrantTerm(m, p.id);
  }
  return term;
}

function renew(p: Protection): void {
  if (!p.renewing) { p.renewing = true; urgent = true; }
}

/** Keep granting to `g` while it is alive and holds the VM, or is still the best copy to take it. */
function keeps(p: Protection, g: u32): bool {
  if (!alive(g)) return false;
  const flags = flagsOf(g, p);
  if ((flags & ENTRY_HOLDING) != 0) return true;
  return (flags & ENTRY_CAPABLE) != 0 && pickGrantee(p) == g;
}

function switchGrant(p: Protection, to: u32): void {
  const holding = (flagsOf(to, p) & ENTRY_HOLDING) != 0;
  if (p.grantee != NO_MEMBER) p.prevGrantTerm = p.grantTerm;
  // Joining a holder's lease keeps its term; anything else is a new term.
  p.grantTerm = holding ? termOf(to, p) : (p.highestTerm > p.grantTerm ? p.highestTerm : p.grantTerm) + 1;
  if (p.grantTerm > p.highestTerm) p.highestTerm = p.grantTerm;
  p.grantee = to;
  p.renewing = true;
  urgent = true;
}

/** Flags of member `m` for `p`: this processor's live state, another's newest heartbeat. */
function flagsOf(m: u32, p: Protection): u32 {
  return m == self ? ownFlags(p) : entryFlags(m, p.id);
}

function termOf(m: u32, p: Protection): u32 {
  return m == self ? p.term : entryCopyTerm(m, p.id);
}

function handoverTarget(m: u32, p: Protection): u32 {
  return m == self ? p.handoverTo : entryTo(m, p.id);
}

function handoverTerm(m: u32, p: Protection): u32 {
  return termOf(m, p);
}

/** Does member `m` hold a replica from the backup session its holder names now? */
function freshReplica(m: u32, p: Protection): bool {
  if (m != p.knownBackup) return false;
  return m == self ? p.copySession == p.knownSession : entryBackup(m, p.id) == m && entrySession(m, p.id) == p.knownSession;
}

/** How good a copy member `m` has: 4 the holder, 3 a handover's VM, 2 a fresh replica, 1 the image, 0 none. */
function rankOf(m: u32, p: Protection): u32 {
  const flags = flagsOf(m, p);
  if ((flags & ENTRY_HOLDING) != 0) return 4;
  if ((flags & ENTRY_CAPABLE) == 0) return 0;
  if ((flags & ENTRY_ARRIVED) != 0) return 3;
  if ((flags & ENTRY_IMAGE) != 0) return 1;
  return freshReplica(m, p) ? 2 : 0;
}

/**
 * Whom to grant `p`'s lease to: among the live members of its order with a copy, the best
 * copy, then the newest term, then the order after the previous grantee.
 */
export function pickGrantee(p: Protection): u32 {
  const n = p.orderLength;
  const start = p.positionOf(p.grantee != NO_MEMBER ? p.grantee : <u32>unchecked(p.order[0]));
  let best: u32 = NO_MEMBER, bestRank: u32 = 0, bestTerm: u32 = 0;
  for (let step: u32 = 1; step <= n; step++) {
    const m = p.memberAfter(start, step);
    if (!alive(m)) continue;
    const rank = rankOf(m, p);
    if (rank == 0) continue;
    const term = termOf(m, p);
    if (best == NO_MEMBER || rank > bestRank || (rank == bestRank && term > bestTerm)) {
      best = m;
      bestRank = rank;
      bestTerm = term;
    }
  }
  return best;
}

// ---- quorums and leases -----------------------------------------------------------------

/** More than half the members, or exactly half with the one of the smallest processor id. */
export function isQuorum(mask: u64): bool {
  const twice = <u32>popcnt(mask) * 2;
  return twice > memberCount || (twice == memberCount && (mask & 1) != 0);
}

/** Until when member `m`'s newest grant of `p` to `target` under `term` lasts (0: it grants no such thing). */
function grantEnd(m: u32, p: Protection, target: u32, term: u32): u64 {
  if (entryGrantee(m, p.id) != target || entryGrantTerm(m, p.id) != term) return 0;
  return unchecked(lastSentNs[m]) + leaseNs;
}

/** Members whose grants of `p` to `target` under `term` still last at `atNs`. */
export function grantersAt(p: Protection, target: u32, term: u32, atNs: u64): u64 {
  let mask: u64 = 0;
  for (let m: u32 = 0; m < memberCount; m++) if (grantEnd(m, p, target, term) > atNs) mask |= <u64>1 << m;
  return mask;
}

/** Until when a quorum's grants of `p` to this processor under `term` last (0: no quorum grants it now). */
export function leaseEndNs(p: Protection, term: u32): u64 {
  const now = nowNs();
  if (!isQuorum(grantersAt(p, self, term, now))) return 0;
  // The lease lasts while the members whose grants last longest still form a quorum.
  let end = now;
  for (let m: u32 = 0; m < memberCount; m++) {
    const e = grantEnd(m, p, self, term);
    if (e > end && isQuorum(grantersAt(p, self, term, e - 1))) end = e;
  }
  return end;
}

/** A term under which a quorum grants `p`'s lease to this processor now, or -1. */
export function grantedTerm(p: Protection): i64 {
  const now = nowNs();
  for (let m: u32 = 0; m < memberCount; m++) {
    const term = m == self ? entryGrantTerm(self, p.id) : entryGrantTerm(m, p.id);
    if (grantEnd(m, p, self, term) <= now) continue;
    if (isQuorum(grantersAt(p, self, term, now))) return <i64>term;
  }
  return -1;
}

/** The highest term the members in `mask` granted `p` before their grant now. */
export function highestPrevGrantTerm(p: Protection, mask: u64): u32 {
  let highest: u32 = 0;
  for (let m: u32 = 0; m < memberCount; m++) {
    if ((mask & (<u64>1 << m)) != 0 && entryPrevGrantTerm(m, p.id) > highest) highest = entryPrevGrantTerm(m, p.id);
  }
  return highest;
}

/**
 * Does none of the members in `mask` (in its newest heartbeat; this processor: what it
 * echoes too) name a backup newer than `term` and `session`? Output released under a naming
 * had a quorum echo it, and an echo only moves forward; so if a quorum shows nothing newer
 * than the copy's own session, nothing was released that the copy has not seen.
 */
export function noneNamesNewer(p: Protection, mask: u64, term: u32, session: u32): bool {
  if ((mask & (<u64>1 << self)) != 0 && namingNewer(p.knownBackupTerm, p.knownSession, term, session)) return false;
  for (let m: u32 = 0; m < memberCount; m++) {
    if ((mask & (<u64>1 << m)) == 0) continue;
    if (namingNewer(entryNamingTerm(m, p.id), entrySession(m, p.id), term, session)) return false;
  }
  return true;
}

/** Does a quorum of members, in heartbeats sent after `sinceNs`, name `backup` and `session` (of this holder's term) for `p`? */
export function quorumNames(p: Protection, backup: u32, session: u32, sinceNs: u64): bool {
  let mask: u64 = 0;
  for (let m: u32 = 0; m < memberCount; m++) {
    if (m != self && (!unchecked(heard[m]) || unchecked(lastSentNs[m]) < sinceNs)) continue;
    if (m == self || (entryBackup(m, p.id) == backup && entrySession(m, p.id) == session && entryNamingTerm(m, p.id) == p.term)) mask |= <u64>1 << m;
  }
  return isQuorum(mask);
}

/** The highest term another live member holds `p` under (0: none holds it). */
export function otherHolderTerm(p: Protection): u32 {
  let highest: u32 = 0;
  for (let m: u32 = 0; m < memberCount; m++) {
    if (m == self || !alive(m) || (entryFlags(m, p.id) & ENTRY_HOLDING) == 0) continue;
    if (entryCopyTerm(m, p.id) > highest) highest = entryCopyTerm(m, p.id);
  }
  return highest;
}

// ---- the run loop's part --------------------------------------------------------------------

/** Suspicion, grants and heartbeats; the run loop calls it at every quantum and slot boundary. */
export function serviceHealth(): void {
  if (!running) return;
  const now = nowNs();
  updateSuspicions(now);
  for (let id: u32 = 0; id < protectionCount(); id++) updateGrant(protectionAt(id), now);
  if (now >= nextBeatNs || urgent) {
    sendHeartbeats(now);
    urgent = false;
    if (now >= nextBeatNs) nextBeatNs = now - (now - nextBeatNs) % periodNs + periodNs;
  }
}

export function healthStat(key: u32): u64 {
  if (key == HEALTH_STAT_HEARTBEATS_SENT) return heartbeatsSent;
  if (key == HEALTH_STAT_HEARTBEATS_RECEIVED) return heartbeatsReceived;
  if (key == HEALTH_STAT_SUSPECTED) return suspectedMask();
  if (key == HEALTH_STAT_SUSPICIONS) return suspicions;
  if (key == HEALTH_STAT_TRUSTS) return trusts;
  if (key == HEALTH_STAT_MINIMUM_SUSPECT_NS) return minimumSuspectNs();
  if (key == HEALTH_STAT_SUSPECT_NS) return suspectNs;
  if (key == HEALTH_STAT_LEASE_NS) return leaseNs;
  if (key == HEALTH_STAT_WORST_TRIP_NS) return worstTripNs;
  if (key == HEALTH_STAT_MEMBERS) return memberCount;
  if (key == HEALTH_STAT_INCARNATION) return incarnationNs;
  if (key == HEALTH_STAT_REFUSAL) return refusal;
  if (key == HEALTH_STAT_REFUSAL_PROCESSOR) return refusalMember;
  return 0;
}

/** The bound terms the failover bounds are built from. */
export function suspectTimeNs(): u64 {
  return suspectNs;
}

export function quantumTimeNs(): u64 {
  return quantumNs;
}

export function worstTripTimeNs(): u64 {
  return worstTripNs;
}
