/**
 * The per-VM summary at the end of a board run: a table for people, JSON for
 * programs. The numbers come from the core's vmStat counters and the host's
 * link statistics (docs/boards.md, "Summary").
 */
import type { BoardChannelResult, BoardRunResult, BoardVmResult } from './board-runner.js';
import { NO_SLACK } from './board-runner.js';
import { jsonText } from './format.js';
import { measureFailovers } from './health.js';
import { formatLoadLines } from './load-policies.js';

interface Column {
  title: string;
  /** Right-aligned (numbers). */
  right: boolean;
  cell(vm: BoardVmResult): string;
}

const COLUMNS: Column[] = [
  { title: 'vm', right: false, cell: (vm) => vm.name },
  { title: 'cpu', right: true, cell: (vm) => String(vm.processor) },
  { title: 'state', right: false, cell: (vm) => vmState(vm) },
  { title: 'instret', right: true, cell: (vm) => String(vm.instret) },
  { title: 'windows', right: true, cell: (vm) => String(vm.stats.windowsUsed) },
  { title: 'overruns', right: true, cell: (vm) => String(vm.stats.windowOverruns) },
  { title: 'late-irq', right: true, cell: (vm) => String(vm.stats.lateInterrupts) },
  { title: 'jobs', right: true, cell: (vm) => String(vm.stats.jobsCompleted) },
  { title: 'misses', right: true, cell: (vm) => String(vm.stats.deadlineMisses) },
  { title: 'slack-us', right: true, cell: (vm) => (vm.stats.slackNs === NO_SLACK ? '-' : formatMicros(vm.stats.slackNs)) },
  { title: 'ctl-err', right: true, cell: (vm) => metric(vm, vm.stats.metricLast) },
  { title: 'ctl-err-max', right: true, cell: (vm) => metric(vm, vm.stats.metricPeak) },
  { title: 'hcalls', right: true, cell: (vm) => String(vm.stats.hypercalls) },
  { title: 'tx/rx/drop', right: true, cell: (vm) => `${vm.stats.framesSent}/${vm.stats.framesReceived}/${vm.stats.framesDropped}` },
];

/** A reported metric in milli-units as a decimal ("-" if the guest reported none). */
function metric(vm: BoardVmResult, raw: bigint): string {
  if (vm.stats.metricReports === 0n) return '-';
  const value = BigInt.asIntN(64, raw);
  const sign = value < 0n ? '-' : '';
  const magnitude = value < 0n ? -value : value;
  return `${sign}${magnitude / 1000n}.${String(magnitude % 1000n).padStart(3, '0')}`;
}

function vmState(vm: BoardVmResult): string {
  if (vm.state === 'running' || vm.state === 'lost') return vm.state;
  const outcome = vm.outcome!;
  return outcome.exitStatus === 0 ? `${outcome.reason}` : `${outcome.reason}!`;
}

function formatMicros(ns: bigint): string {
  const whole = ns / 1000n;
  const tenths = (ns % 1000n) / 100n;
  return `${whole}.${tenths}`;
}

const END_WORDS: Record<BoardRunResult['end'], string> = {
  stopped: 'all VMs stopped',
  limit: 'stopped at the limit',
  duration: 'ran for its duration',
  migrated: 'stopped after its migrations',
  interrupted: 'interrupted (Ctrl-C)',
};

interface ChannelColumn {
  title: string;
  right: boolean;
  cell(channel: BoardChannelResult): string;
}

/** One row per channel: what was sent and delivered, and the worst delivery against the channel's published bound. */
const CHANNEL_COLUMNS: ChannelColumn[] = [
  { title: 'channel', right: false, cell: (c) => c.name },
  { title: 'kind', right: false, cell: (c) => c.kind },
  { title: 'from -> to', right: false, cell: (c) => `${c.source} -> ${c.destination}` },
  { title: 'sent', right: true, cell: (c) => String(c.sent) },
  { title: 'delivered', right: true, cell: (c) => String(c.delivered) },
  { title: 'resent', right: true, cell: (c) => String(c.retransmissions) },
  { title: 'dup/early', right: true, cell: (c) => `${c.duplicates}/${c.outOfOrder}` },
  { title: 'worst-us', right: true, cell: (c) => (c.delivered === c.movedDeliveries ? '-' : formatMicros(c.worstDeliveryNs)) },
  { title: 'bound-us', right: true, cell: (c) => (c.boundNs === 0n ? '-' : formatMicros(c.boundNs)) },
  { title: 'late', right: true, cell: (c) => String(c.lateDeliveries) },
  { title: 'moved', right: true, cell: (c) => (c.movedDeliveries === 0n ? '0' : `${c.movedDeliveries} (worst ${formatMicros(c.worstMovedDeliveryNs)} us)`) },
  { title: 'link', right: false, cell: (c) => (c.linkDead ? 'DEAD' : c.linkDeadEvents > 0n ? `recovered x${c.linkDeadEvents}` : 'ok') },
];

