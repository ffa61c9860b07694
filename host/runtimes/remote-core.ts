/**
 * A processor in another process (the wasmtime runtime, the native firmware) as the board
 * sees every processor: a CoreRuntime (docs/runtimes.md, "Processors in another process").
 * Calls become requests over a ProcessPipe. To keep a lockstep quantum to one exchange, the
 * reads wit/ferry.wit marks are answered from the last reply until another call is made:
 * each request ends with the reads asked lately. The imports the core made during a request
 * are replayed into the board's sinks, in order, when its reply is in.
 */
import { BOARD_IMPORTS, WORLD_EXPORTS, WORLD_TEXT } from '../core-world.js';
import type { BoardImports, WitType } from '../core-world.js';
import type { CoreRuntime } from '../core-runtime.js';
import { CoreLoadError } from '../errors.js';
import { ProcessorLostError } from './process-pipe.js';
import type { ProcessPipe } from './process-pipe.js';
import { HELLO_EXPORT, ProtocolError, ReplyReader, ReplyStatus, RequestWriter } from './protocol.js';
import type { WitValue } from './protocol.js';

/** A read asked within this many exchanges is asked again with every request. */
const READ_MEMORY_EXCHANGES = 8;
/** At most this many reads ride along (a board asks a few per VM). */
const MAX_WATCHED_READS = 256;

interface ExportSpec {
  readonly name: string;
  readonly params: readonly WitType[];
  readonly result?: WitType;
  readonly read?: boolean;
}

interface Call {
  index: number;
  spec: ExportSpec;
  args: readonly WitValue[];
}

interface WatchedRead extends Call {
  key: string;
  askedAt: number;
}

/** A request sent, its reply not yet read. */
interface Sent {
  call: Call;
  reads: WatchedRead[];
  own: string | undefined;
}

/** The core in the processor trapped: a bug in Ferry, never the guest's doing. */
export class ProcessorTrapError extends Error {
  override name = 'ProcessorTrapError';
}

export class RemoteCore {
  private readonly writer = new RequestWriter();
  /** What the reads answered at the end of the last request, while no other call was made. */
  private readonly answers = new Map<string, WitValue>();
  private readonly watched = new Map<string, WatchedRead>();
  private exchanges = 0;
  private replaying = false;
  /** A call started ahead (`ahead`), whose reply the next call collects. */
  private started: Sent | undefined;
  private stagingBytes = 0;
  /** How the processor introduced itself in its hello. */
  readonly description: string;

  constructor(private readonly pipe: ProcessPipe, private readonly board: BoardImports, private who: string) {
    try {
      this.description = this.hello();
      const index = WORLD_EXPORTS.findIndex((fn) => fn.name === 'stagingBytes');
      this.stagingBytes = this.exchange({ index, spec: WORLD_EXPORTS[index]!, args: [] }) as number;
    } catch (error) {
      pipe.close();
      throw error;
    }
  }

  /** The CoreRuntime the board drives: one function per export of the world. */
  runtime(): CoreRuntime {
    const core: Record<string, unknown> = {
      close: () => this.close(),
      ahead: (name: string, ...args: WitValue[]) => this.ahead(WORLD_EXPORTS.findIndex((fn) => fn.name === name), args),
    };
    WORLD_EXPORTS.forEach((spec, index) => {
      core[spec.name] = (...args: WitValue[]) => this.call(index, args);
    });
    return core as unknown as CoreRuntime;
  }

  close(): void {
    this.pipe.close();
  }

  /**
   * Sends a call now and returns: the processor works on it while the host goes on (the
   * lockstep loop starts every such processor's quantum before it runs the others). The
   * next call must be the same one: it collects the reply.
   */
  private ahead(index: number, args: readonly WitValue[]): void {
    const spec: ExportSpec = WORLD_EXPORTS[index]!;
    if (this.started !== undefined) throw new Error(`${this.who}: ${spec.name} started ahead while another call was`);
    if (spec.read === true) throw new Error(`${this.who}: a read (${spec.name}) is never started ahead`);
    this.answers.clear();
    this.started = this.send({ index, spec, args });
  }

  private call(index: number, args: readonly WitValue[]): WitValue | undefined {
    const spec: ExportSpec = WORLD_EXPORTS[index]!;
    if (this.started !== undefined) return this.collect(index, args);
    if (this.replaying) throw new Error(`${this.who}: a board import called ${spec.name} while its reply was replayed: boards must not call a core from its imports`);
    this.checkLists(spec, args);
    if (spec.name === 'configure') this.who = `processor ${args[1] as number} (${this.description})`;
    const call = { index, spec, args };
    if (spec.read === true) return this.read(call);
    this.answers.clear();
    return this.exchange(call);
  }

