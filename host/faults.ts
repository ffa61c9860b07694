/**
 * Fault injection: the hardware going wrong at virtual times (docs/scenarios.md, "Faults").
 * The host only breaks hardware — a processor stops or hangs, links are cut or slowed,
 * bits flip in a VM's RAM, in a register or in a frame — and warns a processor's core
 * of its coming failure as its hardware would. What the system makes of it is the
 * cores' business (docs/health.md). Every fault is recorded with its virtual time, and
 * the same events on the same board and seed give the same run.
 */
import type { CoreRuntime } from './core-runtime.js';
import type { LinkNetwork } from './link.js';
import type { Lockstep } from './lockstep.js';

export type FaultEvent =
  /** Fail-stop: the processor stops for good, its state is lost. */
  | { kind: 'fail'; atNs: bigint; processor: number }
  /** A failed processor is back (replaced or rebooted): a fresh core, no VM, a new life as a member. */
  | { kind: 'repair'; atNs: bigint; processor: number }
  /** It stops answering but keeps its state; for `forNs`, or for good. */
  | { kind: 'hang'; atNs: bigint; processor: number; forNs?: bigint }
  /** Its hardware announces it will fail in `leadNs`, then it fails. */
  | { kind: 'warning'; atNs: bigint; processor: number; leadNs: bigint }
  /** Every link between processors of different groups carries nothing for `forNs`. */
  | { kind: 'partition'; atNs: bigint; groups: number[][]; forNs: bigint }
  /** The link between two processors runs `by` times slower for `forNs`. */
  | { kind: 'slow'; atNs: bigint; between: [number, number]; by: number; forNs: bigint }
  /** A single-event upset in guest RAM (bit 0-7 of the byte at `address`). */
  | { kind: 'flip-ram'; atNs: bigint; vm: string; address: number; bit: number }
  /** A single-event upset in a vCPU register (x1-x31, bit 0-31). */
  | { kind: 'flip-register'; atNs: bigint; vm: string; register: number; bit: number }
  /** The next frame from `between[0]` to `between[1]` gets bit `bit` flipped on the wire. */
  | { kind: 'flip-frame'; atNs: bigint; between: [number, number]; bit: number };

/** A fault as it happened: its event and the virtual time it took effect. */
export interface InjectedFault {
  atNs: bigint;
  kind: FaultEvent['kind'] | 'fail-after-warning' | 'hang-end' | 'partition-end';
  processor?: number;
  detail?: string;
  /** Not applied: what was missing (a VM no longer running anywhere, a processor already failed). */
  skipped?: string;
}

/** What the injector acts on. */
export interface FaultTargets {
  lockstep: Lockstep;
  network: LinkNetwork;
  core(processor: number): CoreRuntime | undefined;
  /** Where VM `name` runs now. */
  locate(name: string): { processor: number; vmId: number } | undefined;
  /** Boots failed processor `processor` again at `atNs` with a fresh core. */
  repair(processor: number, atNs: bigint): void;
  processors: readonly number[];
}

interface Pending {
  atNs: bigint;
  order: number;
  apply: () => InjectedFault;
}

export class FaultInjector {
  private readonly pending: Pending[] = [];
  private readonly injected: InjectedFault[] = [];
  private order = 0;

  constructor(events: readonly FaultEvent[], private readonly targets: FaultTargets, private readonly onFault?: (fault: InjectedFault) => void) {
    for (const event of events) this.schedule(event);
  }

