/**
 * Where every VM of a board is: one directory, driven by the cores' lifecycle events
 * (CoreEvent in wit/numbers.json). A VM is named on the processor it was placed on;
 * when a migration reserves it elsewhere the reserved copy is named too (its console and
 * trace records carry the VM's name); when the destination reports the VM arrived, it
 * lives there; when the source releases its copy, that copy is gone. The host never
 * looks for a VM by asking cores about states: it is told.
 */
import { CoreEvent } from './numbers.js';

export type VmStatus =
  /** The VM runs (or ran, and stopped) here. */
  | 'lives'
  /** Reserved here by a migration that has not committed. */
  | 'incoming'
  /** It moved on; this copy waits to be released. */
  | 'departed'
  /** A protection's copy, held until it takes over (docs/health.md). */
  | 'copy'
  /** Another copy took over (its processor failed, or it was fenced). */
  | 'superseded'
  /** It lived here when this processor failed, and the processor was repaired since: the VM is gone with that incarnation's state. */
  | 'lost';

export interface DirectoryEntry<T> {
  name: string;
  processor: number;
  /** The VM's handle in its processor's core. */
  handle: number;
  /** Which life of its processor holds it: 0 from the board's start, one more per repair. */
  incarnation: number;
  status: VmStatus;
  /** What the board runner keeps about the VM (shared by its copies: the console is one). */
  data: T;
}

export class VmDirectory<T> {
  private readonly entries = new Map<string, DirectoryEntry<T>>();
  /** Migration id → the name of the VM it moves. */
  private readonly moving = new Map<number, string>();
  /** Each repaired processor's current incarnation (absent: 0). */
  private readonly incarnations = new Map<number, number>();

  /** A VM placed by the board file. */
  place(name: string, processor: number, handle: number, data: T): void {
    this.add({ name, processor, handle, status: 'lives', data });
  }

  /** A protected VM's copy, placed by the board runner (held until it takes over). */
  placeCopy(name: string, processor: number, handle: number, data: T): void {
    this.add({ name, processor, handle, status: 'copy', data });
  }

  /**
   * A copy of VM `name` took over on `processor` as handle `handle` (the core's
   * failoverActivated): it lives there; wherever it lived before, it does no more.
   */
  takeOver(name: string, processor: number, handle: number): void {
    const home = this.locate(name) ?? [...this.entries.values()].find((entry) => entry.name === name);
    if (home === undefined) return;
    for (const entry of this.entries.values()) if (entry.name === name && entry.status === 'lives') entry.status = 'superseded';
    this.add({ ...home, processor, handle, status: 'lives' });
  }

  /**
   * A backup's core made a new copy of VM `name` as handle `handle` (copyHeld: a holder
   * began replicating to it after a takeover); copyDropped gives it back. The copies the
   * board placed at the start are placeCopy's.
   */
  copyHeld(name: string, processor: number, handle: number): void {
    const any = [...this.entries.values()].find((entry) => entry.name === name);
    if (any !== undefined) this.add({ ...any, processor, handle, status: 'copy' });
  }

  copyDropped(processor: number, handle: number): void {
    if (this.at(processor, handle)?.status === 'copy') this.entries.delete(this.key(processor, handle));
  }

  /**
   * Processor `processor` was repaired: it starts a new life with a fresh core. A VM that
   * lived there when it failed is lost with that life's state (and stays, for the run's
   * result); its copies, reservations and departed VMs there are gone.
   */
  repaired(processor: number): void {
    for (const [at, entry] of this.entries) {
      if (entry.processor !== processor || entry.status === 'lost') continue;
      if (entry.status === 'lives') entry.status = 'lost';
      else this.entries.delete(at);
    }
    this.incarnations.set(processor, this.incarnationOf(processor) + 1);
  }

  /** The VM with handle `handle` on `processor`'s current core (any status), for consoles and trace records. */
  at(processor: number, handle: number): DirectoryEntry<T> | undefined {
    return this.entries.get(this.key(processor, handle));
  }

  /** Where the VM named `name` lives now, or was lost with its processor's earlier life. */
  locate(name: string): DirectoryEntry<T> | undefined {
    let lost: DirectoryEntry<T> | undefined;
    for (const entry of this.entries.values()) {
      if (entry.name !== name) continue;
      if (entry.status === 'lives') return entry;
      if (entry.status === 'lost') lost = entry;
    }
    return lost;
  }

  /** The handle of VM `name`'s copy on `processor`, if it has one there. */
  copyOf(name: string, processor: number): number | undefined {
    for (const entry of this.entries.values()) if (entry.name === name && entry.processor === processor && entry.status === 'copy') return entry.handle;
    return undefined;
  }

  /** Every entry of VM `name`, whatever its status. */
  everyEntryOf(name: string): DirectoryEntry<T>[] {
    return [...this.entries.values()].filter((entry) => entry.name === name);
  }

  /** VM `name`'s copies that wait to take over. */
  copiesOf(name: string): DirectoryEntry<T>[] {
    return [...this.entries.values()].filter((entry) => entry.name === name && entry.status === 'copy');
  }

  /** Every VM where it lives now (or was lost with its processor's earlier life). */
  living(): DirectoryEntry<T>[] {
    const names = new Set<string>();
    for (const entry of this.entries.values()) names.add(entry.name);
    return [...names].flatMap((name) => this.locate(name) ?? []);
  }

  /** The name of the VM migration `id` moves (known from its start). */
  nameOf(id: number): string | undefined {
    return this.moving.get(id);
  }

  /** A lifecycle event from processor `processor`'s core. */
  onEvent(processor: number, kind: number, id: number, vm: number): void {
    switch (kind) {
      case CoreEvent.migrationStarted: {
        const entry = this.at(processor, vm);
        if (entry !== undefined) this.moving.set(id, entry.name);
        return;
      }
      case CoreEvent.migrationReserved: {
        const home = this.locateMoving(id);
        if (home !== undefined) this.add({ ...home, processor, handle: vm, status: 'incoming' });
        return;
      }
      case CoreEvent.migrationArrived: {
        const arrived = this.at(processor, vm);
        const home = this.locateMoving(id);
        if (home !== undefined && home !== arrived) home.status = 'departed';
        if (arrived !== undefined) arrived.status = 'lives';
        return;
      }
      case CoreEvent.migrationReleased: {
        const entry = this.at(processor, vm);
        if (entry !== undefined && entry.status === 'departed') this.entries.delete(this.key(processor, vm));
        return;
      }
      case CoreEvent.migrationDropped: {
        const entry = this.at(processor, vm);
        if (entry !== undefined && entry.status === 'incoming') this.entries.delete(this.key(processor, vm));
        return;
      }
    }
  }

  private locateMoving(id: number): DirectoryEntry<T> | undefined {
    const name = this.moving.get(id);
    const entry = name === undefined ? undefined : this.locate(name);
    return entry?.status === 'lives' ? entry : undefined;
  }

  private incarnationOf(processor: number): number {
    return this.incarnations.get(processor) ?? 0;
  }

  /** Adds an entry on its processor's current core. */
  private add(entry: Omit<DirectoryEntry<T>, 'incarnation'>): void {
    const incarnation = this.incarnationOf(entry.processor);
    this.entries.set(this.key(entry.processor, entry.handle), { ...entry, incarnation });
  }

  private key(processor: number, handle: number, incarnation = this.incarnationOf(processor)): string {
    return `${processor}/${incarnation}/${handle}`;
  }
}
