/**
 * Where a board's VMs can live when some processors have failed: the
 * structure function of the board model (reliability.md, "From a board").
 *
 * A VM whose processor is alive stays there (failover moves only the VMs of a
 * failed processor). The VMs of failed processors must each be re-hosted on a
 * survivor their protection allows (their backup and spares, or any processor
 * when they name none), such that on every survivor
 *   - the VMs' RAM fits its ramBytes,
 *   - their schedule utilisation (sum of window durations / major frame of
 *     the processor the VM was configured on) adds up to at most 1,
 *   - it holds at most MAX_VMS_PER_PROCESSOR VMs.
 * That is bin packing in two dimensions, solved exactly by backtracking
 * (first fit decreasing order, so the first answer comes fast), for each set
 * of failed processors, at most MAX_MODEL_PROCESSORS processors (2^16 sets).
 * The result is monotone: if the board survives a set of failures it survives
 * every subset, since fewer failures displace fewer VMs onto more survivors.
 */
import { ModelLimitError } from './model-limit-error.js';

/** A processor as the model sees it. */
export interface ModelProcessor {
  id: number;
  ramBytes: number;
  /** Failures per second. */
  failureRatePerS: number;
  /** Mean time to repair; undefined: never repaired. */
  repairTimeS?: number;
}

/** A VM as the model sees it. */
export interface ModelVm {
  name: string;
  memoryBytes: number;
  /** The processor it is configured on. */
  processor: number;
  /** Sum of its window durations / its processor's major frame (0 without windows: the default schedule shares the frame). */
  utilisation: number;
  /** false: its policy is "none" (it is lost with its processor). */
  relocatable: boolean;
  /** Processors it may fail over to, in order of preference (backup first); undefined: any survivor. */
  allowed?: number[];
}

export interface BoardModelInput {
  processors: ModelProcessor[];
  vms: ModelVm[];
}

export const MAX_MODEL_PROCESSORS = 16;
export const MAX_VMS_PER_HOST = 16;
/** Utilisation sums are ratios of integers: allow rounding, not overload. */
const UTILISATION_SLACK = 1e-9;

/** VM index → processor index, or undefined where the VM is lost. */
export type Placement = (number | undefined)[];

/** Answers "is the board up with the processors in `failedMask` down, and where are the VMs then?". */
export class PlacementSearch {
  private readonly cache = new Map<number, Placement | null>();
  private readonly indexOfId: Map<number, number>;
  /** For ordering VMs by size: RAM as a share of the largest processor's. */
  private readonly largestRamBytes: number;

  constructor(readonly input: BoardModelInput) {
    if (input.processors.length > MAX_MODEL_PROCESSORS) {
      throw new ModelLimitError(`the board model enumerates sets of failed processors: at most ${MAX_MODEL_PROCESSORS} processors, not ${input.processors.length}`);
    }
    this.indexOfId = new Map(input.processors.map((processor, index) => [processor.id, index]));
    this.largestRamBytes = Math.max(...input.processors.map((processor) => processor.ramBytes));
  }

  get processorCount(): number {
    return this.input.processors.length;
  }

  processorIndex(id: number): number {
    const index = this.indexOfId.get(id);
    if (index === undefined) throw new RangeError(`no processor with id ${id} in the model`);
    return index;
  }

  /** A placement of every VM with the failed processors down; null if there is none. Deterministic. */
  placement(failedMask: number): Placement | null {
    let found = this.cache.get(failedMask);
    if (found === undefined) {
      found = this.search(failedMask);
      this.cache.set(failedMask, found);
    }
    return found;
  }

  isUp(failedMask: number): boolean {
    return this.placement(failedMask) !== null;
  }

  /** Does processor `index` hold a VM in the placement for `failedMask`? (Its failure then needs a failover.) */
  hosts(failedMask: number, index: number): boolean {
    return this.placement(failedMask)?.includes(index) ?? false;
  }

  /** Static mapping: the processors that hold VMs as configured. */
  homeMask(): number {
    return this.input.vms.reduce((mask, vm) => mask | (1 << this.processorIndex(vm.processor)), 0);
  }

  private search(failedMask: number): Placement | null {
    const { processors, vms } = this.input;
    const placement: Placement = vms.map((vm) => this.processorIndex(vm.processor));
    const load = processors.map(() => ({ bytes: 0, utilisation: 0, vms: 0 }));
    const displaced: number[] = [];
    vms.forEach((vm, v) => {
      const home = placement[v]!;
      if ((failedMask >> home) & 1) displaced.push(v);
      else addLoad(load[home]!, vm, 1);
    });
    if (displaced.some((v) => !vms[v]!.relocatable)) return null;
    // Largest first: the hard VMs fail fast (first fit decreasing).
    const size = (vm: ModelVm): number => vm.memoryBytes / this.largestRamBytes + vm.utilisation;
    displaced.sort((a, b) => size(vms[b]!) - size(vms[a]!) || a - b);
    return this.pack(displaced, 0, placement, load, failedMask) ? placement : null;
  }

  private pack(displaced: number[], next: number, placement: Placement, load: Load[], failedMask: number): boolean {
    if (next === displaced.length) return true;
    const v = displaced[next]!;
    const vm = this.input.vms[v]!;
    for (const target of this.candidates(vm, failedMask)) {
      if (!fits(load[target]!, vm, this.input.processors[target]!)) continue;
      addLoad(load[target]!, vm, 1);
      placement[v] = target;
      if (this.pack(displaced, next + 1, placement, load, failedMask)) return true;
      addLoad(load[target]!, vm, -1);
    }
    placement[v] = undefined;
    return false;
  }

  private candidates(vm: ModelVm, failedMask: number): number[] {
    const ids = vm.allowed ?? this.input.processors.map((processor) => processor.id);
    return ids.map((id) => this.processorIndex(id)).filter((index) => !((failedMask >> index) & 1));
  }
}

interface Load { bytes: number; utilisation: number; vms: number }

function addLoad(load: Load, vm: ModelVm, sign: 1 | -1): void {
  load.bytes += sign * vm.memoryBytes;
  load.utilisation += sign * vm.utilisation;
  load.vms += sign;
}

function fits(load: Load, vm: ModelVm, processor: ModelProcessor): boolean {
  return load.bytes + vm.memoryBytes <= processor.ramBytes
    && load.utilisation + vm.utilisation <= 1 + UTILISATION_SLACK
    && load.vms + 1 <= MAX_VMS_PER_HOST;
}
