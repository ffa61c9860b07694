/**
 * Errors the host reports to a user as one line (`ferry: error: ...`, exit
 * status 2): the input was wrong, not the program. Anything else that escapes
 * is a bug in ferry and is reported as an internal error.
 */
export class FerryError extends Error {
  override name = 'FerryError';
}

/** The guest image is not something ferry can run (format, machine, layout). */
export class ImageError extends FerryError {
  override name = 'ImageError';
}

/** A board file is missing, unreadable, not JSON, or has unusable values. */
export class BoardError extends FerryError {
  override name = 'BoardError';
}

/** A run option is out of range (RAM size, clock, cycle limits). */
export class ConfigError extends FerryError {
  override name = 'ConfigError';
}

/** The core could not be loaded (not built, or built from another interface). */
export class CoreLoadError extends FerryError {
  override name = 'CoreLoadError';
}

/**
 * The core refused a call the host had already validated: host and core
 * disagree, which is a bug rather than bad input.
 */
export class CoreError extends Error {
  override name = 'CoreError';
}

const SBI_ERROR_NAMES: Record<number, string> = {
  [-1]: 'failed',
  [-2]: 'not supported',
  [-3]: 'invalid parameter',
  [-4]: 'denied',
  [-5]: 'invalid address',
  [-6]: 'already available',
  [-7]: 'already started',
  [-8]: 'already stopped',
  [-10]: 'invalid state',
  [-11]: 'bad range',
  [-12]: 'timeout',
  [-13]: 'io',
};

/** "SBI error -11 (bad range)": the core returns SBI error codes. */
export function describeSbiError(code: number): string {
  const name = SBI_ERROR_NAMES[code];
  return name === undefined ? `SBI error ${code}` : `SBI error ${code} (${name})`;
}
