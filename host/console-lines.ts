/**
 * Console output of several VMs on one stream: each complete line is
 * prefixed with the VM's name (`[ctl0] text`), so lines of different VMs
 * never mix. A line still open when the run ends is written with a newline
 * added. With one VM on the board nothing is changed: bytes pass through
 * exactly as the guest wrote them.
 */

export type ConsoleWrite = (chunk: Uint8Array) => void;

const NEWLINE = 0x0a;

export class ConsoleLines {
  private readonly open = new Map<string, Uint8Array[]>();
  private readonly encoder = new TextEncoder();

  constructor(private readonly write: ConsoleWrite, private readonly prefixed: boolean) {}

  /** Bytes `vm` wrote to its console. */
  add(vm: string, bytes: Uint8Array): void {
    if (!this.prefixed) {
      this.write(bytes);
      return;
    }
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== NEWLINE) continue;
      this.emit(vm, bytes.subarray(start, i + 1));
      start = i + 1;
    }
    if (start < bytes.length) this.pending(vm).push(bytes.slice(start));
  }

  /** Writes the lines still open (end of run), each with a newline. */
  finish(): void {
    for (const [vm, parts] of this.open) {
      if (parts.length === 0) continue;
      this.emit(vm, new Uint8Array([NEWLINE]));
    }
  }

  private emit(vm: string, tail: Uint8Array): void {
    const parts = this.open.get(vm) ?? [];
    this.open.set(vm, []);
    this.write(concat([this.encoder.encode(`[${vm}] `), ...parts, tail]));
  }

  private pending(vm: string): Uint8Array[] {
    let parts = this.open.get(vm);
    if (parts === undefined) {
      parts = [];
      this.open.set(vm, parts);
    }
    return parts;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
