// Each VM's place in a checkpoint chain: the chain (the digest of its full checkpoint) and
// the sequence number of the checkpoint it was last captured at or restored to. An
// incremental checkpoint is captured only after one of these, and a stream that starts
// with an increment applies only to a VM right before it in the same chain.
import { Vm } from "./vm";

export function setChain(vm: Vm, chainId: u32, sequence: u32): void {
  vm.chainKnown = true;
  vm.chainId = chainId;
  vm.chainSequence = sequence;
}

export function hasChain(vm: Vm): bool {
  return vm.chainKnown;
}

export function chainIdOf(vm: Vm): u32 {
  return vm.chainId;
}

export function chainSequenceOf(vm: Vm): u32 {
  return vm.chainSequence;
}
