/**
 * JSON files people write (boards, scenarios), read strictly: UTF-8 only (a UTF-8
 * byte order mark is skipped, UTF-16 is refused by name), no comments, no trailing
 * commas, no key given twice in one object (JSON.parse would silently keep the last),
 * at most MAX_JSON_DEPTH levels deep. A syntax error names its line and column; every
 * value's line is kept so that later problems, found by JSON pointer, can name theirs.
 */
import { ParseErrorCode, printParseErrorCode, visit } from 'jsonc-parser';
import type { JSONPath } from 'jsonc-parser';
import { escapePointer } from './board-schema.js';
import { InputFileError, readInputFile } from './input-file.js';

/** Board and scenario files: a board of the largest size the schema admits is far below this. */
export const MAX_JSON_FILE_BYTES = 4 * 1024 * 1024;
/** Nesting the formats need is 5 levels; far deeper input is refused before it is parsed. */
export const MAX_JSON_DEPTH = 64;

export interface JsonDocument {
  value: unknown;
  /** 1-based line of the value at a JSON pointer ('' the whole document); undefined if there is none, or the text is one line. */
  lineOf(pointer: string): number | undefined;
}

/** What is wrong with the text, without the file's name (the caller adds it). */
export class JsonTextError extends Error {
  override name = 'JsonTextError';
}

/** Reads a JSON file (regular file, at most MAX_JSON_FILE_BYTES); throws InputFileError or JsonTextError. */
export async function readJsonFile(path: string): Promise<JsonDocument> {
  return parseJsonBytes(await readInputFile(path, MAX_JSON_FILE_BYTES));
}

export function parseJsonBytes(bytes: Uint8Array): JsonDocument {
  return parseJsonText(decodeUtf8(bytes));
}

function decodeUtf8(bytes: Uint8Array): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new JsonTextError('UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8');
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start));
  } catch {
    throw new JsonTextError(`not UTF-8 text (invalid byte sequence near offset ${firstInvalidUtf8(bytes, start)})`);
  }
}

/** Offset of the first byte that starts no valid UTF-8 sequence (for the message). */
function firstInvalidUtf8(bytes: Uint8Array, from: number): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let low = from;
  let high = bytes.length;
  // The longest valid prefix, by bisection: decode() of a prefix cut inside a sequence fails too, so step back 3.
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    try {
      decoder.decode(bytes.subarray(from, middle));
      low = middle;
    } catch {
      high = middle - 1;
    }
  }
  return Math.max(from, low);
}

export function parseJsonText(text: string): JsonDocument {
  checkDepth(text);
  const lines = new Map<string, number>();
  let error: string | undefined;
  /** Per open object: its keys and the line each was first given on. */
  const objects: Map<string, number>[] = [];
  const note = (path: JSONPath, line: number): void => {
    const pointer = toPointer(path);
    if (!lines.has(pointer)) lines.set(pointer, line + 1);
  };
  visit(text, {
    onObjectBegin: (_offset, _length, line, _column, path) => { note(path(), line); objects.push(new Map()); },
    onObjectEnd: () => { objects.pop(); },
    onArrayBegin: (_offset, _length, line, _column, path) => note(path(), line),
    onLiteralValue: (_value, _offset, _length, line, _column, path) => note(path(), line),
    onObjectProperty: (property, _offset, _length, line, _column, path) => {
      const keys = objects[objects.length - 1]!;
      const first = keys.get(property);
      if (first !== undefined && error === undefined) {
        error = `${toPointer([...path(), property])}: the key ${JSON.stringify(property)} is given twice in one object (lines ${first} and ${line + 1})`;
      }
      if (first === undefined) keys.set(property, line + 1);
    },
    onError: (code, _offset, _length, line, column) => {
      error ??= `not valid JSON at line ${line + 1}, column ${column + 1}: ${describeParseError(code)}`;
    },
  }, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (error !== undefined) throw new JsonTextError(error);
  // In a file of one line (a generator's output) a line number says nothing.
  const multiline = text.trim().includes('\n');
  return { value: JSON.parse(text) as unknown, lineOf: (pointer) => (multiline ? lines.get(pointer) : undefined) };
}

function describeParseError(code: ParseErrorCode): string {
  switch (code) {
    case ParseErrorCode.InvalidCommentToken: return 'comments are not allowed in JSON';
    case ParseErrorCode.ValueExpected: return 'a value was expected (a comma too many, or nothing at all?)';
    case ParseErrorCode.PropertyNameExpected: return 'a property name in double quotes was expected (a trailing comma?)';
    case ParseErrorCode.CommaExpected: return 'a comma was expected';
    case ParseErrorCode.ColonExpected: return 'a colon was expected';
    case ParseErrorCode.CloseBraceExpected: return 'a closing } was expected';
    case ParseErrorCode.CloseBracketExpected: return 'a closing ] was expected';
    case ParseErrorCode.EndOfFileExpected: return 'the document should have ended (more than one value?)';
    case ParseErrorCode.InvalidSymbol: return 'this is not JSON (single quotes, a bare word, NaN?)';
    case ParseErrorCode.UnexpectedEndOfString: return 'a string is not closed';
    case ParseErrorCode.UnexpectedEndOfComment: return 'a comment is not closed';
    case ParseErrorCode.InvalidCharacter: return 'a control character inside a string (escape it)';
    default: return printParseErrorCode(code);
  }
}

/** Refuses nesting deeper than MAX_JSON_DEPTH, counting brackets outside strings (no recursion). */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new JsonTextError(`nested more than ${MAX_JSON_DEPTH} levels deep at line ${line}`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

function toPointer(path: JSONPath): string {
  return path.map((part) => `/${escapePointer(String(part))}`).join('');
}

export { InputFileError };
