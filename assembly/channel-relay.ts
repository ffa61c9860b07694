// Channel ports that move with their VM (docs/migration.md, "Channels"). A channel's
// other end stays where it is, so the processors involved reroute it:
//
//   depart  the VM's state is being captured: its ports refuse what arrives (channel.ts
//           drops it; the sender resends, queuing messages being kept until acknowledged);
//   stay    the move failed or was cancelled: the ports serve their VM here again;
//   left    the VM runs on processor `to` now: its ports here go, and each channel they
//           served gets a relay here, which forwards messages towards the destination
//           end and acknowledgements towards the source end;
//   arrived the VM came from `from` with its ports: they send everything through `from`
//           (which relays) until they learn better.
//
// A relay tells each end where the other one is now (channelMoved, repeated every
// retransmission timeout until answered); an end that can reach it directly takes that
// route and answers channelSwitched, as does a relay further along the way or a
// processor where nothing routes through this one. A relay that both sides have
// answered is freed. An end with no link to the other keeps using the relay, which then
// lives as long as it is needed. Sequence numbers (channel.ts) make the new route safe at
// once: whatever overtakes what, every queuing message is delivered once and in order.
//
// A copy that takes over after a failure (failover.ts) has no relay to speak for it — its
// old processor is gone — so it announces itself: channelMoved, "that end is here now",
// to every processor it has a link to, repeated until each answers channelSwitched or
// CHANNEL_GIVE_UP_TIMEOUTS announcements went unanswered.
import { now, nowNs, nsToCycles } from "./clock";
import {
  CHANNEL_GIVE_UP_TIMEOUTS, CHANNEL_HEADER_BYTES, DROP_NO_PORT, FRAME_CHANNEL_ACK, FRAME_CHANNEL_MESSAGE, FRAME_CHANNEL_MOVED,
  FRAME_CHANNEL_PROBE, FRAME_CHANNEL_SWITCHED, MAX_PEERS, MAX_PORTS, MAX_RELAYS,
} from "./config";
import {
  ACK_BYTES, elsewhere, findEnd, largestMessageOf, MESSAGE_RELAYED, portAt, portCountOf, portsHere, removePortsOf, rerouted, sendChannelFrame,
} from "./channel";
import { canReach, dropFrame, selfId } from "./communication";
import { linkTimeoutNs } from "./transport";
import { NO_VM } from "./trace";
import { vmHooks } from "./vm-hooks";

/** channelMoved / channelSwitched side: the destination end moved (messages go elsewhere now). */
const SIDE_DESTINATION: u32 = 0;
/** The source end moved (acknowledgements go elsewhere now). */
const SIDE_SOURCE: u32 = 1;

/** A channel end that left this processor: where its messages and its acknowledgements go now. */
@unmanaged class Relay {
  channel: u32;
  /** Where messages (and probes) go: the destination end's processor, or the next relay. */
  destinationAt: u32;
  /** Where acknowledgements go: the source end's processor, as its last message showed. */
  sourceAt: u32;
  /** The source side answered: it sends its messages elsewhere. */
  sourceSwitched: bool;
  /** The destination side answered: it sends its acknowledgements elsewhere. */
  destinationSwitched: bool;
  /** When channelMoved was last sent. */
  toldCycles: u64;
  /** Nobody has been told yet: tell both sides at the next service. */
  fresh: bool;
}

const relays = new StaticArray<usize>(MAX_RELAYS);
let relayCount: i32 = 0;
const notice = heap.alloc(8);
const forwarded = heap.alloc(65536);

function relayAt(i: i32): Relay {
  return changetype<Relay>(unchecked(relays[i]));
}

function relayFor(channel: u32): Relay | null {
  for (let i = 0; i < relayCount; i++) if (relayAt(i).channel == channel) return relayAt(i);
  return null;
}

/** Relays this processor holds (for tests and stats). */
export function relaysHere(): i32 {
  return relayCount;
}

function setRelay(channel: u32, destinationAt: u32, sourceAt: u32): void {
  let r = relayFor(channel);
  if (r == null) {
    r = changetype<Relay>(heap.alloc(offsetof<Relay>()));
    unchecked(relays[relayCount] = changetype<usize>(r));
    relayCount++;
  }
  r.channel = channel;
  r.destinationAt = destinationAt;
  r.sourceAt = sourceAt;
  r.sourceSwitched = false;
  r.destinationSwitched = false;
  r.fresh = true;
}

function dropRelay(channel: u32): void {
  for (let i = 0; i < relayCount; i++) {
    if (relayAt(i).channel != channel) continue;
    heap.free(unchecked(relays[i]));
    relayCount--;
    unchecked(relays[i] = unchecked(relays[relayCount]));
    return;
  }
}

