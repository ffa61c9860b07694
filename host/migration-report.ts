/**
 * The migration report for people (docs/migration.md, "The report"): its one-line
 * verdict and the table under it. The report itself is built by MigrationController
 * (migration.ts) from what the cores report.
 */
import type { MigrationReport } from './migration.js';

/** The report's one line: what happened, and for a refusal the numbers it was refused on. */
export function describeOutcome(report: MigrationReport): string {
  const head = `migration of ${report.vm} from processor ${report.from} to ${report.to} (${report.strategy})`;
  switch (report.outcome) {
    case 'completed':
      return `${head} completed: downtime ${report.downtimeNs === undefined ? 'not measured (the VM had not run on the destination when the run ended)' : formatNs(report.downtimeNs)}, bound ${formatNs(report.boundNs)}`;
    case 'refused':
      if (report.reason === 'bound-exceeds-affordable') {
        return `${head} refused: the downtime bound ${formatNs(report.boundNs)} exceeds the affordable downtime ${formatNs(report.affordableNs ?? 0n)}`;
      }
      if (report.reason === 'log-rate-exceeds-replay-rate' && report.replay !== undefined) {
        const r = report.replay;
        return `${head} refused: the input log grows at ${formatRate(r.logRateBytesPerS)}, faster than the destination can replay it (${formatRate(r.replayRateBytesPerS)}; `
          + `it replays ${r.replayInstructionsPerS === 0n ? 'at an unknown rate' : `${r.replayInstructionsPerS} instructions/s`} where the VM executes ${r.sourceInstructionsPerS}/s)`;
      }
      if (report.reason === 'replay-slower-than-vm' && report.replay !== undefined) {
        const r = report.replay;
        return `${head} refused: the destination replays ${r.replayInstructionsPerS} instructions/s (its clock times the VM's share there), `
          + `no more than the VM executes here (${r.sourceInstructionsPerS}/s): the replay would never catch up`;
      }
      return `${head} refused: ${report.reasonText}`;
    case 'failed':
      return `${head} failed: ${report.reasonText}; the VM runs on the source`;
    case 'cancelled':
      return `${head} cancelled in ${report.cancel?.state ?? 'its'} state; the VM runs on the source`;
    case 'unfinished':
      return `${head} was still in ${report.state} when the run ended`;
  }
}

// ---------------------------------------------------------------- formatting

