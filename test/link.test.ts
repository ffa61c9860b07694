import { describe, expect, it } from 'vitest';
import type { BoardLink } from '../host/board.js';
import { LinkError, LinkNetwork } from '../host/link.js';
import { parseLinkFaults, seededLinkFaults } from '../host/link-faults.js';
import type { LinkFaultModel } from '../host/link-faults.js';
import { Prng } from '../host/prng.js';

/** 1 byte per µs (1 MB/s), 10 µs latency, MTU 256. */
function link(overrides: Partial<BoardLink> = {}): BoardLink {
  return { index: 0, from: 0, to: 1, bandwidthBytesPerS: 1_000_000, latencyNs: 10_000, mtuBytes: 256, bidirectional: true, ...overrides };
}

const frame = (bytes: number, fill = 0): Uint8Array => new Uint8Array(bytes).fill(fill);

describe('link timing', () => {
  it('a frame on an idle link arrives after bytes / bandwidth + latency', () => {
    const network = new LinkNetwork([link()]);
    const { frames } = network.send(0, 1, frame(100), 5_000n);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.arrivalNs).toBe(5_000n + 100_000n + 10_000n);
    expect(network.serialisationNs(0, 1, 100)).toBe(100_000n);
  });

  it('rounds serialisation up to whole nanoseconds', () => {
    const network = new LinkNetwork([link({ bandwidthBytesPerS: 3 })]);
    expect(network.serialisationNs(0, 1, 1)).toBe(333_333_334n);
  });

  it('queues frames behind each other: one frame at a time on the wire', () => {
    const network = new LinkNetwork([link()]);
    const first = network.send(0, 1, frame(100), 0n).frames[0]!;
    const second = network.send(0, 1, frame(50), 20_000n).frames[0]!;
    expect(first.arrivalNs).toBe(110_000n);
    // The wire is busy until 100 µs; the second frame starts then, not at 20 µs.
    expect(second.arrivalNs).toBe(100_000n + 50_000n + 10_000n);
    const later = network.send(0, 1, frame(10), 500_000n).frames[0]!;
    expect(later.arrivalNs).toBe(500_000n + 10_000n + 10_000n);
  });

  it('a slowdown slows what starts on the wire while it lasts; a frame queued past its end goes at the link\'s rate', () => {
    const network = new LinkNetwork([link()]);
    network.slow(0, 1, 10, 500_000n);
    const slowed = network.send(0, 1, frame(100), 0n).frames[0]!;
    expect(slowed.arrivalNs).toBe(1_000_000n + 10_000n); // 100 bytes at 100 kB/s
    // Sent at 200 µs, inside the slowdown, but it starts at 1 ms, after it: 50 µs on the wire.
    const queued = network.send(0, 1, frame(50), 200_000n).frames[0]!;
    expect(queued.arrivalNs).toBe(1_000_000n + 50_000n + 10_000n);
  });

  it('the two directions of a bidirectional link are independent wires', () => {
    const network = new LinkNetwork([link()]);
    network.send(0, 1, frame(200), 0n);
    expect(network.send(1, 0, frame(10), 0n).frames[0]!.arrivalNs).toBe(20_000n);
  });

  it('takeArrived hands over frames in arrival order, ties in sending order, and only those that have arrived', () => {
    const network = new LinkNetwork([link(), link({ index: 1, from: 2, to: 1 })]);
    network.send(0, 1, frame(10, 1), 0n); // arrives 20 µs
    network.send(2, 1, frame(10, 2), 0n); // arrives 20 µs, sent after
    network.send(2, 1, frame(10, 3), 0n); // queued: arrives 30 µs
    network.send(1, 0, frame(5, 4), 0n); // arrives 15 µs
    expect(network.takeArrived(14_999n)).toEqual([]);
    expect(network.takeArrived(20_000n).map((f) => f.bytes[0])).toEqual([4, 1, 2]);
    expect(network.framesInFlight()).toBe(1);
    expect(network.nextArrivalNs()).toBe(30_000n);
    expect(network.takeArrived(1_000_000n).map((f) => f.bytes[0])).toEqual([3]);
  });

  it('knows the smallest latency and each processor\'s peers', () => {
    const network = new LinkNetwork([link({ latencyNs: 5_000 }), link({ index: 1, from: 1, to: 2, latencyNs: 700, mtuBytes: 512, bidirectional: false })]);
    expect(network.minLatencyNs()).toBe(700n);
    expect(network.peersOf(1)).toEqual([{ peer: 0, mtuBytes: 256 }, { peer: 2, mtuBytes: 512 }]);
    expect(network.peersOf(2)).toEqual([]);
    expect(new LinkNetwork([]).minLatencyNs()).toBeUndefined();
  });

  it('counts per direction', () => {
    const network = new LinkNetwork([link()]);
    network.send(0, 1, frame(100), 0n);
    network.takeArrived(10n ** 9n);
    const [forward, backward] = network.stats();
    expect(forward).toMatchObject({ from: 0, to: 1, framesSent: 1, bytesSent: 100, framesDelivered: 1, busyNs: 100_000n });
    expect(backward).toMatchObject({ from: 1, to: 0, framesSent: 0 });
  });
});

