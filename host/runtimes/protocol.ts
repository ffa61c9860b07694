/**
 * The messages between the host and a processor in another process (docs/runtimes.md,
 * "Messages"): requests of calls to the world's exports, replies of their results and the
 * imports the core made meanwhile. Values are encoded by their WIT type, little endian:
 * u32/s32 in 4 bytes, u64/s64 in 8, list<u8> as a u32 length and the bytes.
 */
import type { WitType } from '../core-world.js';

/** The export index of the hello, the first request. */
export const HELLO_EXPORT = 0xffff;

export const ReplyStatus = { done: 0, trapped: 1, refused: 2 } as const;

export type WitValue = number | bigint | Uint8Array;

/** Encodes one request. */
export class RequestWriter {
  private bytes = Buffer.alloc(4096);
  private used = 8; // the message's length and its call count come first
  private calls = 0;

  get callCount(): number {
    return this.calls;
  }

  call(exportIndex: number, params: readonly WitType[], args: readonly WitValue[]): void {
    this.reserve(2);
    this.bytes.writeUInt16LE(exportIndex, this.used);
    this.used += 2;
    params.forEach((type, i) => this.value(type, args[i]!));
    this.calls++;
  }

  /** The whole message, length first; the writer starts over. */
  take(): Buffer {
    this.bytes.writeUInt32LE(this.used - 4, 0);
    this.bytes.writeUInt32LE(this.calls, 4);
    const message = this.bytes.subarray(0, this.used);
    this.bytes = Buffer.alloc(4096);
    this.used = 8;
    this.calls = 0;
    return message;
  }

  private value(type: WitType, value: WitValue): void {
    switch (type) {
      case 'u32': this.reserve(4); this.bytes.writeUInt32LE((value as number) >>> 0, this.used); this.used += 4; return;
      case 's32': this.reserve(4); this.bytes.writeInt32LE((value as number) | 0, this.used); this.used += 4; return;
      case 'u64': this.reserve(8); this.bytes.writeBigUInt64LE(BigInt.asUintN(64, value as bigint), this.used); this.used += 8; return;
      case 's64': this.reserve(8); this.bytes.writeBigInt64LE(BigInt.asIntN(64, value as bigint), this.used); this.used += 8; return;
      case 'list<u8>': {
        const list = value as Uint8Array;
        this.reserve(4 + list.length);
        this.bytes.writeUInt32LE(list.length, this.used);
        this.bytes.set(list, this.used + 4);
        this.used += 4 + list.length;
      }
    }
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.used + bytes) size *= 2;
    const grown = Buffer.alloc(size);
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}

/** The processor broke the protocol: its reply does not parse. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Decodes one reply. */
export class ReplyReader {
  private at = 0;

  constructor(private readonly bytes: Buffer, private readonly who: string) {}

  get done(): boolean {
    return this.at === this.bytes.length;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.at++]!;
  }

  value(type: WitType): WitValue {
    switch (type) {
      case 'u32': this.need(4); this.at += 4; return this.bytes.readUInt32LE(this.at - 4);
      case 's32': this.need(4); this.at += 4; return this.bytes.readInt32LE(this.at - 4);
      case 'u64': this.need(8); this.at += 8; return this.bytes.readBigUInt64LE(this.at - 8);
      case 's64': this.need(8); this.at += 8; return this.bytes.readBigInt64LE(this.at - 8);
      case 'list<u8>': {
        const length = this.value('u32') as number;
        this.need(length);
        this.at += length;
        return new Uint8Array(this.bytes.subarray(this.at - length, this.at)); // a copy: the buffer is reused
      }
    }
  }

  text(): string {
    return Buffer.from(this.value('list<u8>') as Uint8Array).toString('utf8');
  }

  private need(bytes: number): void {
    if (this.at + bytes > this.bytes.length) {
      throw new ProtocolError(`${this.who}: a reply of ${this.bytes.length} bytes ends inside a value at byte ${this.at}`);
    }
  }
}
