import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardFileError, imageRunSettings, linkBetween, parseBoard, readBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { ROOT } from './helpers/paths.js';

/** A small valid board as a plain object: tests change one thing and expect one problem. */
function baseBoard(): Record<string, any> {
  return {
    name: 'test',
    processors: [
      { id: 0, clockHz: 100_000_000, ramBytes: 4 * 1024 * 1024, majorFrameNs: 10_000_000 },
      { id: 1, clockHz: 100_000_000, ramBytes: 4 * 1024 * 1024 },
    ],
    links: [{ from: 0, to: 1, bandwidthBytesPerS: 12_500_000, latencyNs: 10_000, mtuBytes: 1024 }],
    vms: [
      { name: 'a', image: 'a.elf', kind: 'paravirtual', memoryBytes: 1024 * 1024, processor: 0, windows: [{ offsetNs: 0, durationNs: 5_000_000 }] },
      { name: 'b', image: 'b.elf', memoryBytes: 1024 * 1024, processor: 0, windows: [{ offsetNs: 5_000_000, durationNs: 5_000_000 }] },
      { name: 'c', image: 'sub/c.elf', kind: 'machine', memoryBytes: 2 * 1024 * 1024, processor: 1 },
    ],
    channels: [
      { name: 'ab', kind: 'queuing', maxMessageBytes: 64, depth: 4, source: { vm: 'a', port: 0 }, destination: { vm: 'b', port: 0 } },
      { name: 'ac', kind: 'sampling', maxMessageBytes: 64, source: { vm: 'a', port: 1 }, destination: { vm: 'c', port: 0 } },
    ],
  };
}

/** The problems parseBoard reports, as "pointer: message" lines. */
function problemsOf(value: unknown): string[] {
  try {
    parseBoard(value, 'boards/x.json');
  } catch (error) {
    if (error instanceof BoardFileError) return error.problems.map((p) => `${p.pointer}: ${p.message}`);
    throw error;
  }
  return [];
}

function withChange(change: (board: Record<string, any>) => void): string[] {
  const board = baseBoard();
  change(board);
  return problemsOf(board);
}

describe('shipped boards', () => {
  it('single.json: one processor, one VM', async () => {
    const board = await readBoard(join(ROOT, 'boards', 'single.json'));
    expect(board.processors).toHaveLength(1);
    expect(board.vms.length).toBeGreaterThanOrEqual(1);
    expect(board.links).toHaveLength(0);
  });

  it('quad.json: four processors in a full mesh, several VMs, channels', async () => {
    const board = await readBoard(join(ROOT, 'boards', 'quad.json'));
    expect(board.processors.map((p) => p.id)).toEqual([0, 1, 2, 3]);
    for (const a of [0, 1, 2, 3]) for (const b of [0, 1, 2, 3]) if (a !== b) expect(linkBetween(board, a, b), `${a}→${b}`).toBeDefined();
    expect(board.vms.length).toBeGreaterThan(4);
    expect(board.channels.length).toBeGreaterThan(0);
  });

  it('cluster16.json: two full-mesh groups of eight joined by slower links', async () => {
    const board = await readBoard(join(ROOT, 'boards', 'cluster16.json'));
    expect(board.processors).toHaveLength(16);
    const group = (id: number): number => (id < 8 ? 0 : 1);
    for (let a = 0; a < 16; a++) {
      for (let b = 0; b < 16; b++) {
        if (a === b || group(a) !== group(b)) continue;
        expect(linkBetween(board, a, b), `${a}→${b}`).toBeDefined();
      }
    }
    const within = board.links.filter((link) => group(link.from) === group(link.to));
    const between = board.links.filter((link) => group(link.from) !== group(link.to));
    expect(within).toHaveLength(2 * 28);
    expect(between.length).toBeGreaterThan(0);
    const slowest = Math.max(...within.map((link) => link.latencyNs));
    const fastest = Math.max(...within.map((link) => link.bandwidthBytesPerS));
    for (const link of between) {
      expect(link.latencyNs).toBeGreaterThan(slowest);
      expect(link.bandwidthBytesPerS).toBeLessThan(fastest);
    }
  });
});

