// Each VM's place in a checkpoint chain: the chain (the digest of its full checkpoint) and
// the sequence number of the checkpoint it was last captured at or restored to. An
// incremental checkpoint is captured only after one of these, and a stream that starts
// with an increment applies only to a VM right before it in the same chain. A VM has two
// chains: the host's checkpoints and replication's (health-monitor: a primary's epochs
// to its backup), which capture independently of each other.
import { Vm } from "./vm";

export const CHAIN_HOST: u32 = 0;
export const CHAIN_REPLICA: u32 = 1;

export function setChain(vm: Vm, chainId: u32, sequence: u32, consumer: u32 = CHAIN_HOST): void {
  if (consumer == CHAIN_HOST) {
    vm.chainKnown = true;
    vm.chainId = chainId;
    vm.chainSequence = sequence;
  } else {
    vm.replicaChainKnown = true;
    vm.replicaChainId = chainId;
    vm.replicaChainSequence = sequence;
  }
}

export function hasChain(vm: Vm, consumer: u32 = CHAIN_HOST): bool {
  return consumer == CHAIN_HOST ? vm.chainKnown : vm.replicaChainKnown;
}

export function chainIdOf(vm: Vm, consumer: u32 = CHAIN_HOST): u32 {
  return consumer == CHAIN_HOST ? vm.chainId : vm.replicaChainId;
}

export function chainSequenceOf(vm: Vm, consumer: u32 = CHAIN_HOST): u32 {
  return consumer == CHAIN_HOST ? vm.chainSequence : vm.replicaChainSequence;
}
