/**
 * host/runtimes/remote-core.ts against a scripted processor (docs/runtimes.md, "Processors
 * in another process"): which calls become requests, what rides along with them, how the
 * imports of a reply reach the board, and what is refused. The real processors (wasmtime,
 * native) are tested in test/runtimes-cross.test.ts; their refusals of a wrong hello here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORLD_EXPORTS, WORLD_TEXT } from '../host/core-world.js';
import type { WitType } from '../host/core-world.js';
import type { BoardSinks, ConsoleSink, CoreRuntime } from '../host/core-runtime.js';
import { boardImports } from '../host/core-runtime.js';
import { CoreLoadError } from '../host/errors.js';
import { ProcessPipe } from '../host/runtimes/process-pipe.js';
import { HELLO_EXPORT, ReplyReader, ReplyStatus, RequestWriter } from '../host/runtimes/protocol.js';
import type { WitValue } from '../host/runtimes/protocol.js';
import { RemoteCore } from '../host/runtimes/remote-core.js';
import { nativeCoreFactory } from '../host/runtimes/native.js';
import { NATIVE, VENV_PYTHON, buildNativeIfStale, nativeMissing, wasmtimeMissing } from './helpers/runtime-tools.js';
import { ROOT } from './helpers/paths.js';

interface SeenCall { name: string; args: WitValue[] }

const STAGING_BYTES = 1024;

/** Encodes values as the protocol does (little endian, lists with their length). */
function encode(values: [WitType, WitValue][]): Buffer {
  const parts = values.map(([type, value]) => {
    if (type === 'list<u8>') {
      const bytes = value as Uint8Array;
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return Buffer.concat([length, bytes]);
    }
    const buffer = Buffer.alloc(type === 'u64' || type === 's64' ? 8 : 4);
    if (type === 'u64' || type === 's64') buffer.writeBigUInt64LE(BigInt.asUintN(64, value as bigint));
    else buffer.writeUInt32LE((value as number) >>> 0);
    return buffer;
  });
  return Buffer.concat(parts);
}

/**
 * A processor in a script: its clock advances by what `run` asks, `vm-exit` answers what
 * the test sets, every other call answers 0; each `run` reports the outputs the test queued.
 */
class ScriptedProcessor {
  readonly requests: SeenCall[][] = [];
  cycles = 0n;
  exit = 0;
  /** Outputs (import index and values) the next run reports. */
  outputs: [number, [WitType, WitValue][]][] = [];
  private readonly replies: Buffer[] = [];

  send(message: Buffer): void {
    const calls: SeenCall[] = [];
    const reader = new ReplyReader(message.subarray(4), 'request');
    const count = reader.value('u32') as number;
    const results: [WitType, WitValue][] = [];
    let outputs: [number, [WitType, WitValue][]][] = [];
    for (let i = 0; i < count; i++) {
      const index = (reader.u8() | (reader.u8() << 8));
      if (index === HELLO_EXPORT) {
        expect(Buffer.from(reader.value('list<u8>') as Uint8Array).toString()).toBe(WORLD_TEXT);
        results.push(['list<u8>', new Uint8Array(Buffer.from('scripted'))]);
        continue;
      }
      const spec = WORLD_EXPORTS[index]!;
      const args = spec.params.map((type) => reader.value(type));
      calls.push({ name: spec.name, args });
      if (spec.name === 'run') { this.cycles += args[0] as bigint; outputs = this.outputs; this.outputs = []; }
      if ('result' in spec) results.push([spec.result, this.answer(spec.name, args)]);
    }
    this.requests.push(calls);
    const outputBytes = outputs.map(([index, values]) => Buffer.concat([Buffer.from([index]), encode(values)]));
    const body = Buffer.concat([Buffer.from([ReplyStatus.done]), encode(results), encode([['u32', outputs.length]]), ...outputBytes]);
    this.replies.push(body);
  }

  receive(): Buffer {
    return this.replies.shift()!;
  }

  close(): void {}

  private answer(name: string, args: WitValue[]): WitValue {
    if (name === 'now') return this.cycles;
    if (name === 'run') return args[0]!;
    if (name === 'stagingBytes') return STAGING_BYTES;
    if (name === 'vmExit') return this.exit;
    const spec = WORLD_EXPORTS.find((fn) => fn.name === name)!;
    return 'result' in spec && spec.result === 'u64' ? 0n : 0;
  }
}

function scripted(sinks: BoardSinks = {}, onConsole: ConsoleSink = () => {}): { core: CoreRuntime; processor: ScriptedProcessor } {
  const processor = new ScriptedProcessor();
  const core = new RemoteCore(processor as unknown as ProcessPipe, boardImports(onConsole, sinks), 'the scripted processor').runtime();
  return { core, processor };
}

const names = (calls: SeenCall[]): string[] => calls.map((call) => call.name);