/** A message, acknowledgement or probe for a channel whose end is not here: forwarded by its relay, or false. */
function forward(from: u32, type: u32, channel: u32, payload: usize, bytes: u32): bool {
  const r = relayFor(channel);
  if (r == null) return false;
  if (type == FRAME_CHANNEL_ACK) {
    if (r.sourceAt == selfId()) return false; // the source end was here and has gone: nobody to tell
    sendChannelFrame(r.sourceAt, type, channel, payload, bytes, NO_VM);
    return true;
  }
  if (r.destinationAt == selfId()) return false;
  r.sourceAt = from; // messages and probes come from the source side: acknowledgements go back there
  if (type == FRAME_CHANNEL_MESSAGE && bytes >= CHANNEL_HEADER_BYTES) {
    memory.copy(forwarded, payload, bytes);
    store<u32>(forwarded, load<u32>(forwarded, 4) | MESSAGE_RELAYED, 4);
    sendChannelFrame(r.destinationAt, type, channel, forwarded, bytes, NO_VM);
  } else if (type == FRAME_CHANNEL_PROBE) {
    sendChannelFrame(r.destinationAt, type, channel, payload, bytes, NO_VM);
  } else return false;
  return true;
}

/** Can frames of `payloadBytes` go from here to `where` (this processor: always)? */
function routable(where: u32, payloadBytes: u32): bool {
  return where == selfId() || canReach(where, payloadBytes);
}

function tell(to: u32, type: u32, channel: u32, side: u32, where: u32): void {
  store<u32>(notice, side);
  store<u32>(notice, where, 4);
  if (to == selfId()) receiveRouting(to, type, channel, notice, 8);
  else sendChannelFrame(to, type, channel, notice, 8, NO_VM);
}

/** channelMoved and channelSwitched frames (the link inbox hands them here). */
export function receiveRouting(from: u32, type: u32, channel: u32, payload: usize, bytes: u32): void {
  if (bytes != 8) { dropFrame(from, DROP_NO_PORT); return; }
  const side = load<u32>(payload);
  if (type == FRAME_CHANNEL_MOVED) moved(from, channel, side, load<u32>(payload, 4));
  else if (type == FRAME_CHANNEL_SWITCHED) switched(from, channel, side);
}

/**
 * A relay on `from` says the other end of `channel` is at `where` now. An end here (or a
 * relay here) takes that route if it can reach it, and answers once it no longer routes
 * through `from` — or routes there because the other end is on `from` itself.
 */
function moved(from: u32, channel: u32, side: u32, where: u32): void {
  const end = findEnd(channel, side == SIDE_DESTINATION);
  let route = where;
  if (end != null) {
    if (end.departing) return; // its state is frozen in a stream: the relay asks again later
    const bytes = side == SIDE_DESTINATION ? end.maxMessageBytes + CHANNEL_HEADER_BYTES : ACK_BYTES;
    if (routable(where, bytes) && end.peer != where) {
      end.peer = where;
      if (end.isSource) rerouted(end);
    }
    route = end.peer;
  } else {
    const r = relayFor(channel);
    if (r != null) {
      if (side == SIDE_DESTINATION) { if (routable(where, CHANNEL_HEADER_BYTES)) r.destinationAt = where; route = r.destinationAt; }
      else { if (routable(where, ACK_BYTES)) r.sourceAt = where; route = r.sourceAt; }
    }
  }
  if (route != from || where == from) tell(from, FRAME_CHANNEL_SWITCHED, channel, side, 0);
}

function switched(from: u32, channel: u32, side: u32): void {
  answered(from, channel, side);
  const r = relayFor(channel);
  if (r == null) return;
  if (side == SIDE_DESTINATION && from == r.sourceAt) r.sourceSwitched = true;
  if (side == SIDE_SOURCE && from == r.destinationAt) r.destinationSwitched = true;
  if (r.sourceSwitched && r.destinationSwitched) dropRelay(channel);
}

// ---- a copy's announcements ------------------------------------------------------------------

/** A channel end that took over here: the processors that have not answered yet. */
@unmanaged class Announcement {
  channel: u32;
  side: u32;
  /** Processors still to answer (bit = processor id). */
  pending: u64;
  toldCycles: u64;
  tries: u32;
}

const announcements = new StaticArray<usize>(MAX_PORTS);
let announcementCount: i32 = 0;

function announcementAt(i: i32): Announcement {
  return changetype<Announcement>(unchecked(announcements[i]));
}

function dropAnnouncement(i: i32): void {
  heap.free(unchecked(announcements[i]));
  announcementCount--;
  unchecked(announcements[i] = unchecked(announcements[announcementCount]));
}

