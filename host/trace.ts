/**
 * The run trace: one JSON object per line, written synchronously so a trace
 * is complete up to the moment a run stops, even if it stops badly.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { FerryError } from './errors.js';

export class TraceWriter {
  private constructor(private readonly fd: number) {}

  /** Creates (or truncates) the trace file. */
  static open(path: string): TraceWriter {
    try {
      return new TraceWriter(openSync(path, 'w'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new FerryError(`trace ${path}: cannot write it (${code})`);
    }
  }

  write(event: object): void {
    writeSync(this.fd, JSON.stringify(event, jsonValue) + '\n');
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Cycle counts are bigints: numbers while exact, decimal strings beyond 2^53. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}
