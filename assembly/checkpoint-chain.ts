// Each VM's place in a checkpoint chain: the chain (the digest of its full checkpoint) and
// the sequence number of the checkpoint it was last captured at or restored to. An
// incremental checkpoint is captured only after one of these, and a stream that starts
// with an increment applies only to a VM right before it in the same chain.
import { MAX_VMS } from "./config";
import { Vm } from "./vm";

const known = new StaticArray<bool>(MAX_VMS);
const chainIds = new StaticArray<u32>(MAX_VMS);
const sequences = new StaticArray<u32>(MAX_VMS);

export function setChain(vm: Vm, chainId: u32, sequence: u32): void {
  unchecked(known[vm.id] = true);
  unchecked(chainIds[vm.id] = chainId);
  unchecked(sequences[vm.id] = sequence);
}

export function hasChain(vm: Vm): bool {
  return unchecked(known[vm.id]);
}

export function chainIdOf(vm: Vm): u32 {
  return unchecked(chainIds[vm.id]);
}

export function chainSequenceOf(vm: Vm): u32 {
  return unchecked(sequences[vm.id]);
}
