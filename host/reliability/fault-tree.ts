/**
 * Fault trees: AND, OR and k-of-n gates over basic events with failure
 * probabilities, the events independent of each other (Trivedi §3.7;
 * Vesely et al., "Fault Tree Handbook", NUREG-0492, ch. VII).
 *
 * With every event appearing once the gates combine independent inputs and
 * the top-event probability follows bottom-up. An event that appears in
 * several places makes its branches dependent; the top-event probability is
 * then computed exactly by Shannon expansion on the repeated events,
 * P(top) = q·P(top | e failed) + (1 − q)·P(top | e works), which is what a
 * BDD does node by node. The cost doubles with every repeated event: at most
 * MAX_REPEATED_EVENTS of them.
 */
import { workingCountDistribution } from './combinatorial.js';

export type FaultTree =
  | { kind: 'event'; name: string; probability: number }
  | { kind: 'and'; inputs: FaultTree[] }
  | { kind: 'or'; inputs: FaultTree[] }
  /** Fails when at least k of its inputs fail. */
  | { kind: 'k-of-n'; k: number; inputs: FaultTree[] };

export const MAX_REPEATED_EVENTS = 20;

export const basicEvent = (name: string, probability: number): FaultTree => ({ kind: 'event', name, probability });
export const andGate = (...inputs: FaultTree[]): FaultTree => ({ kind: 'and', inputs });
export const orGate = (...inputs: FaultTree[]): FaultTree => ({ kind: 'or', inputs });
export const kOfNGate = (k: number, inputs: FaultTree[]): FaultTree => ({ kind: 'k-of-n', k, inputs });

/** The probability of the top event, exact also when basic events repeat. */
export function topEventProbability(tree: FaultTree): number {
  const events = eventProbabilities(tree);
  const repeated = [...events.entries()].filter(([, seen]) => seen.count > 1).map(([name]) => name);
  if (repeated.length > MAX_REPEATED_EVENTS) {
    throw new RangeError(`fault tree: ${repeated.length} basic events appear more than once; at most ${MAX_REPEATED_EVENTS} can be expanded`);
  }
  return expand(tree, repeated, 0, new Map(), events);
}

interface SeenEvent { probability: number; count: number }

function eventProbabilities(tree: FaultTree, seen = new Map<string, SeenEvent>()): Map<string, SeenEvent> {
  if (tree.kind === 'event') {
    const known = seen.get(tree.name);
    if (known !== undefined && known.probability !== tree.probability) {
      throw new RangeError(`fault tree: event ${tree.name} appears with probabilities ${known.probability} and ${tree.probability}`);
    }
    seen.set(tree.name, { probability: tree.probability, count: (known?.count ?? 0) + 1 });
    return seen;
  }
  for (const input of tree.inputs) eventProbabilities(input, seen);
  return seen;
}

/** Shannon expansion on repeated[index..], then a bottom-up pass with those events fixed. */
function expand(tree: FaultTree, repeated: string[], index: number, fixedEvents: Map<string, number>, events: Map<string, SeenEvent>): number {
  if (index === repeated.length) return failureProbability(tree, fixedEvents);
  const name = repeated[index]!;
  const q = events.get(name)!.probability;
  const failed = expand(tree, repeated, index + 1, new Map(fixedEvents).set(name, 1), events);
  const works = expand(tree, repeated, index + 1, new Map(fixedEvents).set(name, 0), events);
  return q * failed + (1 - q) * works;
}

function failureProbability(tree: FaultTree, fixedEvents: Map<string, number>): number {
  switch (tree.kind) {
    case 'event': return fixedEvents.get(tree.name) ?? tree.probability;
    case 'and': return tree.inputs.reduce((product, input) => product * failureProbability(input, fixedEvents), 1);
    case 'or': return 1 - tree.inputs.reduce((product, input) => product * (1 - failureProbability(input, fixedEvents)), 1);
    case 'k-of-n': {
      // P(at least k inputs fail): the failed-count distribution of the inputs.
      const dist = workingCountDistribution(tree.inputs.map((input) => failureProbability(input, fixedEvents)));
      return dist.slice(tree.k).reduce((sum, p) => sum + p, 0);
    }
  }
}
