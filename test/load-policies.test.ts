/**
 * The load policies (docs/load-policies.md): hotspot relief and consolidation, decided
 * by the cores from their own measurements, each move admitted by the migration manager
 * against the VM's affordable downtime. On the boards built for them (boards/hotspot.json,
 * boards/consolidation.json): the overloaded processor is relieved within the sustained
 * window and no deadline is missed; consolidation frees the processors it should and
 * never moves a VM back; the same board gives the same moves. And the refusals: a move
 * admission turns down, a bad load section at its JSON pointer, a bad parameter in the core.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoardFileError, parseBoard, readBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import type { BoardRunResult } from '../host/board-runner.js';
import { moduleCoreFactory } from '../host/core.js';
import { coreFactoryFor } from '../host/runtimes/core-factory.js';
import { LoadParam, LoadStat, SbiError } from '../host/numbers.js';
import { formatSummary } from '../host/summary.js';
import { Prng } from '../host/prng.js';
import { readScenario } from '../host/scenario.js';
import { runFerry } from './helpers/ferry-cli.js';
import { readFileSync } from 'node:fs';
import { ROOT } from './helpers/paths.js';

const MS = 1_000_000n;

async function shipped(name: string): Promise<Board> {
  return readBoard(join(ROOT, 'boards', `${name}.json`));
}

function noDeadlineMissed(result: BoardRunResult): void {
  for (const vm of result.vms) expect(vm.stats.deadlineMisses, vm.name).toBe(0n);
}

function noViolations(result: BoardRunResult): void {
  for (const migration of result.migrations) expect(migration.violations).toEqual([]);
  expect(result.load?.violations ?? []).toEqual([]);
}

describe('hotspot relief (boards/hotspot.json)', async () => {
  const board = await shipped('hotspot');
  const result = await runBoard({ board, durationNs: 1500n * MS });
  const load = result.load!;

  it('relieves processor 0 within the sustained window: one move of m0 to processor 1, admitted, downtime within its bound', () => {
    const hot = board.load!.hotspot!;
    expect(load.moves).toHaveLength(1);
    const [move] = load.moves;
    expect(move).toMatchObject({ cause: 'hot-utilisation', vm: 'm0', from: 0, to: 1, outcome: 'completed' });
    // Hot from its first period (0 ms): relieved at the first decision once the sustained time is over.
    expect(move!.atNs).toBeGreaterThanOrEqual(BigInt(hot.sustainedNs));
    expect(move!.atNs).toBeLessThanOrEqual(BigInt(hot.sustainedNs + board.load!.periodNs));
    expect(move!.downtimeNs).toBeDefined();
    expect(move!.downtimeNs!).toBeLessThanOrEqual(move!.boundNs!);
    expect(move!.boundNs!).toBeLessThanOrEqual(BigInt(board.vms.find((vm) => vm.name === 'm0')!.affordableDowntimeNs!));
    expect(result.vms.find((vm) => vm.name === 'm0')).toMatchObject({ processor: 1, state: 'running', migratedFrom: 0 });
    noViolations(result);
  });

  it('leaves every processor below the hot threshold, misses no deadline, and the checkers find their memory whole', () => {
    const threshold = board.load!.hotspot!.utilisationPermille!;
    for (const processor of load.processors) expect(processor.utilisationPermille, `processor ${processor.id}`).toBeLessThan(threshold);
    // Hot from the start until m0 stopped for its blackout (it runs no more here from then on).
    expect(load.processors.find((p) => p.id === 0)!.hotNs).toBeGreaterThanOrEqual(BigInt(board.load!.hotspot!.sustainedNs));
    expect(load.processors.find((p) => p.id === 0)!.hotNs).toBeLessThanOrEqual(load.moves[0]!.atNs + 2n * BigInt(board.load!.periodNs));
    noDeadlineMissed(result);
    for (const vm of result.vms.filter((candidate) => candidate.name.startsWith('c'))) expect(vm.stats.jobsCompleted).toBeGreaterThan(100n);
    for (const vm of result.vms) expect(vm.state, vm.name).toBe('running'); // memcheck stops itself on a byte it did not write
    expect(load.processors.every((p) => p.sleeps === 0)).toBe(true); // no consolidation on this board
  });

  it('says what it did in the summary: the move with its bound and measured downtime', () => {
    const text = formatSummary(result);
    expect(text).toMatch(/^load policies: hotspot relief \(utilisation >= 75 % for 50 ms\); period 10 ms, hold 1 s, fill 70 %, stop-copy$/m);
    expect(text).toMatch(/^ {2}relief at 50\.000 ms: m0 0 -> 1 \(hot-utilisation\): completed, bound [\d.]+ ms, downtime [\d.]+ ms$/m);
  });

  it('is deterministic: the same board gives the same moves, bounds and downtimes, and the same trace', async () => {
    const again = await runBoard({ board, durationNs: 1500n * MS });
    expect(again.load!.moves).toEqual(load.moves);
    expect(again.load!.processors).toEqual(load.processors);
    const traceOf = async (): Promise<string> => {
      const lines: string[] = [];
      await runBoard({ board, durationNs: 200n * MS, onTrace: (records) => { for (const r of records) lines.push(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))); } });
      return lines.join('\n');
    };
    const first = await traceOf();
    expect(first).toContain('"event":"load-move"');
    expect(await traceOf()).toBe(first);
  });
});

describe('hotspot relief on overruns (boards/hotspot.json, its trigger the windows that overran)', async () => {
  const board = await shipped('hotspot');
  board.load = { ...board.load!, hotspot: { overrunPermille: 500, sustainedNs: 50_000_000 } };
  const result = await runBoard({ board, durationNs: 1200n * MS });
  const load = result.load!;

  it('moves m0 for its overruns, and never onto a processor that is hot itself', () => {
    // m0 and m1 overrun every window, c0 none: two thirds of processor 0's windows; m2 all of processor 2's.
    expect(load.moves[0]).toMatchObject({ cause: 'hot-overruns', vm: 'm0', from: 0, to: 1, outcome: 'completed' });
    // Processor 2 (m2 overruns every window) is hot too and asks processor 1 in the same period: one
    // migration arrives at a time, so the destination turns the second down (destination busy).
    expect(load.moves.slice(1)).toEqual([expect.objectContaining({ vm: 'm2', from: 2, to: 1, outcome: 'refused', reason: 'destination-busy' })]);
    // Then processor 1 (m0 and c1) is hot as well: nowhere is left to go; nothing moves again.
    expect(load.moves.filter((move) => move.outcome === 'completed')).toHaveLength(1);
    expect(load.processors.find((p) => p.id === 0)!.hotNs).toBeGreaterThan(1000n * MS);
    noDeadlineMissed(result);
    noViolations(result);
  });
});

describe('a pinned VM stays where it is', () => {
  it('relief moves the next VM instead (m0 and m1 load processor 0 alike; m0, pinned, would have gone first)', async () => {
    const raw = JSON.parse(readFileSync(join(ROOT, 'boards', 'hotspot.json'), 'utf8')) as Record<string, any>;
    raw.vms.find((candidate: { name: string }) => candidate.name === 'm0').pinned = true;
    const board = parseBoard(raw, join(ROOT, 'boards', 'pinned.json'));
    expect(board.vms.find((candidate) => candidate.name === 'm0')!.pinned).toBe(true);
    const result = await runBoard({ board, durationNs: 400n * MS });
    // m1 (4-8 ms) fits processor 1 (c1 at 8-10 ms) and processor 2 (m2 at 0-4 ms): the least loaded, 1.
    expect(result.load!.moves.map((move) => [move.vm, move.from, move.to, move.outcome])).toEqual([['m1', 0, 1, 'completed']]);
    expect(result.vms.find((candidate) => candidate.name === 'm0')).toMatchObject({ processor: 0, state: 'running' });
    noDeadlineMissed(result);
    noViolations(result);
  });
});

describe('a hardware warning comes first', () => {
  it('a relief still before its commit is cancelled, the protected VM moves on the warning (within its affordable downtime), and no relief starts until the processor fails', async () => {
    const raw = JSON.parse(readFileSync(join(ROOT, 'boards', 'hotspot.json'), 'utf8')) as Record<string, any>;
    // m1 is protected: it moves on a warning (to processor 2, free from 4 ms on), never for load.
    raw.vms.find((vm: { name: string }) => vm.name === 'm1').protection = { policies: ['migrate-on-warning'], backup: 2 };
    const board = parseBoard(raw, join(ROOT, 'boards', 'warned.json'));
    // The relief of m0 starts at 50 ms (its stop-copy takes about 70 ms); the warning comes at 55 ms.
    const result = await runBoard({ board, durationNs: 700n * MS, faults: [{ kind: 'warning', atNs: 55n * MS, processor: 0, leadNs: 400n * MS }] });
    const moves = result.load!.moves;
    expect(moves[0]).toMatchObject({ vm: 'm0', from: 0, to: 1, outcome: 'cancelled' });
    expect(moves.filter((move) => move.from === 0 && move.atNs < 455n * MS)).toHaveLength(1);
    expect(result.health!.events.warningMoves).toEqual([expect.objectContaining({ processor: 0 })]);
    expect(result.health!.events.warningMoves[0]!.migration).not.toBe(0);
    expect(result.vms.find((vm) => vm.name === 'm1')).toMatchObject({ processor: 2, state: 'running' });
    expect(result.vms.find((vm) => vm.name === 'm0')).toMatchObject({ processor: 0, state: 'lost' }); // not protected: lost with processor 0
    noDeadlineMissed(result);
    noViolations(result);
  });
});

describe('consolidation (boards/consolidation.json)', async () => {
  const board = await shipped('consolidation');
  // Three hold times: long enough for a loop to show if there were one.
  const result = await runBoard({ board, durationNs: 3000n * MS });
  const load = result.load!;

  it('packs the four checkers onto processor 3 and frees processors 0, 1 and 2', () => {
    expect(load.freed).toEqual([0, 1, 2]);
    expect(load.moves.map((move) => [move.vm, move.from, move.to, move.outcome])).toEqual([
      ['m0', 0, 3, 'completed'], ['m1', 1, 3, 'completed'], ['m2', 2, 3, 'completed'],
    ]);
    for (const vm of result.vms) expect(vm).toMatchObject({ processor: 3, state: 'running' });
    for (const move of load.moves) {
      expect(move.cause).toBe('consolidation');
      expect(move.downtimeNs!).toBeLessThanOrEqual(move.boundNs!);
      // The host watched it as it watches a scenario's migration: never on two processors, the same figures.
      expect(move.report).toMatchObject({ id: move.migration, vm: move.vm, from: move.from, to: move.to, strategy: 'stop-copy', outcome: 'completed', downtimeNs: move.downtimeNs, violations: [] });
      expect(move.report!.timeline.map((entry) => entry.state)).toEqual(['preparing', 'blackout', 'done']);
    }
    expect(result.migrations).toEqual([]); // those are the scenario's, one per migrate event
    noViolations(result);
  });

  it('never oscillates: every VM moves once, a freed processor never wakes, nothing moves after the packing', () => {
    const moved = load.moves.map((move) => move.vm);
    expect(new Set(moved).size).toBe(moved.length);
    for (const id of load.freed) expect(load.processors.find((p) => p.id === id)!.transitions.map((t) => t.asleep)).toEqual([true]);
    const lastMove = load.moves.at(-1)!.atNs;
    expect(lastMove).toBeLessThan(1000n * MS); // and then 2 s of quiet
    expect(load.processors.find((p) => p.id === 3)).toMatchObject({ asleep: false, sleeps: 0 });
    noViolations(result);
  });

  it('does the same under the component runtime', async () => {
    const component = await runBoard({ board, durationNs: 600n * MS, core: coreFactoryFor('component') });
    const module = await runBoard({ board, durationNs: 600n * MS });
    expect(component.load!.moves).toEqual(module.load!.moves);
    expect(component.load!.processors).toEqual(module.load!.processors);
    expect(module.load!.moves).toEqual(load.moves);
  });

  it('traces each move and each processor going to sleep', async () => {
    const records: { event: string; [key: string]: unknown }[] = [];
    await runBoard({ board, durationNs: 600n * MS, onTrace: (batch) => records.push(...(batch as typeof records)) });
    expect(records.filter((r) => r.event === 'load-move').map((r) => [r['vm'], r['from'], r['to'], r['cause']])).toEqual([
      ['m0', 0, 3, 'consolidation'], ['m1', 1, 3, 'consolidation'], ['m2', 2, 3, 'consolidation'],
    ]);
    expect(records.filter((r) => r.event === 'processor-asleep').map((r) => r['cpu'])).toEqual([0, 1, 2]);
  });

  it('the processor with the most VMs is the one the others pack onto; its control loop stays and misses nothing', async () => {
    const raw = JSON.parse(readFileSync(join(ROOT, 'boards', 'consolidation.json'), 'utf8')) as Record<string, any>;
    raw.vms.push({ name: 'c1', image: '../guests/build/control.elf', kind: 'paravirtual', memoryBytes: 1048576, processor: 1, windows: [{ offsetNs: 8_000_000, durationNs: 1_000_000 }] });
    const mixed = await runBoard({ board: parseBoard(raw, join(ROOT, 'boards', 'mixed.json')), durationNs: 1500n * MS });
    expect(mixed.load!.freed).toEqual([0, 2, 3]);
    expect(mixed.load!.moves.map((move) => [move.vm, move.from, move.to, move.outcome])).toEqual([
      ['m0', 0, 1, 'completed'], ['m2', 2, 1, 'completed'], ['m3', 3, 1, 'completed'],
    ]);
    expect(mixed.vms.find((vm) => vm.name === 'c1')).toMatchObject({ processor: 1, state: 'running' });
    noDeadlineMissed(mixed);
    noViolations(mixed);
  });

  it('a processor whose VMs have all stopped sleeps without moving anything', async () => {
    const small = await shipped('consolidation');
    small.vms[0]!.image = 'hello.elf';
    small.vms[0]!.imagePath = join(ROOT, 'guests', 'build', 'hello.elf');
    const result = await runBoard({ board: small, durationNs: 100n * MS });
    expect(result.vms.find((vm) => vm.name === 'm0')).toMatchObject({ processor: 0, state: 'stopped' });
    expect(result.load!.moves).toEqual([]); // the others' 200 ms below the threshold are not over yet
    expect(result.load!.processors.find((p) => p.id === 0)).toMatchObject({ asleep: true, sleeps: 1 });
    expect(result.load!.processors.find((p) => p.id === 0)!.awakeNs).toBeLessThan(20n * MS);
  });

  it('reports the energy proxy against the static placement', () => {
    expect(load.staticAwakeNs).toBe(4n * result.endNs);
    const awake = load.processors.reduce((sum, p) => sum + p.awakeNs, 0n);
    expect(load.awakeNs).toBe(awake);
    expect(load.processors.find((p) => p.id === 3)!.awakeNs).toBe(result.endNs);
    // Each freed processor was awake until its checker left (the sustained 200 ms, then one move at a time).
    for (const id of load.freed) expect(load.processors.find((p) => p.id === id)!.awakeNs).toBeLessThan(600n * MS);
    expect(Number(load.awakeNs) / Number(load.staticAwakeNs)).toBeLessThan(0.4);
    expect(formatSummary(result)).toMatch(/^ {2}processors freed: 0, 1, 2; processor-seconds awake [\d.]+ against 12\.000 for the static placement \(-\d+\.\d %\)$/m);
  });
});

describe('a scenario sets the load policies for its run (scenarios/consolidation-pairs.json)', async () => {
  const scenario = await readScenario(join(ROOT, 'scenarios', 'consolidation-pairs.json'));
  const result = await runBoard({ board: scenario.board, durationNs: scenario.durationNs! });
  const load = result.load!;

  it('replaces the board\'s section: fill 25 %, so no processor takes more than one more checker', () => {
    expect(scenario.board.load!.fillPermille).toBe(250);
    expect(load.freed).toEqual([0, 1]);
    expect(load.moves.map((move) => [move.vm, move.from, move.to, move.outcome])).toEqual([['m0', 0, 3, 'completed'], ['m1', 1, 2, 'completed']]);
    // A processor that has just taken a VM counts it at its windows' share until it is measured: nobody overfills it.
    for (const processor of load.processors) expect(processor.peakUtilisationPermille, `processor ${processor.id}`).toBeLessThanOrEqual(250);
    noViolations(result);
  });

  it('is checked like the board\'s: a bad section is refused at its pointer in the scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-load-'));
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ board: join(ROOT, 'boards', 'consolidation.json'), load: { consolidation: { below: 0.3, sustained: '1ms' }, period: '10ms' } }));
    await expect(readScenario(path)).rejects.toThrow(/\/load\/consolidation\/sustained: must be at least the period \(10 ms\)/);
    writeFileSync(path, JSON.stringify({ board: join(ROOT, 'boards', 'consolidation.json'), load: { hotspot: { utilisation: 7 } } }));
    await expect(readScenario(path)).rejects.toThrow(/\/load\/hotspot\/utilisation: must be at most 1, not 7/);
  });

  it('has the board schema\'s load section, word for word', () => {
    const boardSchema = JSON.parse(readFileSync(join(ROOT, 'boards', 'schema.json'), 'utf8'));
    const scenarioSchema = JSON.parse(readFileSync(join(ROOT, 'scenarios', 'schema.json'), 'utf8'));
    const renamed = JSON.stringify(boardSchema.$defs.load).replaceAll('#/$defs/fraction', '#/$defs/loadFraction').replaceAll('#/$defs/duration', '#/$defs/loadDuration');
    expect(JSON.stringify(scenarioSchema.$defs.load)).toBe(renamed);
    expect(scenarioSchema.$defs.loadFraction).toEqual(boardSchema.$defs.fraction);
    expect(scenarioSchema.$defs.loadDuration).toEqual(boardSchema.$defs.duration);
  });
});

describe('moves the migration manager does not admit', () => {
  it('a VM with no affordable downtime is never moved, and is not asked again within the hold time', async () => {
    const board = await shipped('consolidation');
    for (const vm of board.vms) delete vm.affordableDowntimeNs; // memcheck reports no task set: nothing to admit against
    const result = await runBoard({ board, durationNs: 2500n * MS });
    const load = result.load!;
    expect(load.freed).toEqual([]);
    expect(load.moves.length).toBeGreaterThan(0);
    for (const move of load.moves) expect(move).toMatchObject({ outcome: 'refused', reason: 'no-affordable-downtime' });
    for (const vm of result.vms) expect(vm.migratedFrom).toBeUndefined();
    // Each VM is asked at most once per hold time (1 s) over 2.5 s.
    for (const name of ['m0', 'm1', 'm2']) expect(load.moves.filter((move) => move.vm === name).length).toBeLessThanOrEqual(3);
    expect(load.processors.reduce((sum, p) => sum + p.refusedMoves, 0)).toBe(load.moves.length);
  });

  it('a bound too long over one link: that peer is passed over for the hold time, and the VM goes to the next best at once', async () => {
    // hotspot.json's processor 0 with two idle peers; the link to processor 1 is ten times slower.
    const raw = JSON.parse(readFileSync(join(ROOT, 'boards', 'hotspot.json'), 'utf8')) as Record<string, any>;
    raw.vms = raw.vms.filter((vm: { name: string }) => vm.name !== 'm2');
    raw.vms.push({ ...raw.vms.find((vm: { name: string }) => vm.name === 'c1'), name: 'c2', processor: 2 });
    raw.links.find((link: { from: number; to: number }) => link.from === 0 && link.to === 1).bandwidthBytesPerS = 1_250_000;
    const board = parseBoard(raw, join(ROOT, 'boards', 'slow-link.json'));
    const result = await runBoard({ board, durationNs: 600n * MS });
    const moves = result.load!.moves;
    expect(moves[0]).toMatchObject({ vm: 'm0', to: 1, outcome: 'refused', reason: 'bound-exceeds-affordable' });
    const completed = moves.filter((move) => move.outcome === 'completed');
    expect(completed).toEqual([expect.objectContaining({ vm: 'm0', from: 0, to: 2 })]);
    expect(completed[0]!.atNs).toBe(moves[0]!.atNs); // the next best peer, in the same decision
    expect(moves.filter((move) => move.to === 1).every((move) => move.outcome === 'refused')).toBe(true);
    noDeadlineMissed(result);
  });

  it('a bound that exceeds the affordable downtime is refused (bound-exceeds-affordable): the VM stays', async () => {
    const board = await shipped('hotspot');
    for (const vm of board.vms) if (vm.affordableDowntimeNs !== undefined) vm.affordableDowntimeNs = 5_000_000;
    const result = await runBoard({ board, durationNs: 400n * MS });
    expect(result.load!.moves.length).toBeGreaterThan(0);
    for (const move of result.load!.moves) expect(move).toMatchObject({ outcome: 'refused', reason: 'bound-exceeds-affordable' });
    expect(result.vms.every((vm) => vm.migratedFrom === undefined)).toBe(true);
    noDeadlineMissed(result);
  });

  it('trace-replay moves go through its admission: a checker that never idles cannot be replayed on a peer of the same clock (replay-slower-than-vm)', async () => {
    const board = await shipped('hotspot');
    board.load!.strategy = 'trace-replay';
    const result = await runBoard({ board, durationNs: 120n * MS });
    const moves = result.load!.moves;
    expect(moves[0]).toMatchObject({ vm: 'm0', from: 0, to: 1, outcome: 'refused', reason: 'replay-slower-than-vm' });
    expect(result.vms.every((vm) => vm.migratedFrom === undefined)).toBe(true);
    noViolations(result);
  });
});

describe('a load section the board file gets wrong is refused at its JSON pointer', () => {
  function base(): Record<string, any> {
    return {
      processors: [0, 1].map((id) => ({ id, clockHz: 100_000_000, ramBytes: 16 * 1024 * 1024, majorFrameNs: 10_000_000 })),
      links: [{ from: 0, to: 1, bandwidthBytesPerS: 12_500_000, latencyNs: 10_000, mtuBytes: 1024 }],
      vms: [{ name: 'a', image: 'a.elf', memoryBytes: 1024 * 1024, processor: 0, windows: [{ offsetNs: 0, durationNs: 1_000_000 }], affordableDowntime: '100ms' }],
      load: { hotspot: { utilisation: 0.9 }, consolidation: { below: 0.2 } },
    };
  }

  function problems(change: (board: Record<string, any>) => void): string[] {
    const board = base();
    change(board);
    try {
      parseBoard(board, 'boards/x.json');
    } catch (error) {
      if (error instanceof BoardFileError) return error.problems.map((p) => `${p.pointer}: ${p.message}`);
      throw error;
    }
    return [];
  }

  it('accepts the base board', () => {
    expect(problems(() => {})).toEqual([]);
    const board = parseBoard(base(), 'boards/x.json');
    expect(board.load).toMatchObject({ periodNs: 10_000_000, holdNs: 1_000_000_000, strategy: 'stop-copy', fillPermille: 700, hotspot: { utilisationPermille: 900, sustainedNs: 50_000_000 }, consolidation: { belowPermille: 200, sustainedNs: 200_000_000, sleep: true } });
    expect(board.vms[0]!.affordableDowntimeNs).toBe(100_000_000);
  });

  it.each([
    ['a threshold above 1', (b: any) => { b.load.hotspot.utilisation = 1.5; }, '/load/hotspot/utilisation: must be at most 1, not 1.5'],
    ['a threshold of 0', (b: any) => { b.load.consolidation.below = 0; }, '/load/consolidation/below: must be at least 0.001, not 0'],
    ['a period without a unit', (b: any) => { b.load.period = '10'; }, '/load/period: must be a duration such as 10h, 30min or 20ms, not "10"'],
    ['an unknown strategy', (b: any) => { b.load.strategy = 'teleport'; }, '/load/strategy: must be one of "stop-copy", "pre-copy", "throttled", "post-copy", "cold", "warm", "trace-replay", not "teleport"'],
    ['an unknown property', (b: any) => { b.load.hotspot.cpu = 0.5; }, '/load/hotspot/cpu: unknown property (expected one of utilisation, overruns, deadlineMisses, sustained)'],
    ['consolidation without its threshold', (b: any) => { delete b.load.consolidation.below; }, '/load/consolidation/below: is required'],
    ['deadline misses of 0', (b: any) => { b.load.hotspot.deadlineMisses = 0; }, '/load/hotspot/deadlineMisses: must be at least 1, not 0'],
    ['a hotspot policy without a trigger', (b: any) => { b.load.hotspot = { sustained: '50ms' }; }, '/load/hotspot: needs a trigger: one or more of utilisation, overruns, deadlineMisses'],
    ['no policy at all', (b: any) => { b.load = { period: '10ms' }; }, '/load: needs a policy: hotspot, consolidation or both'],
    ['consolidation at or above the hot threshold', (b: any) => { b.load.consolidation.below = 0.9; }, '/load/consolidation/below: must be below /load/hotspot/utilisation (0.9): the two policies would undo each other'],
    ['a fill at or above the hot threshold', (b: any) => { b.load.fill = 0.95; }, '/load/fill: must be below /load/hotspot/utilisation (0.9): a processor filled to it would be hot at once'],
    ['a hold shorter than a sustained time', (b: any) => { b.load.hold = '100ms'; }, '/load/hold: must be at least the longest sustained time (200 ms): a VM is not moved again before a policy has measured its move'],
    ['a sustained time shorter than the period', (b: any) => { b.load.period = '100ms'; b.load.hotspot.sustained = '50ms'; }, '/load/hotspot/sustained: must be at least the period (100 ms)'],
    ['a board without links', (b: any) => { b.links = []; }, '/load: the load policies move VMs between processors: the board needs links'],
    ['a period whose reports would crowd the slowest link', (b: any) => { b.load.period = '100us'; b.load.hotspot.sustained = '1ms'; b.load.consolidation.sustained = '1ms'; b.load.hold = '1ms'; }, '/load/period: must be at least 512 us: a load report (64 bytes) each period takes at most 1 % of the slowest link (12500000 bytes/s)'],
    ['cold moves', (b: any) => { b.load.strategy = 'cold'; }, "/load/strategy: a cold move restarts the VM from its image: a load policy does not throw a VM's state away"],
    ['an affordable downtime without a unit', (b: any) => { b.vms[0].affordableDowntime = 100; }, '/vms/0/affordableDowntime: must be a string, not 100'],
    ['an affordable downtime below 1 us', (b: any) => { b.vms[0].affordableDowntime = '10ns'; }, '/vms/0/affordableDowntime: must be at least 1 us and at most 2147.483647 s'],
    ['an affordable downtime a migration cannot carry', (b: any) => { b.vms[0].affordableDowntime = '2148s'; }, '/vms/0/affordableDowntime: must be at least 1 us and at most 2147.483647 s'],
    ['pinned not a boolean', (b: any) => { b.vms[0].pinned = 'yes'; }, '/vms/0/pinned: must be a boolean, not "yes"'],
  ])('%s', (_what, change, expected) => {
    expect(problems(change)).toContain(expected);
  });

  it('ferry run says so on one line, exit status 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-load-'));
    const board = base();
    board.load.hotspot.utilisation = 2;
    board.vms[0].image = join(ROOT, 'guests', 'build', 'hello.elf');
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(board, null, 2));
    const run = runFerry(['run', '--board', path, '--duration', '10ms']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^ferry: error: board .*bad\.json: \/load\/hotspot\/utilisation: must be at most 1, not 2 \(line \d+\)\n$/);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('random load sections: refused at a pointer, or run; never a crash or a trap', () => {
  const VALUES: unknown[] = [0, 0.0005, 0.001, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, -1, 2, 7, 2 ** 40, '10ms', '20ms', '300ms', '2s', '0ms', '1ns', '10', 'fast', 'pre-copy', true, null, [], {}];
  const KEYS: [string[], string][] = [
    [[], 'period'], [[], 'hold'], [[], 'strategy'], [[], 'fill'], [[], 'extra'],
    [['hotspot'], 'utilisation'], [['hotspot'], 'overruns'], [['hotspot'], 'deadlineMisses'], [['hotspot'], 'sustained'],
    [['consolidation'], 'below'], [['consolidation'], 'sustained'], [['consolidation'], 'sleep'],
  ];

  it('300 mutated sections, and the first accepted ones run 40 ms on the consolidation board', async () => {
    const prng = new Prng(15, 3);
    const pick = <T>(items: readonly T[]): T => items[prng.nextBelow(items.length)]!;
    const text = readFileSync(join(ROOT, 'boards', 'consolidation.json'), 'utf8');
    let accepted = 0, refused = 0;
    for (let i = 0; i < 300; i++) {
      const raw = JSON.parse(text) as Record<string, any>;
      raw.load = { hotspot: { utilisation: 0.9 }, consolidation: { below: 0.3 } };
      for (let n = 1 + prng.nextBelow(3); n > 0; n--) {
        const [path, key] = pick(KEYS);
        let at = raw.load;
        for (const part of path) at = at[part] ??= {};
        at[key] = pick(VALUES);
      }
      if (prng.nextBelow(4) === 0) raw.vms[0].affordableDowntime = pick(VALUES);
      let board: Board;
      try {
        board = parseBoard(raw, join(ROOT, 'boards', 'fuzz.json'));
      } catch (error) {
        expect(error, `case ${i}: ${JSON.stringify(raw.load)}`).toBeInstanceOf(BoardFileError);
        for (const problem of (error as BoardFileError).problems) expect(problem.pointer).toMatch(/^\/(load|vms\/0\/affordableDowntime)/);
        refused++;
        continue;
      }
      accepted++;
      if (accepted > 12) continue; // a few runs are enough to show the cores take what the host accepts
      const result = await runBoard({ board, durationNs: 40n * MS });
      expect(result.load, `case ${i}`).toBeDefined();
    }
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(5);
  }, 60_000);
});

describe('the host holds the cores to the policies\' promises', () => {
  it('a VM moved again within the hold of its arrival, and a downtime over its bound, are violations', async () => {
    const { LoadLog } = await import('../host/load-policies.js');
    const { CoreEvent } = await import('../host/numbers.js');
    const policies = parseBoard({
      processors: [0, 1].map((id) => ({ id, clockHz: 100_000_000, ramBytes: 16 * 1024 * 1024 })),
      links: [{ from: 0, to: 1, bandwidthBytesPerS: 12_500_000, latencyNs: 10_000, mtuBytes: 1024 }],
      load: { hold: '1s', consolidation: { below: 0.2 } },
    }, 'boards/x.json').load!;
    const log = new LoadLog(policies);
    const move = (processor: number, id: number, atNs: bigint, to: number, firstRunNs: bigint, downtimeNs: bigint, boundNs: bigint): void => {
      log.onEvent(processor, CoreEvent.loadMove, id, 'v', atNs, 4n, BigInt(to));
      log.onEvent(processor, CoreEvent.migrationBlackout, id, '', atNs + MS, 0n, boundNs);
      log.onEvent(processor, CoreEvent.migrationCommitted, id, '', firstRunNs, BigInt(to), 0n);
      log.onEvent(to, CoreEvent.migrationFirstRun, id, '', firstRunNs, downtimeNs, atNs + MS);
    };
    move(0, 1, 100n * MS, 1, 190n * MS, 80n * MS, 100n * MS);
    move(1, 2, 900n * MS, 0, 990n * MS, 120n * MS, 100n * MS);
    const core = { loadStat: () => 0n } as unknown as Parameters<typeof log.result>[0][number]['core'];
    const result = log.result([{ id: 0, core, placedVms: true }, { id: 1, core, placedVms: false }], 2000n * MS);
    expect(result.violations).toEqual([
      'v was moved again at 900.000 ms, 710.000 ms after it arrived: within the hold time (1 s)',
      "v's move at 900.000 ms: the measured downtime 120.000 ms exceeds the bound 100.000 ms",
    ]);
    expect(result.moves.map((m) => m.outcome)).toEqual(['completed', 'completed']);
  });
});

describe('the core refuses a load parameter it cannot take', () => {
  it('an unknown key, a period of 0, a threshold above 1000 per mille, a strategy beyond the last', async () => {
    const core = await moduleCoreFactory()(() => {});
    expect(core.loadSetParam(999, 1n)).toBe(SbiError.invalidParam);
    expect(core.loadSetParam(LoadParam.periodNs, 0n)).toBe(SbiError.invalidParam);
    expect(core.loadSetParam(LoadParam.hotUtilisationPermille, 1001n)).toBe(SbiError.invalidParam);
    expect(core.loadSetParam(LoadParam.strategy, 99n)).toBe(SbiError.invalidParam);
    expect(core.loadSetParam(LoadParam.hotUtilisationPermille, 800n)).toBe(0);
    expect(core.vmSetAffordable(5, 1n)).toBe(SbiError.invalidParam); // no such VM
    expect(core.loadStat(LoadStat.periods)).toBe(0n);
    expect(core.loadStat(999)).toBe(0n);
  });
});
