/**
 * The collector end to end: checkpoints of running guests restore to VMs that
 * are byte-identical at the checkpoint and run on exactly as the original
 * did; increments apply only in order; bad streams are refused by name and
 * offset and change nothing.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyStream, checkStream, checkpointGuest, checkpointTimes, restoreGuest } from '../host/checkpoint.js';
import { runImage } from '../host/runner.js';
import { StreamError } from '../host/stream-errors.js';
import { RecordType, crc32c, parseStream } from '../host/stream-inspect.js';
import { GUESTS, bootGuest, freshCore, runTo, runToEnd, takeStream, vcpuSnapshot } from './helpers/collector-guest.js';
import { hasCore } from './helpers/paths.js';
import { frameRecord, getU32, sealStream, setU32, splitStream } from './helpers/stream-builder.js';
import type { RawRecord } from './helpers/stream-builder.js';
import { RAM_BASE, buildElf } from './helpers/elf-builder.js';
import { addi, assemble, li, reg, spin, sw } from './helpers/rv32.js';

const CPU_SMALL = join(GUESTS, 'cpu-small.elf');
const TIMER = join(GUESTS, 'timer.elf');

describe('CRC32C', () => {
  it('matches the Castagnoli check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe306_9283);
  });
});

describe('checkpointTimes', () => {
  it('is the checkpoint alone, or every n cycles ending at it', () => {
    expect(checkpointTimes(500n, undefined)).toEqual([500n]);
    expect(checkpointTimes(1000n, 300n)).toEqual([300n, 600n, 900n, 1000n]);
    expect(checkpointTimes(900n, 300n)).toEqual([300n, 600n, 900n]);
    expect(() => checkpointTimes(100n, 200n)).toThrow(/incremental-every/);
  });
});

describe.skipIf(!hasCore())('checkpoint and restore run on exactly like the original', () => {
  const cases: [string, string, bigint, bigint | undefined][] = [
    ['cpu-small, one full checkpoint', CPU_SMALL, 1_234_567n, undefined],
    ['cpu-small, full + increments', CPU_SMALL, 2_000_003n, 400_000n],
    ['timer (interrupts pending across the checkpoint), full + increments', TIMER, 523_457n, 100_000n],
    ['timer asleep in wfi', TIMER, 350_001n, undefined],
  ];
  for (const [name, image, atCycle, every] of cases) {
    it(name, async () => {
      const original = await runImage({ imagePath: image });
      const checkpoint = await checkpointGuest({ imagePath: image, atCycle, incrementalEvery: every });
      const restored = await restoreGuest({ stream: checkpoint.stream });
      expect(restored.resumedAtCycles).toBe(atCycle);
      expect(checkpoint.console + restored.console).toBe(original.console);
      expect(restored.instret).toBe(original.instret);
      expect(restored.exitStatus).toBe(original.exitStatus);
      expect(restored.reason).toBe(original.reason);
    });
  }

  it('a machine guest\'s PMP CSRs come back (the optional PMP record), and a guest without PMP writes none', async () => {
    // csrw pmpaddr3 / pmpcfg0; count down 20000; csrr a0, pmpaddr3; a0 |= 1; sw a0, tohost
    const csrw = (csr: number, rs1: number): number[] => [((csr << 20) | (rs1 << 15) | (1 << 12) | 0x73) >>> 0];
    const csrr = (rd: number, csr: number): number[] => [((csr << 20) | (2 << 12) | (rd << 7) | 0x73) >>> 0];
    const ori1 = (rd: number): number[] => [((1 << 20) | (rd << 15) | (6 << 12) | (rd << 7) | 0x13) >>> 0];
    const bneBack4 = (rs1: number): number[] => [0xfe00_1ee3 | (rs1 << 15)]; // bne rs1, zero, -4
    const tohost = RAM_BASE + 0x400;
    const code = assemble(
      li(reg.t0, 0x1234_5678), csrw(0x3b3, reg.t0), li(reg.t0, 0x0f00), csrw(0x3a0, reg.t0),
      li(reg.t1, 20_000), addi(reg.t1, reg.t1, -1), bneBack4(reg.t1),
      csrr(reg.a0, 0x3b3), ori1(reg.a0), li(reg.t0, tohost), sw(reg.a0, reg.t0, 0), spin(),
    );
    const image = buildElf({
      segments: [{ paddr: RAM_BASE, data: code, memBytes: 0x800, flags: 7 }],
      symbols: [{ name: 'tohost', value: tohost }],
    });
    const original = await runImage({ image });
    expect(original.reason).toBe('tohost');
    expect(original.code).toBe(0x1234_5679);
    const checkpoint = await checkpointGuest({ image, atCycle: 10_000n });
    expect(parseStream(checkpoint.stream).records.filter((r) => r.type === RecordType.PMP)).toHaveLength(1);
    const restored = await restoreGuest({ stream: checkpoint.stream, maxCycles: 100_000 });
    expect(restored.code).toBe(original.code);
    expect(restored.instret).toBe(original.instret);
    const plain = await checkpointGuest({ imagePath: CPU_SMALL, atCycle: 100_000n });
    expect(parseStream(plain.stream).records.some((r) => r.type === RecordType.PMP)).toBe(false);
  });

  it('an LR/SC reservation is not carried: a restore between lr.w and sc.w makes the sc.w fail (docs/stream-format.md)', async () => {
    // lr.w a0, (t0); count down 20000; sc.w a1, a2, (t0); tohost = (a1 << 1) | 1
    const lrW = (rd: number, rs1: number): number[] => [((2 << 27) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x2f) >>> 0];
    const scW = (rd: number, rs2: number, rs1: number): number[] => [((3 << 27) | (rs2 << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x2f) >>> 0];
    const slli1 = (rd: number): number[] => [((1 << 20) | (rd << 15) | (1 << 12) | (rd << 7) | 0x13) >>> 0];
    const ori1 = (rd: number): number[] => [((1 << 20) | (rd << 15) | (6 << 12) | (rd << 7) | 0x13) >>> 0];
    const bneBack4 = (rs1: number): number[] => [0xfe00_1ee3 | (rs1 << 15)];
    const tohost = RAM_BASE + 0x400;
    const word = RAM_BASE + 0x500;
    const code = assemble(
      li(reg.t0, word), lrW(reg.a0, reg.t0), li(reg.t1, 20_000), addi(reg.t1, reg.t1, -1), bneBack4(reg.t1),
      scW(reg.a1, reg.a0, reg.t0), slli1(reg.a1), ori1(reg.a1), li(reg.t0, tohost), sw(reg.a1, reg.t0, 0), spin(),
    );
    const image = buildElf({
      segments: [{ paddr: RAM_BASE, data: code, memBytes: 0x800, flags: 7 }],
      symbols: [{ name: 'tohost', value: tohost }],
    });
    const original = await runImage({ image });
    expect(original.code, 'uninterrupted, the sc.w succeeds').toBe(1);
    const checkpoint = await checkpointGuest({ image, atCycle: 10_000n });
    const restored = await restoreGuest({ stream: checkpoint.stream });
    expect(restored.code, 'restored in between, the sc.w fails').toBe(3);
    expect(restored.instret).toBe(original.instret);
  });

  it('stops at --max-cycles where ferry run would', async () => {
    const original = await runImage({ imagePath: CPU_SMALL, maxCycles: 2_500_000 });
    const checkpoint = await checkpointGuest({ imagePath: CPU_SMALL, atCycle: 1_000_000n });
    const restored = await restoreGuest({ stream: checkpoint.stream, maxCycles: 2_500_000 });
    expect(restored.exitStatus).toBe(124);
    expect(restored.instret).toBe(original.instret);
    expect(restored.message).toBe(original.message);
  });
});

describe.skipIf(!hasCore())('a restored VM is byte-identical at the checkpoint', () => {
  it('RAM, registers, CSRs and counters: a full checkpoint of each is the same stream', async () => {
    const source = await bootGuest('cpu-small.elf');
    const chain: Uint8Array[] = [];
    for (const [i, at] of [300_000n, 700_000n, 1_100_001n].entries()) {
      runTo(source.core, at);
      chain.push(takeStream(source.core, source.vm, i > 0));
    }
    const sourceState = takeStream(source.core, source.vm);
    const sourceVcpu = vcpuSnapshot(source.core, source.vm);

    const target = await freshCore();
    expect(target.core.processorSetTime(1_100_001n)).toBe(0);
    const vm = applyStream(target.core, chain[0]!, -1);
    applyStream(target.core, chain[1]!, vm);
    applyStream(target.core, chain[2]!, vm);
    expect(vcpuSnapshot(target.core, vm)).toEqual(sourceVcpu);
    expect(Buffer.from(takeStream(target.core, vm)).equals(Buffer.from(sourceState))).toBe(true);
  });

  it('a full checkpoint replaces the memory of the VM it is applied to: pages it does not list are cleared', async () => {
    const source = await bootGuest('cpu-small.elf');
    runTo(source.core, 400_000n);
    const full = takeStream(source.core, source.vm);
    const sourceState = takeStream(source.core, source.vm);

    const target = await freshCore();
    expect(target.core.processorSetTime(400_000n)).toBe(0);
    const vm = applyStream(target.core, full, -1);
    // A page the checkpoint does not list, written on the target before the full checkpoint goes on again.
    const garbage = new Uint8Array(4096).fill(0xA5);
    expect(target.core.vmLoad(vm, 0x8010_0000, garbage)).toBe(0);
    expect(Buffer.from(takeStream(target.core, vm)).equals(Buffer.from(sourceState))).toBe(false);
    applyStream(target.core, full, vm);
    expect(Buffer.from(takeStream(target.core, vm)).equals(Buffer.from(sourceState))).toBe(true);
  });

  it('an incremental checkpoint carries only the pages written since the last one', async () => {
    const source = await bootGuest('timer.elf');
    // A page written with zeros: touched, so listed, but as a zero page (no contents).
    const zeros = new Uint8Array(4096);
    expect(source.core.vmLoad(source.vm, 0x8010_0000, zeros)).toBe(0);
    runTo(source.core, 200_000n);
    const full = takeStream(source.core, source.vm);
    runTo(source.core, 310_000n); // one timer interrupt: its handler writes a few variables and the stack
    const increment = takeStream(source.core, source.vm, true);
    const pages = (stream: Uint8Array): number => parseStream(stream).records
      .filter((r) => r.type === RecordType.PAGE_DATA || r.type === RecordType.ZERO_PAGES)
      .reduce((sum, r) => sum + getU32(r.body, 0), 0);
    expect(pages(full)).toBeGreaterThanOrEqual(3); // code and data, the stack, the zero page
    expect(pages(full)).toBeGreaterThan(pages(increment));
    expect(pages(increment)).toBeGreaterThanOrEqual(1);
    expect(pages(increment)).toBeLessThanOrEqual(3);
    const zeroRecord = parseStream(full).records.find((r) => r.type === RecordType.ZERO_PAGES);
    expect(zeroRecord === undefined ? [] : [getU32(zeroRecord.body, 0), getU32(zeroRecord.body, 8)]).toEqual([1, 0x100]);
  });
});

describe.skipIf(!hasCore())('increments apply only to the checkpoint they build on', () => {
  let full: Uint8Array;
  let first: Uint8Array;
  let second: Uint8Array;
  beforeAll(async () => {
    const source = await bootGuest('cpu-small.elf');
    runTo(source.core, 300_000n);
    full = takeStream(source.core, source.vm);
    runTo(source.core, 600_000n);
    first = takeStream(source.core, source.vm, true);
    runTo(source.core, 900_000n);
    second = takeStream(source.core, source.vm, true);
  });

  it('refuses an increment for a new VM, out of order, twice, or after the VM ran', async () => {
    const { core } = await freshCore();
    expect(() => applyStream(core, first, -1)).toThrow(/record \d+ \(CHECKPOINT_END\) at offset 0x[0-9a-f]+: checkpoint 1 of chain/);
    const vm = applyStream(core, full, -1);
    expect(() => applyStream(core, second, vm)).toThrow(/does not continue/);
    applyStream(core, first, vm);
    expect(() => applyStream(core, first, vm)).toThrow(/does not continue/);
    core.run(1000n);
    expect(() => applyStream(core, second, vm)).toThrow(/does not continue/);
  });

  it('refuses a stream for a VM of another size or kind, naming the VM_CONFIG record', async () => {
    const { core } = await freshCore();
    const other = core.vmCreate(0, 4 * 1024 * 1024);
    expect(() => checkStream(core, full, other)).toThrow(/record 0 \(VM_CONFIG\) at offset 0x18: the target VM differs: its ramBytes is 4194304/);
  });
});

/** The records of a small valid stream, for crafting bad ones. */
async function sampleRecords(): Promise<{ header: Uint8Array; records: RawRecord[]; stream: Uint8Array }> {
  const source = await bootGuest('cpu-small.elf');
  runTo(source.core, 250_000n);
  const stream = takeStream(source.core, source.vm);
  return { ...splitStream(stream), stream };
}

