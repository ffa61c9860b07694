/**
 * A processor program in another process, and the two pipes the host talks to it over
 * (docs/runtimes.md, "Transport"). The host's side is synchronous — a core call returns
 * its result, as a WebAssembly call does — so it reads and writes the pipes with blocking
 * system calls: they are FIFOs the host opens itself, not Node's stream pipes (those are
 * socket pairs in non-blocking mode).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreLoadError } from '../errors.js';

/** The processor is gone: it died, or broke the protocol. */
export class ProcessorLostError extends Error {
  override name = 'ProcessorLostError';
}

/** How much of a dead processor's stderr an error quotes. */
const LAST_WORDS_BYTES = 2000;

export class ProcessPipe {
  private requests: number | undefined;
  private readonly replies: number;
  private readonly stderrPath: string;
  private readonly dir: string;
  private readonly header = Buffer.alloc(4);
  private reply = Buffer.alloc(1 << 16);

  /** Starts `command` with `args`, its stdin and stdout the two pipes. `who` names it in errors. */
  constructor(command: string, args: readonly string[], private readonly who: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'ferry-processor-'));
    const toProcessor = join(this.dir, 'requests');
    const fromProcessor = join(this.dir, 'replies');
    this.stderrPath = join(this.dir, 'stderr');
    execFileSync('mkfifo', ['-m', '600', toProcessor, fromProcessor]);
    // Opening a FIFO read-write never waits (Linux): with those ends held, the one-way ends
    // open at once too, and the processor inherits its own. After the spawn only the one-way
    // ends stay: each side then holds one end of each pipe, and sees the other's death.
    const held = [openSync(toProcessor, constants.O_RDWR), openSync(fromProcessor, constants.O_RDWR)];
    const childIn = openSync(toProcessor, constants.O_RDONLY);
    const childOut = openSync(fromProcessor, constants.O_WRONLY);
    const childErr = openSync(this.stderrPath, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      const child = spawn(command, args, { stdio: [childIn, childOut, childErr] });
      child.on('error', () => {}); // a missing program shows as end-of-file on the first reply
      child.unref();
      this.requests = openSync(toProcessor, constants.O_WRONLY);
      this.replies = openSync(fromProcessor, constants.O_RDONLY);
      openPipes.add(this);
    } finally {
      for (const fd of [...held, childIn, childOut, childErr]) closeSync(fd);
      rmSync(toProcessor);
      rmSync(fromProcessor);
    }
  }

  /** Sends one message (length first) without waiting for the reply. */
  send(message: Buffer): void {
    if (this.requests === undefined) throw new ProcessorLostError(`${this.who} was closed`);
    try {
      for (let done = 0; done < message.length;) done += writeSync(this.requests, message, done, message.length - done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') throw this.lost('stopped reading requests');
      throw error;
    }
  }

  /** Waits for the next reply; returns its bytes (valid until the next call). */
  receive(): Buffer {
    this.readFully(this.header, 4);
    const length = this.header.readUInt32LE(0);
    if (length > this.reply.length) this.reply = Buffer.alloc(Math.max(length, this.reply.length * 2));
    const reply = this.reply.subarray(0, length);
    this.readFully(reply, length);
    return reply;
  }

  /** Ends the processor: it reads end-of-file and exits. */
  close(): void {
    if (this.requests === undefined) return;
    closeSync(this.requests);
    closeSync(this.replies);
    this.requests = undefined;
    openPipes.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** What the processor said on stderr before it went. */
  lastWords(): string {
    try {
      const text = readFileSync(this.stderrPath, 'utf8').trim();
      return text.length > LAST_WORDS_BYTES ? `…${text.slice(-LAST_WORDS_BYTES)}` : text;
    } catch {
      return '';
    }
  }

  private readFully(into: Buffer, length: number): void {
    if (this.requests === undefined) throw new ProcessorLostError(`${this.who} was closed`);
    for (let done = 0; done < length;) {
      const got = readSync(this.replies, into, done, length - done, null);
      if (got === 0) throw this.lost('ended');
      done += got;
    }
  }

  private lost(what: string): ProcessorLostError {
    const words = this.lastWords();
    return new ProcessorLostError(`${this.who} ${what}${words === '' ? ' without a word' : `: ${words}`}`);
  }
}

/** A file a runtime needs, or a CoreLoadError that says how to get it. */
export function requireFile(path: string, what: string, hint: string): string {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new CoreLoadError(`${what} ${path} is missing: ${hint}`);
  return path;
}

// A host that exits without closing its processors still ends them and leaves no files.
const openPipes = new Set<ProcessPipe>();
process.on('exit', () => { for (const pipe of openPipes) pipe.close(); });
