/**
 * Guarantees benchmark: the figures of the guarantees-under-faults work, measured in one
 * run and printed (nothing here is asserted; test/guarantees*.test.ts assert).
 *
 *   npm run build && npm run bench:guarantees [-- --seeds N] [-- --json]
 *
 *  1. channels over lossy links: boards/quad.json for 3 s at 0, 1 and 5 % frame loss —
 *     per channel: sent, delivered, not delivered, resent, worst and mean delivery time
 *     against the channel's published bound, deliveries later than it;
 *  2. post-copy pages: memcheck (1 MiB region) moved post-copy — pages in the blackout, pages after
 *     the commit, pages that came twice, bytes on the wire per page;
 *  3. the property test's migrations over N random boards (default 500 seeds): outcomes,
 *     measured downtime / bound (largest, and quantiles), arrivals per processor.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { readBoard } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import type { BoardChannelResult } from '../host/board-runner.js';
import { packageRoot } from '../host/package-root.js';
import { guaranteeBoard } from '../test/helpers/guarantee-board.js';
import { runPropertyCase } from '../test/helpers/random-board.js';

const MS = 1_000_000n;

function options(): { seeds: number; json: boolean } {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '500' }, json: { type: 'boolean', default: false } } });
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds needs a positive integer, not ${values.seeds}`);
  return { seeds, json: values.json === true };
}

const us = (ns: bigint): string => (Number(ns) / 1000).toFixed(1);

async function channelFigure(): Promise<{ drop: number; channels: BoardChannelResult[] }[]> {
  const board = await readBoard(join(packageRoot(), 'boards', 'quad.json'));
  const rows = [];
  for (const drop of [0, 0.01, 0.05]) {
    const result = await runBoard({ board, durationNs: 3_000n * MS, seed: 1, ...(drop === 0 ? {} : { linkFaults: { drop } }) });
    rows.push({ drop, channels: result.channels });
  }
  return rows;
}

async function postCopyFigure(): Promise<Record<string, bigint>> {
  const board = guaranteeBoard({ processors: [{}, {}], vms: [{ name: 'g', image: 'memcheck.elf', processor: 0, memoryBytes: 2 * 1024 * 1024 }] });
  const result = await runBoard({
    board, durationNs: 300n * MS,
    events: [{ kind: 'migrate', atNs: 100n * MS, vm: 'g', to: 1, strategy: 'post-copy', params: { affordableNs: 50n * MS } }],
  });
  const report = result.migrations[0]!;
  const pages = report.prepagedPages + report.pushedPages;
  return {
    prepagedPages: report.prepagedPages, pushedPages: report.pushedPages, duplicatePages: report.duplicatePages ?? 0n,
    bytesSent: report.bytesSent, bytesPerPage: pages === 0n ? 0n : report.bytesSent / pages,
    downtimeNs: report.downtimeNs ?? 0n, boundNs: report.boundNs,
  };
}

async function propertyFigure(seeds: number) {
  const outcomes: Record<string, number> = {};
  const ratios: number[] = [];
  let broken = 0;
  let mostArrivals = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const outcome = await runPropertyCase(seed);
    if (outcome.problems.length > 0) broken++;
    const arrivals = new Map<number, number>();
    for (const report of outcome.result.migrations) {
      outcomes[report.outcome] = (outcomes[report.outcome] ?? 0) + 1;
      if (report.downtimeNs !== undefined && report.boundNs > 0n) ratios.push(Number(report.downtimeNs) / Number(report.boundNs));
      if (report.outcome === 'completed') arrivals.set(report.to, (arrivals.get(report.to) ?? 0) + 1);
    }
    for (const count of arrivals.values()) mostArrivals = Math.max(mostArrivals, count);
  }
  ratios.sort((a, b) => a - b);
  const quantile = (q: number): number => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))] ?? 0;
  return { seeds, broken, outcomes, measured: ratios.length, largestRatio: ratios.at(-1) ?? 0, medianRatio: quantile(0.5), p99Ratio: quantile(0.99), mostArrivals };
}

async function main(): Promise<void> {
  const { seeds, json } = options();
  const channels = await channelFigure();
  const postCopy = await postCopyFigure();
  const property = await propertyFigure(seeds);
  if (json) {
    console.log(JSON.stringify({ channels, postCopy, property }, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value), 2));
    return;
  }
  console.log('1. channels on boards/quad.json, 3 s, seed 1 (times in us)');
  console.log('   drop  channel  kind      sent  delivered  not-delivered  resent  worst   mean   bound    late');
  for (const { drop, channels: list } of channels) {
    for (const c of list) {
      console.log(`   ${(drop * 100).toFixed(0).padStart(3)} %  ${c.name.padEnd(7)}  ${c.kind.padEnd(8)}  ${String(c.sent).padStart(4)}  ${String(c.delivered).padStart(9)}  ${String(c.undelivered).padStart(13)}  ${String(c.retransmissions).padStart(6)}  ${us(c.worstDeliveryNs).padStart(6)}  ${us(c.meanDeliveryNs).padStart(5)}  ${us(c.boundNs).padStart(6)}  ${String(c.lateDeliveries).padStart(6)}`);
    }
  }
  console.log('2. post-copy of memcheck (1 MiB region, 2 MiB VM): each page once');
  console.log(`   pages in the blackout ${postCopy.prepagedPages}, after the commit ${postCopy.pushedPages}, twice ${postCopy.duplicatePages}; bytes sent ${postCopy.bytesSent} (${postCopy.bytesPerPage} per page); downtime ${us(postCopy.downtimeNs!)} us of a ${us(postCopy.boundNs!)} us bound`);
  console.log(`3. property test over ${property.seeds} random boards: ${property.broken} broke a guarantee`);
  console.log(`   migrations: ${Object.entries(property.outcomes).map(([outcome, count]) => `${count} ${outcome}`).join(', ')}`);
  console.log(`   measured downtime / bound over ${property.measured}: largest ${property.largestRatio.toFixed(3)}, median ${property.medianRatio.toFixed(3)}, 99th percentile ${property.p99Ratio.toFixed(3)}`);
  console.log(`   most arrivals on one processor in one run: ${property.mostArrivals}`);
}

await main();