/** "12.345 ms": virtual time with three decimals in the largest unit that is at least 1. */
export function formatNs(ns: bigint): string {
  const value = Number(ns);
  if (ns >= 1_000_000_000n) return `${(value / 1e9).toFixed(3)} s`;
  if (ns >= 1_000_000n) return `${(value / 1e6).toFixed(3)} ms`;
  if (ns >= 1_000n) return `${(value / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}

/** "36.2 MB/s (290 Mbit/s)". */
export function formatRate(bytesPerS: bigint): string {
  const value = Number(bytesPerS);
  return `${(value / 1e6).toFixed(2)} MB/s (${((value * 8) / 1e6).toFixed(1)} Mbit/s)`;
}

/** The report for people: several lines, each ending in a newline. */
export function formatMigrationReport(report: MigrationReport): string {
  const lines: string[] = [report.message];
  const row = (label: string, value: string): void => { lines.push(`  ${label.padEnd(16)}${value}`); };
  row('strategy', `${report.strategy}, requested at ${formatNs(report.requestedAtNs)}, started at ${formatNs(report.startedAtNs)}`);
  row('result', `${report.outcome} (state ${report.state}${report.reason === 'none' ? '' : `, reason: ${report.reasonText}`})`);
  if (report.startStatus !== 0 && report.state === 'idle') return `${lines.join('\n')}\n`;
  const refused = report.outcome === 'refused';
  if (refused && report.boundNs === 0n) {
    row('affordable', report.affordableNs === undefined ? 'unknown' : formatNs(report.affordableNs));
    return `${lines.join('\n')}\n`;
  }
  row('bound', `${formatNs(report.boundNs)} = transfer ${formatNs(report.bound.transferNs)} + handshake ${formatNs(report.bound.handshakeNs)}`
    + ` + retransmissions ${formatNs(report.bound.retransmitNs)} + restore ${formatNs(report.bound.restoreNs)} + schedule ${formatNs(report.bound.scheduleNs)}`
    + (report.bound.prepareNs === undefined ? '' : ` + prepare ${formatNs(report.bound.prepareNs)}`)
    + (report.bound.compressionNs === undefined ? '' : ` + compression ${formatNs(report.bound.compressionNs)}`)
    + (report.bound.replayNs === undefined ? '' : ` + replay ${formatNs(report.bound.replayNs)}`)
    + (report.destinationClockHz === undefined ? '' : ` (destination at ${report.destinationClockHz / 1e6} MHz)`));
  row('affordable', report.affordableNs === undefined ? 'unknown' : `${formatNs(report.affordableNs)} (${report.params.affordableNs === undefined ? "the VM's own: the board's affordableDowntime, else its task set's slack" : 'given for this move'})`);
  if (report.downtimeNs !== undefined) {
    row('downtime', `${formatNs(report.downtimeNs)} measured, ${report.downtimeRatio === undefined ? '-' : report.downtimeRatio.toFixed(3)} of the bound${(report.downtimeRatio ?? 0) > 1 ? '  ** EXCEEDS THE BOUND **' : ''}`);
  }
  if (refused) return `${lines.join('\n')}\n`;
  row('total time', formatNs(report.totalNs));
  row('bytes sent', `${report.bytesSent} (blackout stream ${report.blackoutBytes})`
    + (report.destinationHeldBytes === undefined ? '' : `; the destination held at most ${report.destinationHeldBytes} at once`));
  row('rounds', report.strategy === 'trace-replay' ? `${report.rounds} (INPUT_LOG records)` : String(report.rounds));
  row('retransmissions', String(report.retransmissions));
  if (report.strategy === 'throttled') row('cpu share', `${(report.sharePermille / 10).toFixed(1)} % at the end`);
  if (report.imagePages !== undefined && report.stopNs !== undefined) {
    row('cold', `restarted from its boot image (${report.imagePages} pages) at the stop: its state before it was lost`);
  }
  if (report.strategy === 'warm' && report.stopNs !== undefined) row('warm', 'suspended before the destination was asked; the downtime includes the PREPARE exchange');
  if (report.compression !== undefined) {
    const c = report.compression;
    const ratio = (r: { ratio?: number }): string => (r.ratio === undefined ? '-' : `${r.ratio.toFixed(1)}x`);
    row('compression', `${c.all.pages} pages in ${c.all.sentBytes} bytes, ${c.all.savedBytes} saved (${ratio(c.all)}): `
      + `zero ${c.zero.pages} (${ratio(c.zero)}), strongly regular ${c.strong.pages} (${ratio(c.strong)}), weakly regular ${c.weak.pages} (${ratio(c.weak)}), raw ${c.raw.pages}`);
  }
  if (report.replay !== undefined && !refused) {
    const r = report.replay;
    row('trace-replay', `log ${r.logBytes} bytes (${r.logEntries} inputs) from instruction ${r.checkpointPosition} to ${r.stopPosition}; `
      + `log rate ${formatRate(r.logRateBytesPerS)} of ${formatRate(r.replayRateBytesPerS)}; ${r.lagInstructions} instructions behind at the stop`
      + (r.replayedInstructions === undefined ? '' : `; ${r.replayedInstructions} replayed (${r.tailInstructions ?? 0n} at the commit)`)
      + (r.destinationDigest === undefined ? '' : `; digest ${hex(r.sourceDigest)} here, ${hex(r.destinationDigest)} there${r.sourceDigest === r.destinationDigest ? ' (identical)' : ' (DIFFERENT)'}`));
  }
  if (report.heldPages !== undefined) row('working set', `rounds in working-set order; ${report.heldPages} predicted-hot pages left for the blackout by the last round`);
  if (report.strategy === 'post-copy') {
    row('post-copy', `${report.prepagedPages} pages in the blackout, ${report.pushedPages} after the commit (${report.demandRequests} on request); ${report.demandFaults} demand faults on the destination`);
  }
  if (report.cancel !== undefined) row('cancel', `at ${formatNs(report.cancel.atNs)} in ${report.cancel.state}: ${report.cancel.result}`);
  if (report.roundStats.length > 0) {
    lines.push('  round  pages  dirty rate');
    for (const round of report.roundStats) {
      lines.push(`  ${String(round.round).padStart(5)}  ${String(round.pages).padStart(5)}  ${formatRate(round.dirtyBytesPerS)}`);
    }
  }
  for (const violation of report.violations) lines.push(`  INVARIANT VIOLATED: ${violation}`);
  return `${lines.join('\n')}\n`;
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