describe('a valid board', () => {
  let board: Board;
  beforeAll(() => {
    board = parseBoard(baseBoard(), join('/boards', 'x.json'));
  });

  it('fills in defaults: bidirectional links, depth 1, no windows, kind from the image', () => {
    expect(board.links[0]!.bidirectional).toBe(true);
    expect(board.channels[1]!.depth).toBe(1);
    expect(board.vms[2]!.windows).toEqual([]);
    expect(board.vms[1]!.kind).toBeUndefined();
  });

  it('resolves images against the board file\'s directory', () => {
    expect(board.vms[2]!.imagePath).toBe(resolve('/boards', 'sub/c.elf'));
    expect(board.vms[2]!.image).toBe('sub/c.elf');
  });

  it('gives an image run the first processor\'s clock and its first VM\'s memory', () => {
    expect(imageRunSettings(board)).toEqual({ clockHz: 100_000_000, ramBytes: 1024 * 1024 });
  });

  it('a bidirectional link carries both ways, a one-way link only one', () => {
    expect(linkBetween(board, 1, 0)).toBeDefined();
    const oneWay = parseBoard({ ...baseBoard(), links: [{ ...baseBoard()['links'][0], bidirectional: false }], channels: [] }, 'x.json');
    expect(linkBetween(oneWay, 0, 1)).toBeDefined();
    expect(linkBetween(oneWay, 1, 0)).toBeUndefined();
  });
});

describe('schema problems name the JSON pointer and what was expected', () => {
  it('memory that is not a whole number of pages', () => {
    expect(withChange((b) => { b.vms[2].memoryBytes = 5000; })).toEqual(['/vms/2/memoryBytes: must be a multiple of 4096, not 5000']);
  });

  it('a missing property', () => {
    expect(withChange((b) => { delete b.vms[0].image; })).toEqual(['/vms/0/image: is required']);
  });

  it('an unknown property, listing the known ones', () => {
    expect(withChange((b) => { b.processors[1].clock = 5; }))
      .toEqual(['/processors/1/clock: unknown property (expected one of id, clockHz, ramBytes, majorFrameNs, runtime, failureRate, repairTime)']);
  });

  it('a wrong type and a wrong enum value', () => {
    expect(withChange((b) => { b.processors[0].clockHz = 'fast'; })).toEqual(['/processors/0/clockHz: must be a whole number, not "fast"']);
    expect(withChange((b) => { b.vms[0].kind = 'hyper'; })).toEqual(['/vms/0/kind: must be one of "paravirtual", "machine", not "hyper"']);
    expect(withChange((b) => { b.channels[0].kind = 'mailbox'; })).toEqual(['/channels/0/kind: must be one of "queuing", "sampling", not "mailbox"']);
  });

  it('numbers out of range', () => {
    expect(withChange((b) => { b.links[0].latencyNs = 0; })).toEqual(['/links/0/latencyNs: must be at least 100, not 0']);
    expect(withChange((b) => { b.vms[0].windows[0].durationNs = 0; })).toEqual(['/vms/0/windows/0/durationNs: must be at least 1, not 0']);
  });

  it('no processors, or not an object at all', () => {
    expect(withChange((b) => { b.processors = []; })).toEqual(['/processors: must have at least 1 item']);
    expect(problemsOf([1, 2])).toEqual([': must be an object, not [1,2]']);
  });

  it('a bad VM name', () => {
    expect(withChange((b) => { b.vms[0].name = '0 bad'; })[0]).toMatch(/^\/vms\/0\/name: must be a name/);
  });

  it('several problems at once, all reported', () => {
    const problems = withChange((b) => { b.vms[0].memoryBytes = 5000; b.vms[1].processor = -1; });
    expect(problems).toEqual(['/vms/0/memoryBytes: must be a multiple of 4096, not 5000', '/vms/1/processor: must be at least 0, not -1']);
  });
});