function answered(from: u32, channel: u32, side: u32): void {
  for (let i = 0; i < announcementCount; i++) {
    const a = announcementAt(i);
    if (a.channel == channel && a.side == side && from < 64) a.pending &= ~(<u64>1 << from);
  }
}

/**
 * `vm`'s copy took over here (failover.ts): its ports serve their channels from this
 * processor, and every processor in `peers` (bit = processor id) hears so until it answers.
 */
export function announceTakeover(vm: u32, peers: u64): void {
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    dropRelay(p.channel); // the end is here: its own port serves it
    if (findEnd(p.channel, !p.isSource) != null) p.peer = selfId(); // the other end is here too
    if (announcementCount == MAX_PORTS) continue;
    const a = changetype<Announcement>(heap.alloc(offsetof<Announcement>()));
    a.channel = p.channel;
    a.side = p.isSource ? SIDE_SOURCE : SIDE_DESTINATION;
    a.pending = peers;
    a.toldCycles = 0;
    a.tries = 0;
    unchecked(announcements[announcementCount++] = changetype<usize>(a));
  }
}

function serviceAnnouncements(): void {
  for (let i = announcementCount - 1; i >= 0; i--) {
    const a = announcementAt(i);
    if (a.pending == 0 || a.tries > CHANNEL_GIVE_UP_TIMEOUTS) { dropAnnouncement(i); continue; }
    if (a.tries > 0 && now() - a.toldCycles < nsToCycles(linkTimeoutNs(lowestPeer(a.pending)))) continue;
    a.tries++;
    a.toldCycles = now();
    for (let peer: u32 = 0; peer < MAX_PEERS && peer < 64; peer++) {
      if ((a.pending & (<u64>1 << peer)) != 0) tell(peer, FRAME_CHANNEL_MOVED, a.channel, a.side, selfId());
    }
  }
}

function lowestPeer(mask: u64): u32 {
  return <u32>ctz(mask);
}

/** Tells each side of every relay that has not answered where the other side is; the run loop calls it. */
export function serviceRelays(): void {
  serviceAnnouncements();
  for (let i = relayCount - 1; i >= 0; i--) {
    const r = relayAt(i);
    const waitNs = linkTimeoutNs(r.sourceSwitched ? r.destinationAt : r.sourceAt);
    if (!r.fresh && now() - r.toldCycles < nsToCycles(waitNs)) continue;
    r.fresh = false;
    r.toldCycles = now();
    const channel = r.channel;
    if (!r.sourceSwitched) tell(r.sourceAt, FRAME_CHANNEL_MOVED, channel, SIDE_DESTINATION, r.destinationAt);
    const again = relayFor(channel); // a local answer may have freed it
    if (again != null && !again.destinationSwitched) tell(again.destinationAt, FRAME_CHANNEL_MOVED, channel, SIDE_SOURCE, again.sourceAt);
  }
}

// ---- the VM hooks --------------------------------------------------------------------------

function portsDepart(vm: u32): void {
  for (let i = 0; i < portsHere(); i++) if (portAt(i).vm == vm) portAt(i).departing = true;
}

function portsStay(vm: u32): void {
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    p.departing = false;
    p.timerCycles = now();
  }
}

/** `vm` runs on `to` now: every channel its ports served gets a relay here, and the ports go. */
function portsLeft(vm: u32, to: u32): void {
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    if (p.isSource) setRelay(p.channel, p.peer, to);
    else setRelay(p.channel, to, findEnd(p.channel, true) != null ? selfId() : p.peer);
  }
  removePortsOf(vm);
}

/** `vm` arrived from `from` with its ports: they send through `from` until a relay there tells them better. */
function portsArrived(vm: u32, from: u32): void {
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    dropRelay(p.channel); // the end is back here: its own port serves it
    p.peer = findEnd(p.channel, !p.isSource) != null ? selfId() : from;
    p.arrivedNs = nowNs();
    p.departing = false;
    p.timerCycles = now();
  }
}

function relayRoom(vm: u32, count: u32): bool {
  let needed: i32 = 0;
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm == vm && relayFor(p.channel) == null) needed++;
  }
  return relayCount + needed <= MAX_RELAYS;
}

function portRoom(vm: u32, count: u32): bool {
  return <u32>portsHere() - portCountOf(vm) + count <= <u32>MAX_PORTS;
}

function released(vm: u32): void {
  removePortsOf(vm);
}

elsewhere.forward = forward;
vmHooks.depart = portsDepart;
vmHooks.stay = portsStay;
vmHooks.left = portsLeft;
vmHooks.arrived = portsArrived;
vmHooks.released = released;
vmHooks.largestMessage = largestMessageOf;
vmHooks.portCount = portCountOf;
vmHooks.relayRoom = relayRoom;
vmHooks.portRoom = portRoom;
