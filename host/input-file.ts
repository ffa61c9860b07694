/**
 * Reading the files a user hands Ferry (images, streams, boards, scenarios):
 * regular files only, up to a size cap, so a FIFO, a device or a directory is
 * refused at once instead of hanging or filling memory. The caps are far above
 * any real input (docs/cli.md, "Inputs").
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ConfigError, FerryError, ImageError } from './errors.js';
import { MAX_STREAM_BYTES, MAX_VM_RAM_BYTES } from './numbers.js';
import { formatSize } from './time-units.js';

/** Guest images: an ELF that fills the largest VM, with room for its symbols and debug information. */
export const MAX_IMAGE_FILE_BYTES = MAX_VM_RAM_BYTES + 64 * 1024 * 1024;
/** Checkpoint streams: the most the core's restore accepts. */
export const MAX_STREAM_FILE_BYTES = MAX_STREAM_BYTES;

/** A file that could not be read: `reason` in words ("no such file", "it is a FIFO, not a regular file"). */
export class InputFileError extends FerryError {
  override name = 'InputFileError';

  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: cannot read it (${reason})`);
  }
}

/**
 * The whole file, if it is a regular file of at most `maxBytes`. Opened without
 * blocking (a FIFO with no writer would block the open) and checked on the open
 * handle, so what is read is what was checked.
 */
export async function readInputFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new InputFileError(path, describeFsError(error));
  }
  try {
    const stat = await handle.stat();
    // "it is a directory" alone, as the native firmware and the system say it.
    if (stat.isDirectory()) throw new InputFileError(path, 'it is a directory');
    if (!stat.isFile()) throw new InputFileError(path, `it is ${fileKind(stat)}, not a regular file`);
    if (stat.size > maxBytes) throw new InputFileError(path, `it is ${formatSize(stat.size)}, more than the ${formatSize(maxBytes)} Ferry reads`);
    return await handle.readFile();
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(path, describeFsError(error));
  } finally {
    await handle.close();
  }
}

function fileKind(stat: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The guest image file's bytes; ImageError naming the file if it cannot be read. */
export async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readInputFile(path, MAX_IMAGE_FILE_BYTES);
  } catch (error) {
    if (error instanceof InputFileError) throw new ImageError(`${path}: cannot read the image (${error.reason})`);
    throw error;
  }
}

/** A checkpoint stream file's bytes; ConfigError naming the file if it cannot be read. */
export async function readStreamFile(path: string): Promise<Uint8Array> {
  try {
    return await readInputFile(path, MAX_STREAM_FILE_BYTES);
  } catch (error) {
    if (error instanceof InputFileError) throw new ConfigError(`${path}: cannot read the stream (${error.reason})`);
    throw error;
  }
}

/** A file system error in words: "no such file", "it is a directory", "permission denied", else its code. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  if (code === 'ENAMETOOLONG') return 'the path is too long';
  if (code === 'ELOOP') return 'too many symbolic links';
  return code ?? String(error);
}
