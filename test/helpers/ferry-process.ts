/** bin/ferry.js as a process of its own that a test watches while it runs (a worker, a campaign). */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { FERRY_BIN, ROOT } from './paths.js';

export interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class FerryProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly listeners = new Set<() => void>();

  /** `bin` lets a test run another copy of Ferry (a worker of another build). */
  constructor(args: string[], bin = FERRY_BIN, timeoutMs = 120_000) {
    this.child = spawn(process.execPath, [bin, ...args], { cwd: ROOT, timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => this.onOutput(() => (this.stdout += chunk.toString('utf8'))));
    this.child.stderr!.on('data', (chunk: Buffer) => this.onOutput(() => (this.stderr += chunk.toString('utf8'))));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (status, signal) => resolve({ status, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  /** Resolves once stdout or stderr matches `pattern` (rejects if the process ends first). */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => pattern.test(this.stdout) || pattern.test(this.stderr);
      if (check()) return resolve();
      const timer = setTimeout(() => done(new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`)), timeoutMs);
      const listener = (): void => {
        if (check()) done();
      };
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.listeners.add(listener);
      void this.exited.then(() => done(check() ? undefined : new Error(`exited before ${pattern}:\n${this.stdout}\n${this.stderr}`)));
    });
  }

  /** Sends `signal` and waits for the end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  private onOutput(append: () => void): void {
    append();
    for (const listener of [...this.listeners]) listener();
  }
}