describe('semantic problems', () => {
  it('a VM on a processor that does not exist', () => {
    expect(withChange((b) => { b.vms[2].processor = 7; })).toContain('/vms/2/processor: no processor with id 7 (the board has 0, 1)');
  });

  it('two processors with one id', () => {
    expect(withChange((b) => { b.processors[1].id = 0; b.links = []; b.channels = []; b.vms.pop(); }))
      .toEqual(['/processors/1/id: processor id 0 is already used by /processors/0']);
  });

  it('VMs that need more memory than their processor has', () => {
    expect(withChange((b) => { b.vms[2].memoryBytes = 8 * 1024 * 1024; }))
      .toEqual(['/processors/1/ramBytes: the VMs on processor 1 need 8388608 bytes (c 8388608) but it has 4194304']);
  });

  it('overlapping windows', () => {
    expect(withChange((b) => { b.vms[1].windows[0].offsetNs = 4_000_000; b.vms[1].windows[0].durationNs = 2_000_000; }))
      .toEqual(['/vms/1/windows/0: overlaps /vms/0/windows/0 on processor 0 (4000000–6000000 ns and 0–5000000 ns)']);
  });

  it('a window past the major frame', () => {
    expect(withChange((b) => { b.vms[1].windows[0].durationNs = 6_000_000; }))
      .toEqual(['/vms/1/windows/0: ends at 11000000 ns, after the 10000000 ns major frame of processor 0']);
  });

  it('windows without a major frame', () => {
    expect(withChange((b) => { delete b.processors[0].majorFrameNs; }))
      .toEqual(['/processors/0/majorFrameNs: is required: VMs on processor 0 have windows (a, b)']);
  });

  it('a VM without windows beside VMs that have them', () => {
    expect(withChange((b) => { delete b.vms[1].windows; }))
      .toEqual(['/vms/1/windows: is required: other VMs on processor 0 have windows, so b would never run']);
  });

  it('duplicate VM names', () => {
    expect(withChange((b) => { b.vms[1].name = 'a'; })).toContain('/vms/1/name: VM name "a" is already used by /vms/0');
  });

  it('a channel to an unknown VM', () => {
    expect(withChange((b) => { b.channels[0].destination.vm = 'zz'; })).toEqual(['/channels/0/destination/vm: no VM named "zz"']);
  });

  it('a channel between processors with no link', () => {
    expect(withChange((b) => { b.links = []; }))
      .toEqual(['/channels/1: a on processor 0 and c on processor 1 have no link from 0 to 1']);
  });

  it('a channel against the direction of a one-way link', () => {
    expect(withChange((b) => {
      b.links[0].bidirectional = false;
      b.channels[1].source = { vm: 'c', port: 1 };
      b.channels[1].destination = { vm: 'a', port: 5 };
    })).toEqual(['/channels/1: c on processor 1 and a on processor 0 have no link from 1 to 0']);
  });

  it('a port used twice', () => {
    expect(withChange((b) => { b.channels[1].source.port = 0; })).toEqual(['/channels/1/source/port: port 0 of a is already used by /channels/0/source']);
  });

  it('a sampling channel deeper than 1', () => {
    expect(withChange((b) => { b.channels[1].depth = 3; }))
      .toEqual(['/channels/1/depth: must be 1 for a sampling channel (it holds the latest message only), not 3']);
  });

  it('a message that cannot fit one frame of the link', () => {
    expect(withChange((b) => { b.channels[1].maxMessageBytes = 1000; }))
      .toEqual(['/channels/1/maxMessageBytes: must be at most 984: a message travels in one frame of /links/0 (MTU 1024) with 40 bytes of headers, not 1000']);
  });

  it('a link to itself, a link to nowhere, a link twice', () => {
    expect(withChange((b) => { b.links.push({ ...b.links[0], to: 0 }); }))
      .toEqual(['/links/1/to: a link joins two different processors, not processor 0 to itself']);
    expect(withChange((b) => { b.links.push({ ...b.links[0], to: 9 }); })).toEqual(['/links/1/to: no processor with id 9']);
    expect(withChange((b) => { b.links.push({ ...b.links[0], from: 1, to: 0, bidirectional: false }); }))
      .toEqual(['/links/1: frames from processor 1 to 0 already have a link (/links/0)']);
  });

  it('more VMs than a processor holds', () => {
    const problems = withChange((b) => {
      b.processors[1].ramBytes = 64 * 1024 * 1024;
      for (let i = 0; i < 16; i++) b.vms.push({ name: `x${i}`, image: 'x.elf', memoryBytes: 4096, processor: 1 });
    });
    expect(problems).toEqual(['/processors/1: 17 VMs on processor 1, but a processor holds at most 16']);
  });
});

describe('the error for a bad board file', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ferry-board-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file, then each problem; at most five', async () => {
    const board = baseBoard();
    for (const vm of board['vms']) vm.memoryBytes = 5000;
    board['processors'][0].ramBytes = 3;
    board['processors'][1].ramBytes = 3;
    board['links'][0].mtuBytes = 1;
    const path = join(dir, 'many.json');
    writeFileSync(path, JSON.stringify(board));
    const error = await readBoard(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BoardFileError);
    const message = (error as Error).message;
    expect(message.startsWith(`board ${path}: /processors/0/ramBytes: must be at least 4096, not 3; `), message).toBe(true);
    expect(message.split('; ')).toHaveLength(6);
    expect(message).toMatch(/; and \d+ more$/);
  });

  it('a missing file and a file that is not JSON', async () => {
    await expect(readBoard(join(dir, 'none.json'))).rejects.toThrow(/board .*none\.json: cannot read it \(no such file\)/);
    writeFileSync(join(dir, 'bad.json'), '{ processors: [');
    await expect(readBoard(join(dir, 'bad.json'))).rejects.toThrow(/board .*bad\.json: not valid JSON/);
  });
});
