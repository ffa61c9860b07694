#!/usr/bin/env node
/**
 * Builds the core as a WebAssembly component and transpiles it for Node:
 *
 *   build/core.wasm (release, camelCase exports)
 *     → check the core's imports and every world export's lowered signature
 *       against wit/ferry.wit (a mismatch stops the build, saying what to fix)
 *     → rename the world's exports to their kebab-case names (vmLoad → vm-load),
 *       add the checkpoint-read adapter, leave out the core exports the world
 *       lacks (and say which)
 *     → jco componentEmbed (world ferry:core/core) + componentNew
 *     → build/component/ferry-core.component.wasm
 *     → jco transpile (async instantiation: one instance per processor)
 *     → build/component/js/ferry-core.js (+ .core.wasm, .d.ts)
 *
 * jco's JS API is used instead of its CLI: the 1.35 `embed` command crashes
 * (docs/runtimes.md). Usage: node scripts/build-component.mjs [core.wasm] [out-dir]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { componentEmbed, componentNew, transpile } from '@bytecodealliance/jco';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WIT_DIR = join(ROOT, 'wit');
const WIT_FILE = join(WIT_DIR, 'ferry.wit');
const WORLD = 'core';
const BOARD_MODULE = 'ferry:core/board';
const COMPONENT_NAME = 'ferry-core';
/** Core exports the canonical ABI itself uses: kept as they are. */
const ABI_EXPORTS = new Set(['memory', 'cabi_realloc']);

const corePath = process.argv[2] ?? join(ROOT, 'build', 'core.wasm');
const outDir = process.argv[3] ?? join(ROOT, 'build', 'component');

class BuildError extends Error {}

