/**
 * Ctrl-C during a run: the run ends at its next quantum boundary, as if its time were up —
 * the summary is printed, the trace gets its end record and is kept — and Ferry exits
 * with 130 (128 + SIGINT, what shells expect). The run loops are synchronous, so they
 * let the event loop turn now and then (pauseForSignals) for the signal to be seen.
 */

/** The exit status of a run ended by Ctrl-C. */
export const INTERRUPTED_EXIT_STATUS = 130;

/** How many quanta a run loop goes between two looks at the event loop. */
const QUANTA_BETWEEN_LOOKS = 256;

/** Ctrl-C came while the CLI listened. */
let requested = false;

/** Has Ctrl-C come? (The CLI's commands hand this to the run loops as their `interrupted`.) */
export function interruptRequested(): boolean {
  return requested;
}

/**
 * Listens for SIGINT while `action` runs (the CLI, around a command); a second Ctrl-C
 * while the first is being served ends the process at once.
 */
export async function withInterruptListener<T>(action: () => Promise<T>): Promise<T> {
  requested = false;
  const onSignal = (): void => {
    if (requested) process.exit(INTERRUPTED_EXIT_STATUS);
    requested = true;
  };
  process.on('SIGINT', onSignal);
  try {
    return await action();
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** Lets pending signals be delivered every QUANTA_BETWEEN_LOOKS calls (quantum `step`). */
export async function pauseForSignals(step: number): Promise<void> {
  if (step % QUANTA_BETWEEN_LOOKS === 0) await new Promise((resolve) => setImmediate(resolve));
}
