/**
 * Scenario files (host/scenario.ts, scenarios/schema.json): virtual times with
 * units, events as the board runner takes them, and problems named by JSON
 * pointer. No core needed.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBoard } from '../host/board.js';
import { ScenarioError, parseScenario, parseVirtualTime, readScenario } from '../host/scenario.js';
import { ROOT } from './helpers/paths.js';

const board = await readBoard(join(ROOT, 'boards', 'quad.json'));

function problems(json: unknown): string {
  try {
    parseScenario(json, 'x.json', board);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as Error).message;
  }
  throw new Error('the scenario was accepted');
}

describe('virtual times', () => {
  it('takes ns, us, ms and s, with decimals down to the nanosecond', () => {
    expect(parseVirtualTime('250ns')).toBe(250n);
    expect(parseVirtualTime('20us')).toBe(20_000n);
    expect(parseVirtualTime('1.5ms')).toBe(1_500_000n);
    expect(parseVirtualTime('2s')).toBe(2_000_000_000n);
    expect(parseVirtualTime('0.000000001s')).toBe(1n);
    expect(parseVirtualTime('1_000ms')).toBe(1_000_000_000n);
  });

  it('refuses anything else', () => {
    for (const text of ['20', 'ms', '1.5', '1e3ms', '-1ms', '1.5ns', '2 h', '']) expect(parseVirtualTime(text), text).toBeUndefined();
  });
});

describe('scenario files', () => {
  it('the shipped scenario: its board, duration and one migration with defaults for what it leaves out', async () => {
    const scenario = await readScenario(join(ROOT, 'scenarios', 'quad-migrate.json'));
    expect(scenario).toMatchObject({ name: 'quad-migrate', durationNs: 5_000_000_000n });
    expect(scenario.board.name).toBe('quad');
    expect(scenario.events).toEqual([
      { kind: 'migrate', atNs: 2_000_000_000n, vm: 'ctl0', to: 3, strategy: 'pre-copy', params: { thresholdBytes: 16384 } },
    ]);
  });

  it('events with every parameter, and cancels by time, by state, or both', () => {
    const scenario = parseScenario({
      board: 'quad.json',
      seed: 3,
      linkFaults: { drop: 0.01, reorder: 0.001 },
      events: [
        {
          at: '20ms',
          migrate: {
            vm: 'ctl0', to: 3, strategy: 'throttled', maxRounds: 5, thresholdBytes: 8192, throttleTarget: 0.6, throttleFloor: 0.1,
            affordableNs: 5_000_000, retransmissions: 3, prepageNs: 1_000_000,
          },
        },
        { at: '21ms', cancel: { vm: 'ctl0' } },
        { cancel: { vm: 'ctl0', inState: 'blackout' } },
        { at: '1s', cancel: { vm: 'ctl0', inState: 'transfer' } },
      ],
    }, 'x.json', board);
    expect(scenario).toMatchObject({ name: 'x', seed: 3, linkFaults: { drop: 0.01, reorder: 0.001 } });
    expect(scenario.durationNs).toBeUndefined();
    expect(scenario.events).toEqual([
      {
        kind: 'migrate', atNs: 20_000_000n, vm: 'ctl0', to: 3, strategy: 'throttled',
        params: { maxRounds: 5, thresholdBytes: 8192, throttleTarget: 0.6, throttleFloor: 0.1, affordableNs: 5_000_000n, retransmissions: 3, prepageNs: 1_000_000n },
      },
      { kind: 'cancel', vm: 'ctl0', atNs: 21_000_000n },
      { kind: 'cancel', vm: 'ctl0', inState: 'blackout' },
      { kind: 'cancel', vm: 'ctl0', atNs: 1_000_000_000n, inState: 'transfer' },
    ]);
  });

  it('cold and warm moves as events; a strategy it does not know refused at its JSON pointer', () => {
    const scenario = parseScenario({
      board: 'quad.json',
      events: [{ at: '20ms', migrate: { vm: 'ctl0', to: 3, strategy: 'cold' } }, { at: '1s', migrate: { vm: 'ctl0', to: 2, strategy: 'warm', affordableNs: 9_000_000 } }],
    }, 'x.json', board);
    expect(scenario.events).toEqual([
      { kind: 'migrate', atNs: 20_000_000n, vm: 'ctl0', to: 3, strategy: 'cold', params: {} },
      { kind: 'migrate', atNs: 1_000_000_000n, vm: 'ctl0', to: 2, strategy: 'warm', params: { affordableNs: 9_000_000n } },
    ]);
    expect(() => parseScenario({ board: 'quad.json', events: [{ at: '1s', migrate: { vm: 'ctl0', to: 3, strategy: 'lukewarm' } }] }, 'x.json', board))
      .toThrow(/\/events\/0\/migrate\/strategy: must be one of .*"cold", "warm", "trace-replay", not "lukewarm"/);
  });

  it('compress on a migration; on a cold move refused at its JSON pointer', () => {
    const scenario = parseScenario({ board: 'quad.json', events: [{ at: '20ms', migrate: { vm: 'ctl0', to: 3, strategy: 'warm', compress: true } }] }, 'x.json', board);
    expect(scenario.events).toEqual([{ kind: 'migrate', atNs: 20_000_000n, vm: 'ctl0', to: 3, strategy: 'warm', params: { compress: true } }]);
    expect(() => parseScenario({ board: 'quad.json', events: [{ at: '1s', migrate: { vm: 'ctl0', to: 3, strategy: 'cold', compress: true } }] }, 'x.json', board))
      .toThrow(/\/events\/0\/migrate\/compress: does not apply to cold: compress with stop-copy, pre-copy, throttled, warm/);
    expect(() => parseScenario({ board: 'quad.json', events: [{ at: '1s', migrate: { vm: 'ctl0', to: 3, strategy: 'warm', workingSet: true } }] }, 'x.json', board))
      .toThrow(/\/events\/0\/migrate\/workingSet: does not apply to warm: it has no rounds/);
  });

  it('names each problem by its JSON pointer', () => {
    expect(problems({ events: [] })).toBe('scenario x.json: /board: is required');
    expect(problems({ board: 'b', extra: 1 })).toMatch(/\/extra: unknown property \(expected one of \$schema, name, description, board, duration, seed, linkFaults, load, events, campaign\)/);
    expect(problems({ board: 'b', duration: '5' })).toMatch(/\/duration: must be a virtual time with a unit such as 100ms, 2s/);
    expect(problems({ board: 'b', linkFaults: { drop: 2 } })).toMatch(/\/linkFaults\/drop: must be at most 1, not 2/);
    expect(problems({ board: 'b', events: [{ migrate: { vm: 'ctl0', to: 3 } }] })).toMatch(/\/events\/0: an event has "at" and one of migrate, fail, repair, hang, warning, partition, slow, flip; or "cancel"/);
    expect(problems({ board: 'b', events: [{ at: '1s', migrate: { vm: 'ctl0', to: 3, throttleTarget: 0 } }] })).toMatch(/\/events\/0\/migrate\/throttleTarget: /);
    expect(problems({ board: 'b', events: [{ at: '1s', migrate: { vm: 'ctl0' } }] })).toMatch(/\/events\/0\/migrate\/to: is required/);
    expect(problems({ board: 'b', events: [{ at: '1s', cancel: { vm: 'ctl0', inState: 'done' } }] })).toMatch(/\/events\/0\/cancel\/inState: must be one of "preparing", "transfer", "blackout", "committing", "post-copy"/);
  });

  it('checks the events against the board', () => {
    expect(problems({ board: 'b', events: [{ at: '1s', migrate: { vm: 'nobody', to: 3 } }] }))
      .toMatch(/\/events\/0\/migrate\/vm: names no VM of board quad \(tx0, ctl0, rx1, tx1, rx1b, tx2, cpu2, rx3\)/);
    expect(problems({ board: 'b', events: [{ at: '1s', migrate: { vm: 'ctl0', to: 4 } }] })).toMatch(/\/events\/0\/migrate\/to: is no processor of board quad/);
    expect(problems({ board: 'b', events: [{ cancel: { vm: 'ctl0' } }] })).toMatch(/\/events\/0: a cancel needs "at", "inState" or both/);
    expect(problems({ board: 'b', events: [{ at: '1.0000000001s', cancel: { vm: 'ctl0' } }] })).toMatch(/\/events\/0\/at: is finer than a nanosecond/);
  });

  it('faults: every kind, as the board runner takes them', () => {
    const scenario = parseScenario({
      board: 'quad.json',
      events: [
        { at: '1s', fail: { processor: 2 } },
        { at: '1s', hang: { processor: 1, for: '50ms' } },
        { at: '2s', warning: { processor: 0, lead: '100ms' } },
        { at: '3s', partition: { groups: [[0, 1], [2, 3]], for: '200ms' } },
        { at: '3s', slow: { between: [0, 1], by: 10, for: '1s' } },
        { at: '4s', flip: { vm: 'ctl0', address: '0x80001000', bit: 3 } },
        { at: '4s', flip: { vm: 'ctl0', register: 10, bit: 31 } },
        { at: '4s', flip: { between: [1, 3], bit: 200 } },
        { at: '4s', migrate: { vm: 'ctl0', to: 3 } },
      ],
    }, 'x.json', board);
    expect(scenario.events).toHaveLength(1);
    expect(scenario.faults).toEqual([
      { kind: 'fail', atNs: 1_000_000_000n, processor: 2 },
      { kind: 'hang', atNs: 1_000_000_000n, processor: 1, forNs: 50_000_000n },
      { kind: 'warning', atNs: 2_000_000_000n, processor: 0, leadNs: 100_000_000n },
      { kind: 'partition', atNs: 3_000_000_000n, groups: [[0, 1], [2, 3]], forNs: 200_000_000n },
      { kind: 'slow', atNs: 3_000_000_000n, between: [0, 1], by: 10, forNs: 1_000_000_000n },
      { kind: 'flip-ram', atNs: 4_000_000_000n, vm: 'ctl0', address: 0x80001000, bit: 3 },
      { kind: 'flip-register', atNs: 4_000_000_000n, vm: 'ctl0', register: 10, bit: 31 },
      { kind: 'flip-frame', atNs: 4_000_000_000n, between: [1, 3], bit: 200 },
    ]);
  });

  it('a hostile fault is refused with its JSON pointer', () => {
    expect(problems({ board: 'b', events: [{ at: '1s', fail: { processor: 9 } }] })).toMatch(/\/events\/0\/fail\/processor: is no processor of board quad/);
    expect(problems({ board: 'b', events: [{ fail: { processor: 0 } }] })).toMatch(/\/events\/0: an event has "at" and one of migrate, fail/);
    expect(problems({ board: 'b', events: [{ at: '1s', fail: { processor: 0 }, hang: { processor: 1 } }] })).toMatch(/\/events\/0: an event has/);
    expect(problems({ board: 'b', events: [{ at: '1s', repair: { processor: 7 } }] })).toMatch(/\/events\/0\/repair\/processor: is no processor of board quad/);
    expect(problems({ board: 'b', events: [{ at: '1s', repair: { processor: 0, after: '5ms' } }] })).toMatch(/\/events\/0\/repair\/after: unknown property/);
    expect(problems({ board: 'b', events: [{ at: '1s', warning: { processor: 0, lead: '0ms' } }] })).toMatch(/\/events\/0\/warning\/lead: must be longer than 0/);
    expect(problems({ board: 'b', events: [{ at: '1s', partition: { groups: [[0, 1], [1, 2]], for: '1s' } }] })).toMatch(/\/events\/0\/partition\/groups\/1\/0: processor 1 is in group 0 already/);
    expect(problems({ board: 'b', events: [{ at: '1s', flip: { vm: 'ctl0', bit: 1 } }] })).toMatch(/\/events\/0\/flip: a flip names a VM and an address/);
    expect(problems({ board: 'b', events: [{ at: '1s', flip: { vm: 'ctl0', address: '0x80000000', bit: 9 } }] })).toMatch(/\/events\/0\/flip\/bit: a byte of RAM has bits 0-7/);
    expect(problems({ board: 'b', events: [{ at: '1s', flip: { vm: 'nobody', register: 3, bit: 1 } }] })).toMatch(/\/events\/0\/flip\/vm: names no VM/);
    expect(problems({ board: 'b', duration: '1s', events: [{ at: '2s', fail: { processor: 0 } }] })).toMatch(/\/events\/0\/at: comes after the run's end/);
  });

  it('a missing file and a file that is not JSON', async () => {
    await expect(readScenario(join(ROOT, 'scenarios', 'none.json'))).rejects.toThrow(/scenario .*none\.json: cannot read it \(no such file\)/);
    await expect(readScenario(join(ROOT, 'package.json'))).rejects.toThrow(/\/board: is required/);
  });
});