async function main() {
  const witSource = readFileSync(WIT_FILE, 'utf8');
  const wit = parseWit(witSource);
  const renamed = renameExports(readFileSync(corePath), wit);

  const embedded = await componentEmbed({ binary: renamed, witSource, world: WORLD });
  const component = await componentNew(embedded);
  // Written to a private directory, then swapped in by renames: tests running the
  // component while another build runs see the old build or the new, not half of one.
  const staging = `${outDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'js'), { recursive: true });
  writeFileSync(join(staging, `${COMPONENT_NAME}.component.wasm`), component);

  const { files } = await transpile(component, {
    name: COMPONENT_NAME,
    instantiation: 'async',
    quiet: true,
  });
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(staging, 'js', name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, name === `${COMPONENT_NAME}.js` ? cacheDebugFlag(new TextDecoder().decode(bytes)) : bytes);
  }
  const old = `${outDir}.old-${process.pid}`;
  if (existsSync(outDir)) renameSync(outDir, old);
  renameSync(staging, outDir);
  rmSync(old, { recursive: true, force: true });
  const componentPath = join(outDir, `${COMPONENT_NAME}.component.wasm`);
  process.stdout.write(`build:component: ${relative(ROOT, componentPath)} (${component.length} bytes), ${relative(ROOT, join(outDir, 'js'))}/${COMPONENT_NAME}.js\n`);
}

/**
 * jco 1.35's glue calls _debugLog about twenty times per export call, and each
 * call reads process.env.JCO_DEBUG (a C++ property getter): 4-5 µs per call into
 * the core, where the plain module takes 0.03. Reading the flag once per instance
 * makes it ~1.8 µs (the rest is jco's task bookkeeping). This matters to boards,
 * which call every processor's core several times per short quantum; `ferry run`
 * calls it once per million cycles. Left as generated if jco's code changes.
 */
function cacheDebugFlag(js) {
  const generated = `  const _debugLog = (...args) => {
    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }`;
  if (!js.includes(generated)) {
    process.stdout.write('build:component: note: jco\'s _debugLog has changed; its JCO_DEBUG check is left as generated\n');
    return js;
  }
  return js.replace(generated, `  const _jcoDebug = Boolean(globalThis?.process?.env?.JCO_DEBUG); // read once (scripts/build-component.mjs)
  const _debugLog = (...args) => {
    if (!_jcoDebug) { return; }`);
}

// --- WIT: just enough of the grammar for this world ----------------------------

/**
 * The board interface's functions and the world's exported functions, each
 * with its lowered (core wasm) signature. Handles the types the world uses:
 * integers, bool, char, f32/f64 and list<…>/string (a pointer and a length).
 */
function parseWit(source) {
  const text = source.replace(/\/\/.*$/gm, '');
  const board = block(text, /\binterface\s+board\s*\{/, 'interface board');
  const world = block(text, new RegExp(`\\bworld\\s+${WORLD}\\s*\\{`), `world ${WORLD}`);
  const imports = new Map();
  for (const match of board.matchAll(/([a-z][a-z0-9-]*)\s*:\s*func\s*\(([^)]*)\)\s*(?:->\s*([^;]+))?;/g)) {
    imports.set(match[1], lowered(match[1], match[2], match[3]));
  }
  const exports = new Map();
  for (const match of world.matchAll(/\bexport\s+([a-z][a-z0-9-]*)\s*:\s*func\s*\(([^)]*)\)\s*(?:->\s*([^;]+))?;/g)) {
    exports.set(match[1], lowered(match[1], match[2], match[3]));
  }
  if (exports.size === 0) throw new BuildError(`${relative(ROOT, WIT_FILE)}: world ${WORLD} exports no functions`);
  return { imports, exports };
}

function block(text, opening, what) {
  const match = opening.exec(text);
  if (match === null) throw new BuildError(`${relative(ROOT, WIT_FILE)}: no ${what} { ... }`);
  let depth = 1;
  for (let i = match.index + match[0].length; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(match.index + match[0].length, i);
  }
  throw new BuildError(`${relative(ROOT, WIT_FILE)}: unclosed ${match[0]}`);
}

const FLAT_TYPES = {
  bool: ['i32'], u8: ['i32'], s8: ['i32'], u16: ['i32'], s16: ['i32'], u32: ['i32'], s32: ['i32'], char: ['i32'],
  u64: ['i64'], s64: ['i64'], f32: ['f32'], f64: ['f64'], string: ['i32', 'i32'],
};

function flatType(name, type) {
  const t = type.trim();
  if (/^list\s*</.test(t)) return ['i32', 'i32'];
  const flat = FLAT_TYPES[t];
  if (flat === undefined) throw new BuildError(`${relative(ROOT, WIT_FILE)}: ${name}: type ${t} is not handled by scripts/build-component.mjs`);
  return flat;
}

/** Splits "a: u32, b: list<u8>" at top-level commas. */
function params_(list) {
  const parts = [];
  let depth = 0;
  let current = '';
  for (const char of list) {
    if (char === '<') depth++;
    if (char === '>') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  if (current.trim() !== '') parts.push(current);
  return parts.map((part) => {
    const [param, type] = part.split(':');
    if (type === undefined) throw new BuildError(`${relative(ROOT, WIT_FILE)}: bad parameter "${part.trim()}"`);
    return { name: param.trim(), type: type.trim() };
  });
}

/** The canonical ABI's flattening: at most 16 flat parameters and 1 flat result, else a pointer. */
const MAX_FLAT_PARAMS = 16;
const MAX_FLAT_RESULTS = 1;

function lowered(name, paramList, result) {
  const wit = `${name}: func(${paramList.replace(/\s+/g, ' ').trim()})${result ? ` -> ${result.trim()}` : ''}`;
  let params = params_(paramList).flatMap((p) => flatType(name, p.type));
  if (params.length > MAX_FLAT_PARAMS) params = ['i32'];
  let results = result ? flatType(name, result) : [];
  // A list result comes back as a pointer to its (ptr, len) pair in core memory.
  if (results.length > MAX_FLAT_RESULTS) results = ['i32'];
  return { wit, params, results };
}

// --- The core module: rename, filter, check ------------------------------------

const kebabToCamel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * World exports whose core function does not have the canonical ABI's shape,
 * each with the glue this build adds to the component's core module:
 *
 * checkpoint-read -> list<u8>: the core's checkpointRead(maxBytes) moves up to
 * maxBytes stream bytes to the start of the staging buffer and returns the
 * count (the plain-module host reads them there). The canonical ABI wants a
 * pointer to the list's (ptr, len) pair: the adapter keeps the last 8 bytes of
 * the staging buffer for that pair, reads at most stagingBytes - 8 and returns
 * the pair (stagingBuffer, count).
 */
const ADAPTERS = {
  'checkpoint-read': {
    uses: ['checkpointRead', 'stagingBuffer', 'stagingBytes'],
    add(module, fn) {
      const { i32 } = binaryen;
      const get = (index) => module.local.get(index, i32);
      // param 0 maxBytes; locals: 1 staging, 2 limit (stagingBytes - 8), 3 pair
      const body = module.block(null, [
        module.local.set(1, module.call(fn.stagingBuffer, [], i32)),
        module.local.set(2, module.i32.sub(module.call(fn.stagingBytes, [], i32), module.i32.const(8))),
        module.local.set(3, module.i32.add(get(1), get(2))),
        module.i32.store(0, 4, get(3), get(1)),
        module.i32.store(4, 4, get(3), module.call(fn.checkpointRead, [module.select(module.i32.lt_u(get(0), get(2)), get(0), get(2))], i32)),
        get(3),
      ], i32);
      const name = 'ferry-component-adapter/checkpoint-read';
      module.addFunction(name, binaryen.createType([i32]), i32, [i32, i32, i32], body);
      return name;
    },
  },
};

function valueTypes(type) {
  const names = new Map([
    [binaryen.i32, 'i32'], [binaryen.i64, 'i64'], [binaryen.f32, 'f32'], [binaryen.f64, 'f64'],
  ]);
  return binaryen.expandType(type).map((t) => names.get(t) ?? `type ${t}`);
}

function signature(module, functionName) {
  const info = binaryen.getFunctionInfo(module.getFunction(functionName));
  return { params: valueTypes(info.params), results: valueTypes(info.results) };
}

const show = (sig) => `(${sig.params.join(', ')}) -> (${sig.results.join(', ')})`;
const sameSignature = (a, b) => show(a) === show(b);

function renameExports(bytes, wit) {
  // The features asc enables (bulk memory, sign extension, ...) must be allowed to round-trip.
  const module = binaryen.readBinaryWithFeatures(bytes, binaryen.Features.All);
  try {
    const problems = [];
    checkImports(module, wit, problems);

    const coreExports = new Map();
    for (let i = 0; i < module.getNumExports(); i++) {
      const info = binaryen.getExportInfo(module.getExportByIndex(i));
      coreExports.set(info.name, info);
    }
    const used = new Set(ABI_EXPORTS);
    const renamed = [];
    for (const [kebab, expected] of wit.exports) {
      const adapter = ADAPTERS[kebab];
      if (adapter !== undefined) {
        const fn = {};
        for (const name of adapter.uses) {
          const info = coreExports.get(name);
          if (info === undefined || info.kind !== binaryen.ExternalFunction) {
            problems.push(`wit/ferry.wit exports ${kebab}, whose adapter needs the core's ${name}, which it lacks`);
          } else fn[name] = info.value;
        }
        if (Object.keys(fn).length !== adapter.uses.length) continue;
        const internal = adapter.add(module, fn);
        const actual = signature(module, internal);
        if (!sameSignature(actual, expected)) problems.push(`the adapter for ${kebab} is ${show(actual)}, the WIT wants ${show(expected)}`);
        for (const name of adapter.uses) used.add(name);
        renamed.push([internal, kebab, undefined]);
        continue;
      }
      const camel = kebabToCamel(kebab);
      const info = coreExports.get(camel);
      if (info === undefined || info.kind !== binaryen.ExternalFunction) {
        problems.push(`wit/ferry.wit exports ${kebab}, but the core has no function ${camel}: remove it from the world or add it to assembly/index.ts`);
        continue;
      }
      const actual = signature(module, info.value);
      if (!sameSignature(actual, expected)) {
        problems.push(`${kebab} lowers to ${show(expected)} in wit/ferry.wit (${expected.wit}), but the core's ${camel} is ${show(actual)}: update the WIT`);
        continue;
      }
      used.add(camel);
      renamed.push([info.value, kebab, camel]);
    }
    if (problems.length > 0) throw new BuildError(`the core and wit/ferry.wit disagree:\n  ${problems.join('\n  ')}`);

    // Only the world's exports (and the canonical ABI's own) stay in the component's core module.
    for (const name of coreExports.keys()) {
      if (!ABI_EXPORTS.has(name)) module.removeExport(name);
    }
    for (const [internal, kebab] of renamed) module.addFunctionExport(internal, kebab);
    const left = [...coreExports.keys()].filter((name) => !used.has(name));
    if (left.length > 0) {
      process.stdout.write(`build:component: core exports not in the WIT world, left out of the component: ${left.join(', ')}\n`);
    }
    if (!module.validate()) throw new BuildError('the renamed core module does not validate');
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

function checkImports(module, wit, problems) {
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (!info.module) continue;
    if (info.module !== BOARD_MODULE) {
      problems.push(`the core imports ${info.module}.${info.base}; a component core may import only ${BOARD_MODULE}`);
      continue;
    }
    const expected = wit.imports.get(info.base);
    const actual = { params: valueTypes(info.params), results: valueTypes(info.results) };
    if (expected === undefined) problems.push(`the core imports ${info.base}, which interface board in wit/ferry.wit lacks: add it`);
    else if (!sameSignature(actual, expected)) {
      problems.push(`import ${info.base} lowers to ${show(expected)} in wit/ferry.wit (${expected.wit}), but the core declares ${show(actual)}: update the WIT`);
    }
  }
}

try {
  await main();
} catch (error) {
  if (!(error instanceof BuildError)) throw error;
  process.stderr.write(`build:component: ${error.message}\n`);
  process.exit(1);
}
