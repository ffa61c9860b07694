// The migration manager: moves a running VM to another processor over the board's link,
// with a downtime bound computed before it starts (downtime.ts), and never lets the VM run
// in two places. docs/migration.md is the protocol; the source side is
// migration-source.ts, the destination side migration-destination.ts, their messages
// migration-messages.ts. This file takes their frames from the link inbox and answers
// the host's questions about a migration by its id.
//
// All messages travel over transport.ts (acknowledged, retransmitted), so loss,
// corruption, duplication and reordering only cost time.
import { FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE } from "./config";
import { currentIncoming, heardFrom, incomingById, incomingFor, incomingStat, onDestinationMessage, pumpIncoming, refuseBusy } from "./migration-destination";
import { onSourceMessage, outgoingById, outgoingBySession, outgoingStat, pumpAllOutgoing } from "./migration-source";
import { dropFrame } from "./communication";
import { MESSAGE_HEADER_BYTES } from "./transport";

export { cancelMigration, startMigration } from "./migration-source";
export { noteFirstRun } from "./migration-destination";
export { setNextParam } from "./migration-params";

/** A migration frame from the link (already checked by communication.ts). */
export function receiveMigrationFrame(peer: u32, type: u32, session: u32, payload: usize, payloadBytes: u32): void {
  const out = outgoingBySession(session, peer);
  if (type == FRAME_MIGRATION_ACK) {
    if (payloadBytes < 4) return;
    if (out != null) out.link.acknowledge(load<u32>(payload));
    else {
      const into = currentIncoming();
      if (into.link.open && into.id == session && into.link.peer == peer) into.link.acknowledge(load<u32>(payload));
    }
  } else if (type == FRAME_MIGRATION_MESSAGE) {
    if (out != null) {
      const message = out.link.receive(payload, payloadBytes);
      if (message != 0) onSourceMessage(out, load<u8>(message, 4), message + MESSAGE_HEADER_BYTES, payloadBytes - MESSAGE_HEADER_BYTES);
      else dropFrame(peer, out.link.rejected);
    } else {
      const into = incomingFor(session, peer, payload, payloadBytes);
      if (into == null) { refuseBusy(peer, session, payload, payloadBytes); return; }
      heardFrom(into);
      const message = into.link.receive(payload, payloadBytes);
      if (message != 0) onDestinationMessage(into, load<u8>(message, 4), message + MESSAGE_HEADER_BYTES, payloadBytes - MESSAGE_HEADER_BYTES);
      else dropFrame(peer, into.link.rejected);
    }
  }
  pumpMigrations();
}

/** Retransmits and moves migrations on; the run loop calls it at every quantum and slot. */
export function pumpMigrations(): void {
  pumpIncoming();
  pumpAllOutgoing();
}

/** MigrationStat `key` of outgoing migration `id` (0: the latest); 0 if it is not known here. */
export function migrationStat(id: u32, key: u32): u64 {
  const out = outgoingById(id);
  return out == null ? 0 : outgoingStat(out, key);
}

/** IncomingStat `key` of incoming migration `id` (0: the latest); 0 if it is not known here. */
export function migrationIncomingStat(id: u32, key: u32): u64 {
  const into = incomingById(id);
  return into == null ? 0 : incomingStat(into, key);
}