  /** Applies every fault due by `atNs` (a quantum boundary), in time order. */
  atBoundary(atNs: bigint): void {
    this.pending.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : a.order - b.order));
    while (this.pending.length > 0 && this.pending[0]!.atNs <= atNs) {
      const fault = this.pending.shift()!.apply();
      this.injected.push(fault);
      this.onFault?.(fault);
    }
  }

  /** The faults applied so far. */
  faults(): InjectedFault[] {
    return [...this.injected];
  }

  /** The time the last scheduled fault (or its end) is due; 0n if none. */
  lastDueNs(): bigint {
    return this.pending.reduce((latest, p) => (p.atNs > latest ? p.atNs : latest), 0n);
  }

  private at(atNs: bigint, apply: () => InjectedFault): void {
    this.pending.push({ atNs, order: this.order++, apply });
  }

  private schedule(event: FaultEvent): void {
    const { lockstep, network } = this.targets;
    switch (event.kind) {
      case 'fail':
        this.at(event.atNs, () => this.fail(event.atNs, event.processor, 'fail'));
        return;
      case 'repair':
        this.at(event.atNs, () => {
          if (lockstep.healthOf(event.processor) !== 'failed') return { atNs: event.atNs, kind: 'repair', processor: event.processor, skipped: 'it had not failed' };
          this.targets.repair(event.processor, event.atNs);
          return { atNs: event.atNs, kind: 'repair', processor: event.processor };
        });
        return;
      case 'hang':
        this.at(event.atNs, () => {
          if (lockstep.healthOf(event.processor) === 'failed') return { atNs: event.atNs, kind: 'hang', processor: event.processor, skipped: 'it had failed' };
          lockstep.hang(event.processor, true);
          return { atNs: event.atNs, kind: 'hang', processor: event.processor, detail: event.forNs === undefined ? 'for good' : `for ${event.forNs} ns` };
        });
        if (event.forNs !== undefined) {
          const endNs = event.atNs + event.forNs;
          this.at(endNs, () => {
            lockstep.hang(event.processor, false);
            return { atNs: endNs, kind: 'hang-end', processor: event.processor };
          });
        }
        return;
      case 'warning': {
        this.at(event.atNs, () => {
          const core = this.targets.core(event.processor);
          if (core === undefined || lockstep.healthOf(event.processor) !== 'up') return { atNs: event.atNs, kind: 'warning', processor: event.processor, skipped: 'it was not up' };
          core.healthWarning(event.leadNs);
          return { atNs: event.atNs, kind: 'warning', processor: event.processor, detail: `fails in ${event.leadNs} ns` };
        });
        const failNs = event.atNs + event.leadNs;
        this.at(failNs, () => this.fail(failNs, event.processor, 'fail-after-warning'));
        return;
      }
      case 'partition': {
        const endNs = event.atNs + event.forNs;
        this.at(event.atNs, () => {
          const group = (id: number): number => event.groups.findIndex((members) => members.includes(id));
          let cut = 0;
          for (const a of this.targets.processors) {
            for (const b of this.targets.processors) {
              if (a < b && group(a) >= 0 && group(b) >= 0 && group(a) !== group(b) && (network.has(a, b) || network.has(b, a))) {
                network.cut(a, b, endNs);
                cut++;
              }
            }
          }
          return { atNs: event.atNs, kind: 'partition', detail: `${event.groups.map((g) => `{${g.join(',')}}`).join(' | ')}: ${cut} links cut for ${event.forNs} ns` };
        });
        this.at(endNs, () => ({ atNs: endNs, kind: 'partition-end' }));
        return;
      }
      case 'slow':
        this.at(event.atNs, () => {
          network.slow(event.between[0], event.between[1], event.by, event.atNs + event.forNs);
          return { atNs: event.atNs, kind: 'slow', detail: `${event.between[0]}-${event.between[1]} ${event.by}x slower for ${event.forNs} ns` };
        });
        return;
      case 'flip-ram':
        this.at(event.atNs, () => {
          const where = this.targets.locate(event.vm);
          const core = where === undefined ? undefined : this.targets.core(where.processor);
          if (where === undefined || core === undefined) return { atNs: event.atNs, kind: 'flip-ram', skipped: `${event.vm} runs nowhere` };
          const result = core.vmFlipBit(where.vmId, event.address, event.bit);
          return {
            atNs: event.atNs, kind: 'flip-ram', processor: where.processor,
            detail: `${event.vm} 0x${event.address.toString(16)} bit ${event.bit}`, ...(result === 0 ? {} : { skipped: `outside its RAM (${result})` }),
          };
        });
        return;
      case 'flip-register':
        this.at(event.atNs, () => {
          const where = this.targets.locate(event.vm);
          const core = where === undefined ? undefined : this.targets.core(where.processor);
          if (where === undefined || core === undefined) return { atNs: event.atNs, kind: 'flip-register', skipped: `${event.vm} runs nowhere` };
          core.vmSetReg(where.vmId, event.register, (core.vmGetReg(where.vmId, event.register) ^ (1 << event.bit)) >>> 0);
          return { atNs: event.atNs, kind: 'flip-register', processor: where.processor, detail: `${event.vm} x${event.register} bit ${event.bit}` };
        });
        return;
      case 'flip-frame':
        this.at(event.atNs, () => {
          network.flipNext(event.between[0], event.between[1], event.bit);
          return { atNs: event.atNs, kind: 'flip-frame', detail: `next frame ${event.between[0]}->${event.between[1]} bit ${event.bit}` };
        });
        return;
    }
  }

  private fail(atNs: bigint, processor: number, kind: 'fail' | 'fail-after-warning'): InjectedFault {
    const { lockstep } = this.targets;
    if (lockstep.healthOf(processor) === 'failed') return { atNs, kind, processor, skipped: 'it had failed' };
    lockstep.fail(processor);
    return { atNs, kind, processor };
  }
}
