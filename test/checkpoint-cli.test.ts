/** `ferry checkpoint`, `ferry restore` and `ferry inspect` as a user runs them. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, runFerry } from './helpers/ferry-cli.js';
import { compressStream } from './helpers/compressed-stream.js';
import { GUESTS } from './helpers/collector-guest.js';
import { hasCore } from './helpers/paths.js';

const CPU_SMALL = join(GUESTS, 'cpu-small.elf');
const TIMER = join(GUESTS, 'timer.elf');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-checkpoint-cli-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ferry checkpoint/restore/inspect --help', () => {
  it('lists the commands and their options', () => {
    const help = runFerry(['--help']).stdout;
    for (const command of ['checkpoint [options] <board|image.elf>', 'restore [options] <file.ferry>', 'inspect [options] <file.ferry>']) {
      expect(help).toContain(command);
    }
    const checkpoint = runFerry(['checkpoint', '--help']).stdout;
    for (const option of ['--at-cycle <n>', '-o, --output <file.ferry>', '--vm <id>', '--incremental-every <n>']) expect(checkpoint).toContain(option);
    expect(runFerry(['restore', '--help']).stdout).toContain('--max-cycles <n>');
    expect(runFerry(['inspect', '--help']).stdout).toContain('--json');
  });
});

describe.skipIf(!hasCore())('checkpoint then restore prints what run prints', () => {
  for (const [name, image, atCycle, every] of [['cpu-small', CPU_SMALL, '1500000', '500000'], ['timer', TIMER, '450001', undefined]] as const) {
    it(`${name}: stdout, exit status and instret match ferry run`, () => {
      const file = join(dir, `${name}.ferry`);
      const run = runFerry(['run', image, '--instret']);
      const checkpoint = runFerry(['checkpoint', image, '--at-cycle', atCycle, '-o', file, ...(every === undefined ? [] : ['--incremental-every', every])]);
      expect(checkpoint.status, checkpoint.stderr).toBe(0);
      expect(checkpoint.stderr).toMatch(new RegExp(`^ferry: wrote .*${name}\\.ferry: a full checkpoint at cycle`));
      const restore = runFerry(['restore', file, '--instret']);
      expect(restore.status, restore.stderr).toBe(run.status);
      expect(Buffer.concat([checkpoint.stdoutBytes, restore.stdoutBytes]).equals(run.stdoutBytes)).toBe(true);
      expect(lines(restore.stderr).at(-1)).toBe(lines(run.stderr).at(-1));
    });
  }

  it('restore --max-cycles stops where run --max-cycles does, with exit status 124', () => {
    const file = join(dir, 'limit.ferry');
    expect(runFerry(['checkpoint', CPU_SMALL, '--at-cycle', '1000000', '-o', file]).status).toBe(0);
    const run = runFerry(['run', CPU_SMALL, '--max-cycles', '2000000']);
    const restore = runFerry(['restore', file, '--max-cycles', '2000000']);
    expect(restore.status).toBe(124);
    expect(restore.stderr).toBe(run.stderr);
  });
});

describe.skipIf(!hasCore())('ferry inspect', () => {
  let file: string;
  beforeAll(() => {
    file = join(dir, 'inspect.ferry');
    expect(runFerry(['checkpoint', CPU_SMALL, '--at-cycle', '900000', '--incremental-every', '300000', '-o', file]).status).toBe(0);
  });

  it('prints every record with offset, type, length and summary, then the verdict', () => {
    const result = runFerry(['inspect', file]);
    expect(result.status, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out[1]).toMatch(/^offset\s+type\s+length\s+summary$/);
    expect(out[2]).toMatch(/^0x00000000\s+header\s+24\s+Ferry stream version 2, little-endian$/);
    expect(out[3]).toMatch(/^0x00000018\s+VM_CONFIG \(0x00000001\)\s+24\s+paravirtual, 8192 KiB RAM \(2048 pages of 4096\), source VM 0$/);
    expect(result.stdout).toMatch(/CHECKPOINT_END \(0x00000020\)\s+32\s+full at cycle 300000/);
    expect(result.stdout).toMatch(/CHECKPOINT_END \(0x00000020\)\s+32\s+incremental #2 at cycle 900000/);
    expect(out.at(-2)).toMatch(/END \(0x00000000\)\s+8\s+3 checkpoints/);
    expect(out.at(-1)).toBe('valid: 3 checkpoints; a paravirtual VM with 8388608 bytes of RAM resumes at cycle 900000');
  });

  it('--json gives the same records as data', () => {
    const result = runFerry(['inspect', file, '--json']);
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout) as { valid: boolean; records: { typeName: string; offset: number; crcOk: boolean }[]; resume: { captureCycles: number } };
    expect(json.valid).toBe(true);
    expect(json.records[0]).toMatchObject({ typeName: 'VM_CONFIG', offset: 24, crcOk: true });
    expect(json.records.at(-1)!.typeName).toBe('END');
    // Integers are JSON numbers while exact (docs/cli.md, "JSON"), as in every other JSON Ferry prints.
    expect(json.resume.captureCycles).toBe(900000);
  });

  it('a version-3 stream with compressed pages: each PAGE_COMPRESSED record summarised, valid, and it restores as its version-2 original', () => {
    const { stream } = compressStream(new Uint8Array(readFileSync(file)));
    const compressed = join(dir, 'compressed.ferry');
    writeFileSync(compressed, stream);
    const result = runFerry(['inspect', compressed]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^0x00000000\s+header\s+24\s+Ferry stream version 3, little-endian$/m);
    expect(result.stdout).toMatch(/PAGE_COMPRESSED \(0x00000012\)\s+\d+\s+page \d+, (word dictionary|LZ), \d+ bytes for 4096/);
    expect(lines(result.stdout).at(-1)).toBe('valid: 3 checkpoints; a paravirtual VM with 8388608 bytes of RAM resumes at cycle 900000');
    const plain = runFerry(['restore', file]);
    const packed = runFerry(['restore', compressed]);
    expect(packed.status).toBe(plain.status);
    expect(packed.stdout).toBe(plain.stdout);
  });

  it('a damaged stream: the records still print, the refusal names record and offset, exit 2', () => {
    const bytes = readFileSync(file);
    bytes[0x60 + 40]! ^= 0x04;
    const damaged = join(dir, 'damaged.ferry');
    writeFileSync(damaged, bytes);
    const result = runFerry(['inspect', damaged]);
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('[CRC MISMATCH]');
    expect(lines(result.stderr)).toEqual([expect.stringMatching(/^ferry: error: .*damaged\.ferry: stream refused: record 2 \(VCPU\) at offset 0x60: CRC mismatch/)]);
    const restore = runFerry(['restore', damaged]);
    expect(restore.status).toBe(2);
    expect(restore.stdout).toBe('');
    expect(lines(restore.stderr)).toEqual([expect.stringMatching(/record 2 \(VCPU\) at offset 0x60: CRC mismatch/)]);
  });

  it('a truncated stream and a file that is no stream', () => {
    const truncated = join(dir, 'truncated.ferry');
    writeFileSync(truncated, readFileSync(file).subarray(0, 5000));
    expect(runFerry(['restore', truncated]).stderr).toMatch(/truncated\.ferry: stream refused: record \d+ \(PAGE_DATA\) at offset 0x[0-9a-f]+: truncated: \d+ bytes left where \d+ are needed/);
    const text = join(dir, 'text.ferry');
    writeFileSync(text, 'hello, this is not a checkpoint\n');
    expect(runFerry(['inspect', text]).stderr).toMatch(/^ferry: error: .*text\.ferry: stream refused: header: not a Ferry stream \(bad magic\)\n$/);
  });
});

describe.skipIf(!hasCore())('ferry checkpoint refuses what it cannot do, exit 2 and one line', () => {
  it('a checkpoint after the guest stopped', () => {
    const result = runFerry(['checkpoint', join(GUESTS, 'hello.elf'), '--at-cycle', '50000000', '-o', join(dir, 'late.ferry')]);
    expect(result.status).toBe(2);
    expect(lines(result.stderr)).toEqual(['ferry: error: VM 0 stopped (shutdown) before cycle 50000000: nothing to checkpoint there']);
  });

  it('--vm other than 0 for an image, a missing stream file, a bad --at-cycle', () => {
    expect(runFerry(['checkpoint', CPU_SMALL, '--at-cycle', '10', '--vm', '3', '-o', join(dir, 'x.ferry')]).stderr).toMatch(/an image runs as VM 0/);
    expect(runFerry(['restore', join(dir, 'missing.ferry')]).stderr).toMatch(/missing\.ferry: cannot read the stream \(no such file\)/);
    expect(runFerry(['checkpoint', CPU_SMALL, '--at-cycle', 'soon', '-o', join(dir, 'x.ferry')]).status).toBe(2);
  });
});

describe.skipIf(!hasCore())('ferry checkpoint on a board', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ferry-board-checkpoint-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('captures the VM inside its running board, and restore goes on from there', () => {
    const file = join(dir, 'ctl0.ferry');
    const checkpoint = runFerry(['checkpoint', 'boards/quad.json', '--vm', 'ctl0', '--at-cycle', '30000000', '--incremental-every', '10000000', '-o', file]);
    expect(checkpoint.status, checkpoint.stderr).toBe(0);
    // Only ctl0's console, up to the capture (t = 0, 100, 200 ms of its control loop).
    expect(checkpoint.stdout).toContain('ctl control: t=200 ');
    expect(checkpoint.stdout).not.toContain('t=300 ');
    expect(checkpoint.stdout).not.toContain('control-tx');
    expect(checkpoint.stderr).toContain('a full checkpoint at cycle 10000000 and 2 incremental ones, the last at cycle 30000000');
    const restore = runFerry(['restore', file, '--max-cycles', '50000000']);
    expect(restore.status).toBe(124);
    expect(lines(restore.stdout)[0]).toMatch(/^ctl control: t=300 /);
  });

  it('carries channel ports: a receiver restored alone keeps the sample it last got over the link', () => {
    const file = join(dir, 'rx1.ferry');
    const checkpoint = runFerry(['checkpoint', 'boards/quad.json', '--vm', 'rx1', '--at-cycle', '30000000', '-o', file]);
    expect(checkpoint.status, checkpoint.stderr).toBe(0);
    expect(runFerry(['inspect', file]).stdout).toMatch(/CHANNELS \(0x00000007\) .*1 port: channel \d+ port 0 sampling destination, next \d+, 1 queued/);
    const restore = runFerry(['restore', file, '--max-cycles', '40000000']);
    expect(lines(restore.stdout)[0]).toMatch(/^ctl control-rx: t=300 .*\(remote setpoint\)$/);
  });
});