describe('RemoteCore: a processor in another process as a CoreRuntime', () => {
  it('starts with the hello, then asks the staging buffer\'s size once', () => {
    const { processor } = scripted();
    expect(processor.requests.map(names)).toEqual([[], ['stagingBytes']]);
  });

  it('answers a read from the last reply until another call is made; each request carries the reads asked lately', () => {
    const { core, processor } = scripted();
    core.configure(100_000_000, 3);
    expect(core.vmExit(0)).toBe(0); // new: a request of its own
    expect(core.run(1000n)).toBe(1000n);
    expect(names(processor.requests.at(-1)!)).toEqual(['run', 'vmExit']); // the run's request ends with it
    processor.exit = 1; // the processor's state now, unseen until its next reply
    const sent = processor.requests.length;
    expect(core.vmExit(0)).toBe(0); // from the run's reply: as the processor stood after the run
    expect(processor.requests.length).toBe(sent);
    core.vmSetReg(0, 5, 7); // any other call is a request, and the reads ride along
    expect(names(processor.requests.at(-1)!)).toEqual(['vmSetReg', 'vmExit']);
    expect(core.vmExit(0)).toBe(1);
    expect(processor.requests.length).toBe(sent + 1);
  });

  it('replays the imports of a reply into the board\'s sinks, in order, before the call returns', () => {
    const seen: string[] = [];
    const { core, processor } = scripted({
      onLinkSend: (peer, atCycles, frame) => seen.push(`link ${peer} at ${atCycles}: ${frame.length} bytes`),
      onEvent: (kind, id) => seen.push(`event ${kind} ${id}`),
    }, (vm, bytes) => seen.push(`console ${vm}: ${Buffer.from(bytes).toString()}`));
    processor.outputs = [
      [0, [['u32', 2], ['list<u8>', new Uint8Array(Buffer.from('hi\n'))]]],
      [1, [['u32', 1], ['u64', 512n], ['list<u8>', new Uint8Array(40)]]],
      [3, [['u32', 4], ['u32', 9], ['u32', 2], ['u64', 5n], ['u64', 0n], ['u64', 0n]]],
    ];
    core.run(1000n);
    expect(seen).toEqual(['console 2: hi\n', 'link 1 at 512: 40 bytes', 'event 4 9']);
  });

  it('refuses a sink that calls back into its own processor while its reply is replayed', () => {
    let core: CoreRuntime | undefined;
    const made = scripted({ onEvent: () => { core!.now(); } });
    core = made.core;
    made.processor.outputs = [[3, [['u32', 1], ['u32', 0], ['u32', 0], ['u64', 0n], ['u64', 0n], ['u64', 0n]]]];
    expect(() => core!.run(10n)).toThrow(/boards must not call a core from its imports/);
  });

  it('started ahead, a call is collected by the same call; anything else in between is refused', () => {
    const { core, processor } = scripted();
    core.ahead!('run', 500n);
    const sent = processor.requests.length;
    expect(core.run(500n)).toBe(500n);
    expect(processor.requests.length).toBe(sent); // collected, not sent again
    core.ahead!('run', 500n);
    expect(() => core.vmExit(0)).toThrow(/started ahead was not collected/);
  });

  it('refuses a list longer than the processor\'s staging buffer before it is sent, as the module does', () => {
    const { core, processor } = scripted();
    const sent = processor.requests.length;
    expect(() => core.linkReceive(1, new Uint8Array(STAGING_BYTES + 1))).toThrow(RangeError);
    expect(processor.requests.length).toBe(sent);
  });
});

/** A hello with `text` for the world, straight to a processor: its reply's status and words. */
function helloWith(command: string, args: string[], text: string): { status: number; words: string } {
  const pipe = new ProcessPipe(command, args, 'the processor under test');
  try {
    const writer = new RequestWriter();
    writer.call(HELLO_EXPORT, ['list<u8>'], [new Uint8Array(Buffer.from(text))]);
    pipe.send(writer.take());
    const reply = new ReplyReader(pipe.receive(), 'reply');
    return { status: reply.u8(), words: reply.text() };
  } finally {
    pipe.close();
  }
}

const WRONG_WORLD = WORLD_TEXT.replace('export run(u64) -> u64', 'export run(u32) -> u64');

describe.skipIf(nativeMissing() !== undefined)(`the native processor's hello${nativeMissing() === undefined ? '' : ` — SKIPPED: ${nativeMissing()}`}`, () => {
  it('answers the world it was built from, and refuses another with the line that differs', () => {
    buildNativeIfStale();
    expect(helloWith(NATIVE, ['--serve'], WORLD_TEXT)).toEqual({ status: ReplyStatus.done, words: 'ferry-native wasm2c, guard-page bounds checks' });
    const refused = helloWith(NATIVE, ['--serve'], WRONG_WORLD);
    expect(refused.status).toBe(ReplyStatus.refused);
    expect(refused.words).toMatch(/differs from the one this ferry-native was built from \(line 4 of the world\): rebuild it/);
  }, 180_000);

  it('a program that ends before its hello: a CoreLoadError with its last words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-remote-core-'));
    try {
      const program = join(dir, 'not-ferry');
      writeFileSync(program, '#!/bin/sh\necho "no core here" >&2\nexit 1\n', { mode: 0o755 });
      const error = await nativeCoreFactory({ path: program })(() => {}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CoreLoadError);
      // Which system call notices first depends on timing: the write of the hello (the program
      // already closed its end) or the read of its reply. Both are the same event, both quote it.
      expect((error as Error).message).toMatch(/^the native processor (ended|stopped reading requests): no core here \(at its hello\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(wasmtimeMissing() !== undefined)(`the wasmtime processor's hello${wasmtimeMissing() === undefined ? '' : ` — SKIPPED: ${wasmtimeMissing()}`}`, () => {
  const args = [join(ROOT, 'host', 'runtimes', 'wasmtime-processor.py'), join(ROOT, 'build', 'component', 'ferry-core.component.wasm')];

  it('answers with its wasmtime version, and refuses a world whose types the component does not have', () => {
    expect(helloWith(VENV_PYTHON, args, WORLD_TEXT)).toEqual({ status: ReplyStatus.done, words: 'wasmtime 49.0.0' });
    const refused = helloWith(VENV_PYTHON, args, WRONG_WORLD);
    expect(refused.status).toBe(ReplyStatus.refused);
    expect(refused.words).toBe("run is (u64) -> u64 in the component, (u32) -> u64 in the host's world: rebuild it");
  }, 60_000);
});
