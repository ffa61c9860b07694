/**
 * What a hostile review of migration and the load policies found, each kept fixed: a
 * migration asked for after the run's end, links whose MTU cannot carry a PREPARE, a
 * trace-replay whose destination dropped it while its source hung, a migration asked of a
 * failed processor (which must never transmit), and a load period shorter than a frame.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBoard } from '../host/board-runner.js';
import { readScenario } from '../host/scenario.js';
import { runFerry } from './helpers/ferry-cli.js';
import { ROOT } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-review-'));
const quad = (): Record<string, unknown> & { links: { mtuBytes: number }[]; vms: { image: string }[] } => {
  const board = JSON.parse(readFileSync(join(ROOT, 'boards', 'quad.json'), 'utf8'));
  delete board.$schema;
  board.vms = board.vms.map((vm: { image: string }) => ({ ...vm, image: join(ROOT, 'boards', vm.image) }));
  return board;
};

function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('migration requests the run cannot serve', () => {
  it('--at at or after --duration is refused before the run; a run whose VMs all stopped before --at says so (exit 5)', () => {
    const late = runFerry(['migrate', join(ROOT, 'boards', 'quad.json'), '--vm', 'ctl0', '--to', '3', '--at', '2s', '--strategy', 'trace-replay', '--duration', '1s']);
    expect(late.status, late.stderr).toBe(2);
    expect(late.stderr).toMatch(/^ferry: error: --at 2\.000 s: comes at or after the run's end \(--duration 1\.000 s\): the migration would never start\n$/);
    const board = quad();
    board.vms = board.vms.filter((vm) => /cpu-small/.test(vm.image)); // cpu2 alone: it stops after a few ms
    (board as { channels?: unknown[] }).channels = [];
    const stops = write('stops.json', board);
    const result = runFerry(['migrate', stops, '--vm', 'cpu2', '--to', '3', '--at', '2s', '--no-summary']);
    expect(result.status, result.stderr).toBe(5);
    expect(result.stdout).toMatch(/the run ended at [\d.]+ ms, before --at 2\.000 s \(every VM had stopped\): the migration never started/);
  });

  it('a link whose MTU cannot carry PREPARE with the VM\'s windows refuses the move (link-mtu, exit 4), never a host error', () => {
    const board = quad();
    for (const link of board.links) link.mtuBytes = 64;
    const path = write('mtu64.json', board);
    for (const strategy of ['trace-replay', 'stop-copy']) {
      const result = runFerry(['migrate', path, '--vm', 'ctl0', '--to', '3', '--at', '1s', '--strategy', strategy, '--affordable', '100ms', '--no-summary']);
      expect(result.status, result.stderr).toBe(4);
      expect(result.stdout).toMatch(/refused: a migration message \(PREPARE, with the VM's windows\) would not fit one frame of the link to the destination/);
    }
  });
});

describe('faults around a migration', () => {
  it('trace-replay whose source hangs 30 ms in its transfer: the destination drops it, and the source gives up instead of logging forever', async () => {
    const path = write('hang.json', {
      board: join(ROOT, 'boards', 'quad.json'), duration: '3s',
      events: [{ at: '2s', migrate: { vm: 'ctl0', to: 3, strategy: 'trace-replay' } }, { at: '2001ms', hang: { processor: 0, for: '30ms' } }],
    });
    const scenario = await readScenario(path);
    const result = await runBoard({ board: scenario.board, durationNs: scenario.durationNs!, events: scenario.events, faults: scenario.faults });
    const [report] = result.migrations;
    expect(report!.outcome).toBe('failed');
    expect(report!.reason).toBe('unreachable');
    expect(report!.endedAtNs! - 2_000_000_000n, 'it ends well before the run does').toBeLessThan(500_000_000n);
    const ctl0 = result.vms.find((vm) => vm.name === 'ctl0')!;
    expect(ctl0.processor).toBe(0);
    expect(ctl0.state).toBe('running');
  });

  it('a migration asked of a failed processor is refused, and a failed processor sends no frame', async () => {
    const path = write('failed-source.json', {
      board: join(ROOT, 'boards', 'quad.json'), duration: '3s',
      events: [{ at: '1s', fail: { processor: 0 } }, { at: '2s', migrate: { vm: 'ctl0', to: 3, strategy: 'trace-replay' } }],
    });
    const scenario = await readScenario(path);
    const sent: bigint[] = [];
    const result = await runBoard({
      board: scenario.board, durationNs: scenario.durationNs!, events: scenario.events, faults: scenario.faults,
      onTrace: (records) => { for (const r of records) if (r.event === 'link-deliver' && r.from === 0 && typeof r.sentNs === 'bigint' && r.sentNs >= 1_000_000_000n) sent.push(r.sentNs); },
    });
    expect(result.migrations[0]!.outcome).toBe('refused');
    expect(result.migrations[0]!.message).toMatch(/ctl0 is on processor 0, which has failed: there is nothing to move/);
    expect(sent, 'frames from processor 0 after its failure').toEqual([]);
  });
});

describe('load policies', () => {
  it('a load period shorter than the longest major frame is refused at /load/period', () => {
    const board = JSON.parse(readFileSync(join(ROOT, 'boards', 'consolidation.json'), 'utf8'));
    delete board.$schema;
    board.vms = board.vms.map((vm: { image: string }) => ({ ...vm, image: join(ROOT, 'boards', vm.image) }));
    board.load.period = '1ms';
    const result = runFerry(['run', '--board', write('short-period.json', board), '--duration', '100ms']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/\/load\/period: must be at least the longest major frame \(10 ms\): a period measures whole frames/);
  });
});
