import { FerryError } from '../errors.js';

/**
 * A model asked for more than its solver does (too many processors for a
 * dense chain, a horizon too stiff for uniformization): the user's input is
 * beyond a documented limit, so it is reported in one line, not as a bug.
 */
export class ModelLimitError extends FerryError {
  override name = 'ModelLimitError';
}

/** compute(), or undefined with the limit's message added to `notes` when it is beyond a model's limit. */
export function withinModelLimits<T>(compute: () => T, notes: string[]): T | undefined {
  try {
    return compute();
  } catch (error) {
    if (!(error instanceof ModelLimitError)) throw error;
    if (!notes.includes(error.message)) notes.push(error.message);
    return undefined;
  }
}
