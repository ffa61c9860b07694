// as-pect configuration for the core's unit tests (npm run test:core).
//
// The core imports its board's functions from module "ferry:core/board"
// (docs/core-interface.md). The tests provide `console-write` here and keep what each VM
// wrote, per VM id; the spec files read it back through the "ferry:test" imports
// declared in assembly/__tests__/helpers/console.ts. Every other board import is stubbed.
//
// as-pect compiles with ./as-pect.asconfig.json, which uses tools/aspect-transform.js
// (as-pect's own transform is built for assemblyscript 0.27; see that file).
import Module from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// asc resolves a transform named in an asconfig with require.resolve from the working
// directory, after normalising "./tools/x.js" to the bare "tools/x.js", which Node then
// looks for in node_modules only. Adding the repository root to NODE_PATH lets that bare
// name resolve to the file in this repository (asc runs in this process, after this
// config is loaded).
const root = path.dirname(fileURLToPath(import.meta.url));
process.env.NODE_PATH = [root, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
Module._initPaths();

export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    /** Bytes each VM wrote to its console, by VM id. */
    const consoles = new Map();
    let exportsOfCore = null;
    const bytesOf = (vm) => {
      let bytes = consoles.get(vm);
      if (!bytes) consoles.set(vm, (bytes = []));
      return bytes;
    };
    const board = {
      "console-write"(vm, ptr, len) {
        const view = new Uint8Array(exportsOfCore.memory.buffer, ptr >>> 0, len >>> 0);
        bytesOf(vm >>> 0).push(...view);
      },
    };
    // Whatever else the core imports from the board (trace events, link frames, ...) is
    // accepted and ignored here, so that a new board import does not break every suite.
    const module = await WebAssembly.compile(binary);
    for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
      if (from === "ferry:core/board" && kind === "function" && !(name in board)) board[name] = () => 0;
    }
    const imports = {
      env: { memory },
      "ferry:core/board": board,
      "ferry:test": {
        consoleLength: (vm) => bytesOf(vm >>> 0).length,
        consoleByte: (vm, index) => bytesOf(vm >>> 0)[index >>> 0] ?? -1,
        consoleClear: (vm) => { consoles.set(vm >>> 0, []); },
      },
    };
    const result = await instantiate(binary, createImports(imports));
    exportsOfCore = result.exports;
    return result;
  },
  outputBinary: false,
};