describe.skipIf(!hasCore())('bad streams are refused by record and offset, and change nothing', () => {
  let sample: Awaited<ReturnType<typeof sampleRecords>>;
  beforeAll(async () => {
    sample = await sampleRecords();
  });

  async function refusal(stream: Uint8Array): Promise<string> {
    const { core } = await freshCore();
    try {
      checkStream(core, stream, -1, 'x.ferry');
    } catch (error) {
      expect(error).toBeInstanceOf(StreamError);
      return (error as Error).message;
    }
    throw new Error('the stream was accepted');
  }

  const reseal = (edit: (records: RawRecord[]) => void): Uint8Array => {
    const records = sample.records.map((r) => ({ type: r.type, body: r.body.slice() }));
    edit(records);
    return sealStream(sample.header, records);
  };
  const indexOf = (type: number): number => sample.records.findIndex((r) => r.type === type);

  it('accepts the sample and its resealed copy (the builder is faithful)', async () => {
    expect(Buffer.from(reseal(() => {})).equals(Buffer.from(sample.stream))).toBe(true);
    const { core } = await freshCore();
    expect(checkStream(core, sample.stream, -1).checkpoints).toBe(1);
  });

  it('wrong magic, version, byte order', async () => {
    const magic = sample.stream.slice();
    magic[1] = 0x47;
    expect(await refusal(magic)).toMatch(/^x\.ferry: stream refused: header: not a Ferry stream \(bad magic\)$/);
    const version = sample.stream.slice();
    setU32(version, 12, 1);
    expect(await refusal(version)).toMatch(/header: unsupported stream version 1 \(this ferry reads versions 2 to 4\)/);
    const order = sample.stream.slice();
    order.set([0x0a, 0x0b, 0x0c, 0x0d], 8);
    expect(await refusal(order)).toMatch(/header: byte order mark/);
  });

  it('truncated streams', async () => {
    expect(await refusal(sample.stream.subarray(0, 10))).toMatch(/header: truncated/);
    const offsets = parseStream(sample.stream).records.map((r) => r.offset);
    expect(await refusal(sample.stream.subarray(0, offsets[3]! + 20))).toMatch(new RegExp(`record 3 \\(\\w+\\) at offset 0x${offsets[3]!.toString(16)}: truncated`));
    const lastOffset = offsets[offsets.length - 1]!;
    expect(await refusal(sample.stream.subarray(0, lastOffset))).toMatch(/ends here without an END record/);
  });

  it('a flipped bit', async () => {
    const flipped = sample.stream.slice();
    const pageRecord = parseStream(sample.stream).records.find((r) => r.type === RecordType.PAGE_DATA)!;
    flipped[pageRecord.offset + 100]! ^= 0x10;
    expect(await refusal(flipped)).toMatch(new RegExp(`record ${pageRecord.index} \\(PAGE_DATA\\) at offset 0x${pageRecord.offset.toString(16)}: CRC mismatch`));
  });

  it('a non-zero padding byte', async () => {
    const padded = sample.stream.slice();
    const producer = parseStream(sample.stream).records.find((r) => r.type === RecordType.PRODUCER)!;
    padded[producer.offset + producer.sizeBytes - 1] = 1;
    expect(await refusal(padded)).toMatch(/PRODUCER\) at offset 0x[0-9a-f]+: padding byte at offset/);
  });

  it('an unknown mandatory record is refused; an unknown optional one is skipped', async () => {
    const mandatory = reseal((records) => records.splice(2, 0, { type: 0x42, body: new Uint8Array(8) }));
    expect(await refusal(mandatory)).toMatch(/record 2 \(unknown 0x00000042\) at offset 0x[0-9a-f]+: unknown mandatory record type 0x00000042/);
    const optional = reseal((records) => records.splice(2, 0, { type: 0x8000_0042, body: new Uint8Array(13) }));
    const { core } = await freshCore();
    expect(checkStream(core, optional, -1).checkpoints).toBe(1);
  });

  it('CHANNELS: a second one in a checkpoint, and an illegal port count, are refused at the record', async () => {
    const twice = reseal((records) => records.splice(2, 0, { type: RecordType.CHANNELS, body: new Uint8Array(8) }));
    expect(await refusal(twice)).toMatch(/\(CHANNELS\) at offset 0x[0-9a-f]+: a second CHANNELS record in one checkpoint/);
    const tooMany = reseal((records) => {
      const body = new Uint8Array(8);
      new DataView(body.buffer).setUint32(0, 65, true); // at most 64 ports
      records[indexOf(RecordType.CHANNELS)]!.body = body;
    });
    expect(await refusal(tooMany)).toMatch(/\(CHANNELS\) at offset 0x[0-9a-f]+/);
  });

  it('bad lengths', async () => {
    const huge = sample.stream.slice();
    setU32(huge, 24 + 4, 0x7fff_0000);
    expect(await refusal(huge)).toMatch(/record 0 \(VM_CONFIG\) at offset 0x18: bad length: 2147418112 bytes is over the 1048576-byte record limit/);
    const vcpu = reseal((records) => { records[indexOf(RecordType.VCPU)]!.body = records[indexOf(RecordType.VCPU)]!.body.subarray(0, 200); });
    expect(await refusal(vcpu)).toMatch(/\(VCPU\) at offset 0x[0-9a-f]+: bad length: 200 bytes, expected 256/);
    const pages = reseal((records) => {
      const record = records[indexOf(RecordType.PAGE_DATA)]!;
      record.body = record.body.subarray(0, record.body.length - 8);
    });
    expect(await refusal(pages)).toMatch(/\(PAGE_DATA\) at offset 0x[0-9a-f]+: bad length/);
  });

  it('out-of-range and duplicate pages', async () => {
    const range = reseal((records) => setU32(records[indexOf(RecordType.PAGE_DATA)]!.body, 8, 2048));
    expect(await refusal(range)).toMatch(/\(PAGE_DATA\) at offset 0x[0-9a-f]+: page 2048 is out of range \(the VM has 2048 pages\)/);
    const duplicate = reseal((records) => {
      const body = records[indexOf(RecordType.PAGE_DATA)]!.body;
      setU32(body, 12, getU32(body, 8));
    });
    expect(await refusal(duplicate)).toMatch(/page \d+ is listed twice/);
  });

  it('illegal state values name the field', async () => {
    const mode = reseal((records) => setU32(records[indexOf(RecordType.VCPU)]!.body, 132, 3));
    expect(await refusal(mode)).toMatch(/\(VCPU\) at offset 0x[0-9a-f]+: illegal value 0x3 in mode/);
    const x0 = reseal((records) => setU32(records[indexOf(RecordType.VCPU)]!.body, 0, 5));
    expect(await refusal(x0)).toMatch(/illegal value 0x5 in x0/);
    const irq = reseal((records) => setU32(records[indexOf(RecordType.IRQ)]!.body, 4, 2));
    expect(await refusal(irq)).toMatch(/\(IRQ\) .*illegal value 0x2 in externalLevel/);
  });

  it('TASK_SET: a task whose wcet exceeds its deadline names that task\'s wcet', async () => {
    const task = (period: bigint, wcet: bigint, deadline: bigint): Uint8Array => {
      const body = new Uint8Array(8 + 40);
      const view = new DataView(body.buffer);
      view.setUint32(0, 1, true);
      view.setBigUint64(8, period, true);
      view.setBigUint64(16, wcet, true);
      view.setBigUint64(24, deadline, true);
      return body;
    };
    const at = indexOf(RecordType.TASK_SET);
    const wcet = reseal((records) => { records[at]!.body = task(1000n, 600n, 500n); });
    expect(await refusal(wcet)).toMatch(/\(TASK_SET\) at offset 0x[0-9a-f]+: illegal value 0x258 in task 0's wcet/);
    const deadline = reseal((records) => { records[at]!.body = task(400n, 300n, 500n); });
    expect(await refusal(deadline)).toMatch(/illegal value 0x1f4 in task 0's deadline/);
  });

  it('missing, duplicated, dropped and misplaced records', async () => {
    const missing = reseal((records) => records.splice(indexOf(RecordType.TIMER), 1));
    expect(await refusal(missing)).toMatch(/\(CHECKPOINT_END\) .*the checkpoint has no TIMER record/);
    const twice = reseal((records) => records.splice(indexOf(RecordType.IRQ), 0, { ...records[indexOf(RecordType.IRQ)]! }));
    expect(await refusal(twice)).toMatch(/a second IRQ record in one checkpoint/);
    const early = reseal((records) => records.unshift({ type: RecordType.IRQ, body: new Uint8Array(8) }));
    expect(await refusal(early)).toMatch(/record 0 \(IRQ\) at offset 0x18: out of order: expected VM_CONFIG here/);
    // Dropped without resealing: the checkpoint's count and digest no longer match.
    const records = parseStream(sample.stream).records;
    const page = records.find((r) => r.type === RecordType.PAGE_DATA)!;
    const dropped = new Uint8Array(Buffer.concat([sample.stream.subarray(0, page.offset), sample.stream.subarray(page.offset + page.sizeBytes)]));
    expect(await refusal(dropped)).toMatch(/\(CHECKPOINT_END\) .*record count \d+ does not match/);
    const trailing = new Uint8Array(Buffer.concat([sample.stream, new Uint8Array(8)]));
    expect(await refusal(trailing)).toMatch(/at offset 0x[0-9a-f]+: 8 bytes follow the END record/);
  });

  it('a refused stream leaves the target VM exactly as it was', async () => {
    const source = await bootGuest('cpu-small.elf');
    runTo(source.core, 400_000n);
    const before = takeStream(source.core, source.vm);
    const bad = reseal((records) => setU32(records[indexOf(RecordType.PAGE_DATA)]!.body, 8, 999_999));
    expect(() => applyStream(source.core, bad, source.vm)).toThrow(/out of range/);
    expect(Buffer.from(takeStream(source.core, source.vm)).equals(Buffer.from(before))).toBe(true);
  });

  it('rejects non-zero reserved fields and record frames split across files intact', async () => {
    const reserved = reseal((records) => setU32(records[indexOf(RecordType.VM_CONFIG)]!.body, 20, 1));
    expect(await refusal(reserved)).toMatch(/record 0 \(VM_CONFIG\) .*illegal value 0x1 in reserved/);
    expect(frameRecord(RecordType.END, new Uint8Array(8)).length).toBe(24);
  });
});

describe.skipIf(!hasCore())('collector edge cases', () => {
  it('refuses an incremental checkpoint before any full one, and capture without a stream', async () => {
    const source = await bootGuest('hello.elf');
    expect(source.core.checkpointCapture(source.vm, 0)).toBe(-10);
    source.core.checkpointBegin();
    expect(source.core.checkpointCapture(source.vm, 1)).toBe(-10);
    expect(source.core.checkpointCapture(99, 0)).toBe(-3);
  });

  it('sets the time of a fresh processor only', async () => {
    const { core } = await freshCore();
    expect(core.processorSetTime(5n)).toBe(0);
    expect(core.now()).toBe(5n);
    expect(core.processorSetTime(9n)).toBe(-10);
  });

  it('restores a VM that had already stopped, stopped', async () => {
    const source = await bootGuest('hello.elf');
    runToEnd(source.core, source.vm);
    const stream = takeStream(source.core, source.vm);
    const restored = await restoreGuest({ stream });
    expect(restored.exitStatus).toBe(0);
    expect(restored.reason).toBe('shutdown');
    expect(restored.console).toBe('');
  });
});