describe('link contract violations are core bugs', () => {
  it('a frame over the MTU throws', () => {
    const network = new LinkNetwork([link()]);
    expect(() => network.send(0, 1, frame(257), 0n)).toThrow(LinkError);
    expect(() => network.send(0, 1, frame(257), 0n)).toThrow(/257-byte frame to 1, over the 256-byte MTU of link 0/);
  });

  it('a frame with no link throws; so does one against a one-way link', () => {
    const network = new LinkNetwork([link({ bidirectional: false })]);
    expect(() => network.send(0, 2, frame(1), 0n)).toThrow(/no link goes from 0 to 2/);
    expect(() => network.send(1, 0, frame(1), 0n)).toThrow(/no link goes from 1 to 0/);
  });
});

describe('the link error model', () => {
  it('is off by default: every frame arrives intact', () => {
    const network = new LinkNetwork([link()]);
    for (let i = 0; i < 100; i++) {
      const outcome = network.send(0, 1, frame(8, i), BigInt(i) * 100_000n);
      expect(outcome.dropped).toBe(false);
      expect(outcome.frames).toHaveLength(1);
      expect(outcome.frames[0]!.faults).toEqual([]);
    }
  });

  it('applies drop, corrupt, duplicate and delay from a hook', () => {
    const fates: ReturnType<LinkFaultModel>[] = [{ drop: true }, { corruptBit: 9 }, { duplicate: true }, { delayNs: 1_000_000n }];
    let next = 0;
    const network = new LinkNetwork([link()], () => fates[next++]);
    expect(network.send(0, 1, frame(4), 0n)).toEqual({ frames: [], dropped: true });
    const corrupted = network.send(0, 1, frame(4), 1_000_000n).frames[0]!;
    expect([...corrupted.bytes]).toEqual([0, 2, 0, 0]);
    expect(corrupted.faults).toEqual(['corrupt']);
    const duplicated = network.send(0, 1, frame(4), 2_000_000n).frames;
    expect(duplicated).toHaveLength(2);
    expect(duplicated[1]!.arrivalNs).toBe(duplicated[0]!.arrivalNs + 4_000n);
    expect(duplicated[1]!.faults).toEqual(['duplicate']);
    const delayed = network.send(0, 1, frame(4), 3_000_000n).frames[0]!;
    expect(delayed.arrivalNs).toBe(3_000_000n + 4_000n + 10_000n + 1_000_000n);
    expect(network.stats()[0]).toMatchObject({ framesDropped: 1, framesCorrupted: 1, framesDuplicated: 1, framesReordered: 1 });
  });

  it('a reordered frame is overtaken by later ones', () => {
    let first = true;
    const network = new LinkNetwork([link()], () => (first ? ((first = false), { delayNs: 50_000n }) : undefined));
    network.send(0, 1, frame(1, 1), 0n);
    network.send(0, 1, frame(1, 2), 1_000n);
    expect(network.takeArrived(10n ** 9n).map((f) => f.bytes[0])).toEqual([2, 1]);
  });

  it('seeded faults: the same seed gives the same faults, another seed others', () => {
    const pattern = (seed: number): string => {
      const network = new LinkNetwork([link()], seededLinkFaults(seed, { drop: 0.2, corrupt: 0.2, duplicate: 0.1, reorder: 0.1 }));
      const marks: string[] = [];
      for (let i = 0; i < 200; i++) {
        const outcome = network.send(0, 1, frame(16, i), BigInt(i) * 1_000_000n);
        marks.push(outcome.dropped ? 'D' : outcome.frames.map((f) => f.faults.join('+') || '.').join('|'));
      }
      return marks.join(',');
    };
    expect(pattern(7)).toBe(pattern(7));
    expect(pattern(7)).not.toBe(pattern(8));
    const marks = pattern(7).split(',');
    const dropped = marks.filter((m) => m === 'D').length;
    expect(dropped).toBeGreaterThan(15);
    expect(dropped).toBeLessThan(70);
    expect(marks.some((m) => m.includes('corrupt'))).toBe(true);
    expect(marks.some((m) => m.includes('duplicate'))).toBe(true);
    expect(marks.some((m) => m.includes('reorder'))).toBe(true);
  });

  it('each direction has its own stream: traffic on one link does not change another\'s faults', () => {
    const faultsOn = (withOtherTraffic: boolean): boolean[] => {
      const network = new LinkNetwork([link(), link({ index: 1, from: 2, to: 3 })], seededLinkFaults(1, { drop: 0.5 }));
      const dropped: boolean[] = [];
      for (let i = 0; i < 50; i++) {
        if (withOtherTraffic) network.send(2, 3, frame(8), BigInt(i) * 1_000_000n);
        dropped.push(network.send(0, 1, frame(8), BigInt(i) * 1_000_000n).dropped);
      }
      return dropped;
    };
    expect(faultsOn(true)).toEqual(faultsOn(false));
  });

  it('parses --link-faults and refuses nonsense', () => {
    expect(parseLinkFaults('drop=0.01, corrupt=1e-3,reorder=1')).toEqual({ drop: 0.01, corrupt: 0.001, reorder: 1 });
    expect(() => parseLinkFaults('lose=0.1')).toThrow(/kind one of drop, corrupt, duplicate, reorder, not "lose=0.1"/);
    expect(() => parseLinkFaults('drop=2')).toThrow(/drop must be a probability from 0 to 1, not 2/);
  });
});

describe('the seeded PRNG', () => {
  it('repeats for a seed and differs across seeds and streams', () => {
    const take = (prng: Prng): number[] => Array.from({ length: 8 }, () => prng.nextU32());
    expect(take(new Prng(42))).toEqual(take(new Prng(42)));
    expect(take(new Prng(42))).not.toEqual(take(new Prng(43)));
    expect(take(new Prng(42, 1))).not.toEqual(take(new Prng(42, 2)));
  });

  it('gives floats in [0, 1) and integers below a bound', () => {
    const prng = new Prng(0);
    for (let i = 0; i < 10_000; i++) {
      const x = prng.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
      const n = prng.nextBelow(6);
      expect(Number.isInteger(n) && n >= 0 && n < 6).toBe(true);
    }
  });

  it('is a fixed sequence (a change of algorithm must be deliberate: traces depend on it)', () => {
    const prng = new Prng(1);
    expect(Array.from({ length: 4 }, () => prng.nextU32())).toMatchInlineSnapshot(`
      [
        2466671647,
        704075991,
        1425070668,
        2363080060,
      ]
    `);
  });
});