  private read(call: Call): WitValue {
    const key = readKey(call);
    this.watch(key, call);
    const known = this.answers.get(key);
    return known !== undefined ? known : this.exchange(call)!;
  }

  private watch(key: string, call: Call): void {
    this.watched.delete(key); // re-inserted last: the map stays in order of asking
    this.watched.set(key, { ...call, key, askedAt: this.exchanges });
    if (this.watched.size > MAX_WATCHED_READS) this.watched.delete(this.watched.keys().next().value!);
  }

  /** One request: `call`, then the recent reads; returns `call`'s result. */
  private exchange(call: Call): WitValue | undefined {
    return this.receive(this.send(call));
  }

  private collect(index: number, args: readonly WitValue[]): WitValue | undefined {
    const started = this.started!;
    this.started = undefined;
    const same = started.call.index === index && started.call.args.every((arg, i) => arg === args[i]);
    if (!same) throw new Error(`${this.who}: ${WORLD_EXPORTS[index]!.name} called while ${started.call.spec.name} started ahead was not collected`);
    return this.receive(started);
  }

  private send(call: Call): Sent {
    const own = call.spec.read === true ? readKey(call) : undefined;
    for (const read of [...this.watched.values()]) if (read.askedAt < this.exchanges - READ_MEMORY_EXCHANGES) this.watched.delete(read.key);
    const reads = [...this.watched.values()].filter((read) => read.key !== own);
    for (const { index, spec, args } of [call, ...reads]) this.writer.call(index, spec.params, args);
    this.pipe.send(this.writer.take());
    return { call, reads, own };
  }

  private receive({ call, reads, own }: Sent): WitValue | undefined {
    const reply = this.reply();
    const result = call.spec.result === undefined ? undefined : reply.value(call.spec.result);
    for (const read of reads) this.answers.set(read.key, reply.value(read.spec.result!));
    this.exchanges++;
    this.replay(reply);
    if (own !== undefined) this.answers.set(own, result!);
    return result;
  }

  private roundTrip(): ReplyReader {
    this.pipe.send(this.writer.take());
    return this.reply();
  }

  private reply(): ReplyReader {
    const reply = new ReplyReader(this.pipe.receive(), this.who);
    const status = reply.u8();
    if (status === ReplyStatus.done) return reply;
    this.pipe.close();
    if (status === ReplyStatus.trapped) {
      const call = reply.value('u32') as number;
      throw new ProcessorTrapError(`${this.who}: the core trapped in call ${call} of a request: ${reply.text()}`);
    }
    if (status === ReplyStatus.refused) throw new ProtocolError(`${this.who} refused a request: ${reply.text()}`);
    throw new ProtocolError(`${this.who} answered with status ${status}`);
  }

  /** The imports the core made, into the board's sinks as they came. */
  private replay(reply: ReplyReader): void {
    const count = reply.value('u32') as number;
    this.replaying = true;
    try {
      for (let i = 0; i < count; i++) {
        const index = reply.u8();
        const spec = BOARD_IMPORTS[index];
        if (spec === undefined) throw new ProtocolError(`${this.who} reported import ${index}; the board has ${BOARD_IMPORTS.length}`);
        const values = spec.params.map((type) => reply.value(type));
        (this.board[spec.name] as (...values: WitValue[]) => void)(...values);
      }
    } finally {
      this.replaying = false;
    }
    if (!reply.done) throw new ProtocolError(`${this.who}: bytes follow the reply's last output`);
  }

  /** A processor that cannot start, or was built from another world, cannot be loaded. */
  private hello(): string {
    this.writer.call(HELLO_EXPORT, ['list<u8>'], [new Uint8Array(Buffer.from(WORLD_TEXT))]);
    try {
      return this.roundTrip().text();
    } catch (error) {
      if (error instanceof ProcessorLostError || error instanceof ProtocolError) throw new CoreLoadError(`${error.message} (at its hello)`);
      throw error;
    }
  }

  /** A list longer than the staging buffer is refused here, as the module and the component refuse it. */
  private checkLists(spec: ExportSpec, args: readonly WitValue[]): void {
    if (this.stagingBytes === 0) return;
    spec.params.forEach((type, i) => {
      const bytes = args[i] as Uint8Array;
      if (type === 'list<u8>' && bytes.length > this.stagingBytes) {
        throw new RangeError(`${spec.name}: ${bytes.length} bytes do not fit the ${this.stagingBytes}-byte staging buffer`);
      }
    });
  }
}

function readKey(call: Call): string {
  return `${call.index}:${call.args.join(',')}`;
}
