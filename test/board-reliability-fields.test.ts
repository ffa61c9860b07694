/**
 * The board file's reliability fields (docs/boards.md, "Reliability"):
 * processors' failureRate and repairTime, VMs' protection. Parsed into typed
 * fields; bad values refused with the JSON pointer and what was expected.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoardFileError, parseBoard } from '../host/board.js';
import { DURATION_PATTERN, RATE_PATTERN } from '../host/reliability/units.js';
import { ROOT } from './helpers/paths.js';

const MIB = 1 << 20;

function board(overrides: { processors?: object[]; vm?: object } = {}): Record<string, unknown> {
  return {
    name: 'trio',
    processors: overrides.processors ?? [
      { id: 0, clockHz: 100_000_000, ramBytes: 16 * MIB, failureRate: '2e-5/h', repairTime: '10h' },
      { id: 1, clockHz: 100_000_000, ramBytes: 16 * MIB, failureRate: '0.05/s' },
      { id: 2, clockHz: 100_000_000, ramBytes: 16 * MIB },
    ],
    vms: [{ name: 'ctl', image: 'x.elf', memoryBytes: MIB, processor: 0, ...overrides.vm }],
  };
}

function problems(value: unknown): string[] {
  try {
    parseBoard(value, 'boards/x.json');
    return [];
  } catch (error) {
    if (error instanceof BoardFileError) return error.problems.map((p) => `${p.pointer}: ${p.message}`);
    throw error;
  }
}

describe('board reliability fields', () => {
  it('parses failureRate into failures per second, repairTime into seconds and protection into typed fields', () => {
    const parsed = parseBoard(board({ vm: { protection: { policies: ['migrate-on-warning', 'checkpoint'], backup: 2, spares: [1], checkpointInterval: '20ms' } } }), 'x.json');
    expect(parsed.processors[0]!.failureRatePerS).toBeCloseTo(2e-5 / 3600, 20);
    expect(parsed.processors[0]!.repairTimeS).toBe(36_000);
    expect(parsed.processors[1]!.failureRatePerS).toBe(0.05);
    expect(parsed.processors[1]!.repairTimeS).toBeUndefined();
    expect(parsed.processors[2]).toEqual({ id: 2, clockHz: 100_000_000, ramBytes: 16 * MIB });
    expect(parsed.vms[0]!.protection).toEqual({ policies: ['migrate-on-warning', 'checkpoint'], backup: 2, spares: [1], checkpointIntervalNs: 20_000_000 });
    expect(parseBoard(board(), 'x.json').vms[0]!.protection).toBeUndefined();
  });

  it('refuses a rate or duration without a unit, naming the place', () => {
    const bad = board({ processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 16 * MIB, failureRate: 'fast', repairTime: '10' }, { id: 1, clockHz: 100_000_000, ramBytes: 16 * MIB, failureRate: '2e-5' }] });
    expect(problems(bad)).toEqual([
      '/processors/0/failureRate: must be a rate such as 2e-5/h or 0.05/s, not "fast"',
      '/processors/0/repairTime: must be a duration such as 10h, 30min or 20ms, not "10"',
      '/processors/1/failureRate: must be a rate such as 2e-5/h or 0.05/s, not "2e-5"',
    ]);
  });

  it('refuses protection that names unknown or own processors, mixes "none", repeats the backup, or an unknown policy', () => {
    expect(problems(board({ vm: { protection: { policies: ['none', 'restart'], backup: 0, spares: [7, 2, 2] } } }))).toEqual([
      '/vms/0/protection/spares: must not list an item twice (items 1 and 2 are the same)',
    ]);
    expect(problems(board({ vm: { protection: { policies: ['none', 'restart'], backup: 0, spares: [7, 2] } } }))).toEqual([
      '/vms/0/protection/policies: "none" cannot be combined with other policies',
      "/vms/0/protection/backup: is ctl's own processor 0: a failover goes elsewhere",
      '/vms/0/protection/spares/0: no processor with id 7 (the board has 0, 1, 2)',
    ]);
    expect(problems(board({ vm: { protection: { policies: ['checkpoint'], backup: 1, spares: [1] } } }))).toEqual(['/vms/0/protection/spares: lists the backup 1 again']);
    expect(problems(board({ vm: { protection: { policies: ['teleport'] } } }))[0]).toMatch(/^\/vms\/0\/protection\/policies\/0: must be one of "migrate-on-warning", "checkpoint", "restart", "none", not "teleport"$/);
    expect(problems(board({ vm: { protection: { backup: 1 } } }))).toEqual(['/vms/0/protection/policies: is required']);
    expect(problems(board({ processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 16 * MIB, repairTime: '0h' }] }))).toEqual(['/processors/0/repairTime: must be longer than 0']);
  });

  it('the schema\'s patterns are the ones the parser reads (one definition each)', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'boards', 'schema.json'), 'utf8')) as { $defs: Record<string, { pattern?: string }> };
    expect(schema.$defs['rate']!.pattern).toBe(RATE_PATTERN);
    expect(schema.$defs['duration']!.pattern).toBe(DURATION_PATTERN);
  });
});