function table<T>(columns: { title: string; right: boolean; cell(row: T): string }[], items: readonly T[]): string[] {
  const rows = [columns.map((column) => column.title), ...items.map((item) => columns.map((column) => column.cell(item)))];
  const widths = columns.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  return rows.map((row) =>
    row.map((cell, index) => (columns[index]!.right ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd());
}

/** The summary as aligned text tables (VMs, then channels) with a heading line and a link line. */
export function formatSummary(result: BoardRunResult): string {
  const lines = table(COLUMNS, result.vms);
  const channels = result.channels.length === 0 ? [] : table(CHANNEL_COLUMNS, result.channels);
  const heading = `board ${result.board}: ${result.processors.length} processor${result.processors.length === 1 ? '' : 's'}, ` +
    `${result.vms.length} VM${result.vms.length === 1 ? '' : 's'}, ${formatVirtualTime(result.endNs)} of virtual time, ` +
    `${END_WORDS[result.end]}`;
  const delivered = result.links.reduce((sum, link) => sum + link.framesDelivered, 0);
  const linkLine = result.links.length === 0
    ? undefined
    : `links: ${delivered} frames delivered, ${result.links.reduce((sum, link) => sum + link.framesDropped, 0)} lost on the wire, ` +
      `${result.framesInFlight} in flight at the end; processors dropped ${result.processors.reduce((sum, p) => sum + p.framesDropped, 0n)}`;
  return [heading, ...lines, ...channels, ...(linkLine === undefined ? [] : [linkLine]), ...healthLines(result),
    ...(result.load === undefined ? [] : formatLoadLines(result.load))].join('\n') + '\n';
}

/** Faults injected, each protection's bounds, and every failover measured against them. */
function healthLines(result: BoardRunResult): string[] {
  const lines = result.faults.map((fault) =>
    `fault at ${formatVirtualTime(fault.atNs)}: ${fault.kind}${fault.processor === undefined ? '' : ` processor ${fault.processor}`}${fault.detail === undefined ? '' : ` (${fault.detail})`}${fault.skipped === undefined ? '' : ` not applied: ${fault.skipped}`}`);
  const health = result.health;
  if (health === undefined) return lines;
  const { setup, events } = health;
  lines.push(`health: heartbeat ${formatVirtualTime(setup.heartbeatNs)}, suspect after ${formatVirtualTime(setup.suspectNs)} (the links allow ${formatVirtualTime(setup.minimumSuspectNs)}); ` +
    `${events.suspicions.length} suspicions, ${events.trusts.length} withdrawn`);
  for (const protection of setup.protections) {
    lines.push(`protection ${protection.vm} (${protection.policies.join(', ')}; processors ${protection.order.join(' -> ')}): ` +
      `interruption bound ${formatVirtualTime(protection.interruptionBoundNs)}, lost-work bound ${protection.lostWorkBoundNs === undefined ? 'none (a restart)' : formatVirtualTime(protection.lostWorkBoundNs)}, ` +
      `${events.epochsCommitted[protection.id] ?? 0} epochs applied`);
  }
  for (const measure of measureFailovers(setup, events, result.faults)) {
    const { failover } = measure;
    const bounds = setup.protections.find((p) => p.id === failover.protection)!;
    const parts = [`failover ${failover.vm}: processor ${measure.from} -> ${failover.processor} at ${formatVirtualTime(failover.activatedNs)} (term ${failover.term}, after ${measure.cause})`];
    if (measure.interruptionNs !== undefined) parts.push(`interruption ${formatVirtualTime(measure.interruptionNs)} (bound ${formatVirtualTime(bounds.interruptionBoundNs)})`);
    if (measure.lostWorkNs !== undefined) parts.push(`lost work ${formatVirtualTime(measure.lostWorkNs)} (bound ${bounds.lostWorkBoundNs === undefined ? '-' : formatVirtualTime(bounds.lostWorkBoundNs)})`);
    if (failover.resumedFromNs === undefined && measure.cause !== 'handover') parts.push('restarted from its image');
    if (failover.firstRunNs === undefined) parts.push('it had not run again when the run ended');
    lines.push(parts.join(', '));
  }
  for (const fenced of events.fenced) lines.push(`fenced: ${protectionName(result, fenced.protection)} on processor ${fenced.processor} at ${formatVirtualTime(fenced.atNs)} (term ${fenced.term} runs elsewhere)`);
  return lines;
}

function protectionName(result: BoardRunResult, id: number): string {
  return result.health!.setup.protections.find((p) => p.id === id)?.vm ?? `protection ${id}`;
}

/** "12.5 ms", "3 s", "250 us": virtual time for people. */
export function formatVirtualTime(ns: bigint): string {
  if (ns >= 1_000_000_000n) return `${trim(Number(ns) / 1e9)} s`;
  if (ns >= 1_000_000n) return `${trim(Number(ns) / 1e6)} ms`;
  if (ns >= 1_000n) return `${trim(Number(ns) / 1e3)} us`;
  return `${ns} ns`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(3)));
}

/**
 * The whole result as JSON (host/format.ts jsonValue: bigints as numbers while exact).
 * The core's counters are u64; the guest's metric is a signed value it reported
 * (sign-extended), so it is read back signed, and "no slack" is null, not 2^64 - 1.
 */
export function summaryJson(result: BoardRunResult): string {
  return jsonText(summaryValue(result));
}

/** The result as the JSON document summaryJson prints (consoles left out: they went to the console). */
export function summaryValue(result: BoardRunResult): object {
  const vms = result.vms.map(({ console: _console, ...vm }) => ({
    ...vm,
    stats: {
      ...vm.stats,
      slackNs: vm.stats.slackNs === NO_SLACK ? null : vm.stats.slackNs,
      metricLast: BigInt.asIntN(64, vm.stats.metricLast),
      metricPeak: BigInt.asIntN(64, vm.stats.metricPeak),
    },
  }));
  return { ...result, vms };
}
