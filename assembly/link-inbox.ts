// The link inbox: every frame from the board's links comes in here (index.ts
// linkReceive), is checked (communication.ts) and goes to the protocol it belongs to —
// channel messages, acknowledgements and probes to channel.ts, a relay's routing news to
// channel-relay.ts, migration messages to migration.ts, heartbeats to the health monitor,
// replication to replication.ts, load reports to the load monitor. One place demultiplexes, so the protocols do not know
// each other. The run loop services their timers through here too.
import {
  DROP_NO_PORT, FRAME_CHANNEL_ACK, FRAME_CHANNEL_MESSAGE, FRAME_CHANNEL_MOVED, FRAME_CHANNEL_PROBE, FRAME_CHANNEL_SWITCHED,
  FRAME_HEADER_BYTES, FRAME_HEARTBEAT, FRAME_LOAD_REPORT, FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE, FRAME_REPLICA_ACK,
  FRAME_REPLICA_MESSAGE,
} from "./config";
import { consolidate } from "./consolidation";
import { relieveHotspot } from "./hotspot";
import { measureLoad, receiveLoadReport, sendLoadReports } from "./load-monitor";
import { serviceFailover } from "./failover";
import { receiveHeartbeat } from "./health-monitor";
import { receiveReplicaFrame } from "./replication";
import { receiveChannelFrame, serviceChannels } from "./channel";
import { receiveRouting, serviceRelays } from "./channel-relay";
import { acceptFrame, dropFrame, frameChannel } from "./communication";
import { pumpMigrations, receiveMigrationFrame } from "./migration";

export function receiveFrame(peer: u32, ptr: usize, len: u32): void {
  const type = acceptFrame(peer, ptr, len);
  if (type == 0) return;
  const channel = frameChannel(ptr);
  const payload = ptr + FRAME_HEADER_BYTES;
  const payloadBytes = len - FRAME_HEADER_BYTES;
  if (type == FRAME_CHANNEL_MESSAGE || type == FRAME_CHANNEL_ACK || type == FRAME_CHANNEL_PROBE) {
    receiveChannelFrame(peer, type, channel, payload, payloadBytes);
  } else if (type == FRAME_CHANNEL_MOVED || type == FRAME_CHANNEL_SWITCHED) {
    receiveRouting(peer, type, channel, payload, payloadBytes);
  } else if (type == FRAME_MIGRATION_MESSAGE || type == FRAME_MIGRATION_ACK) {
    receiveMigrationFrame(peer, type, channel, payload, payloadBytes);
  } else if (type == FRAME_HEARTBEAT) {
    receiveHeartbeat(peer, payload, payloadBytes);
  } else if (type == FRAME_REPLICA_MESSAGE || type == FRAME_REPLICA_ACK) {
    receiveReplicaFrame(peer, type, channel, payload, payloadBytes);
  } else if (type == FRAME_LOAD_REPORT) {
    receiveLoadReport(peer, payload, payloadBytes);
  } else {
    dropFrame(peer, DROP_NO_PORT);
  }
}

/** Timers of every protocol on the links: the run loop calls this at every quantum and slot boundary. */
export function serviceLinks(): void {
  serviceChannels();
  serviceRelays();
  pumpMigrations();
  serviceFailover();
  // The load policies, once a load period: measure, decide, tell the peers.
  if (measureLoad()) {
    relieveHotspot();
    consolidate();
    sendLoadReports();
  }
}
