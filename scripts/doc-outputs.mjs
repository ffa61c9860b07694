#!/usr/bin/env node
// Figures in the docs come from real runs: a block between
//   <!-- ferry-output: <ferry arguments> [| from <text>] [| trace] -->
//   ```
//   ...
//   ```
//   <!-- /ferry-output -->
// holds what `ferry <arguments>` printed on stdout (from the first line that starts with
// <text>, when given), or — with `| trace`, where the arguments say `--trace {trace}` —
// the first record of each kind of event in the run's trace, in time order.
// `npm run docs` rewrites every such block; test/doc-outputs.test.ts fails while one is stale.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BLOCK = /<!-- ferry-output: (.+?) -->\n```[a-z]*\n[\s\S]*?```\n<!-- \/ferry-output -->/g;

/** The output a block's spec asks for. */
export function outputOf(spec) {
  const [command, ...filters] = spec.split(' | ').map((part) => part.trim());
  const dir = mkdtempSync(join(tmpdir(), 'ferry-doc-'));
  try {
    const trace = join(dir, 'trace.jsonl');
    const args = command.split(/\s+/).map((arg) => arg.replace('{trace}', trace));
    const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'ferry.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
    if (run.error !== undefined) throw run.error;
    let lines = (filters.includes('trace') ? firstOfEachKind(readFileSync(trace, 'utf8')) : run.stdout).split('\n');
    const from = filters.find((filter) => filter.startsWith('from '));
    if (from !== undefined) {
      const text = JSON.parse(from.slice(5));
      lines = lines.slice(Math.max(0, lines.findIndex((line) => line.startsWith(text))));
    }
    return lines.join('\n').trimEnd();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function firstOfEachKind(trace) {
  const seen = new Set();
  return trace.split('\n').filter((line) => {
    if (line === '') return false;
    const { event } = JSON.parse(line);
    if (seen.has(event)) return false;
    seen.add(event);
    return true;
  }).join('\n');
}

/** `text` with every block filled in from its run. */
export function renderDoc(text) {
  return text.replace(BLOCK, (_match, spec) => `<!-- ferry-output: ${spec} -->\n\`\`\`\n${outputOf(spec)}\n\`\`\`\n<!-- /ferry-output -->`);
}

export function docsWithOutputs() {
  return readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join(ROOT, 'docs', name))
    .filter((path) => readFileSync(path, 'utf8').includes('<!-- ferry-output:'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const path of docsWithOutputs()) {
    const before = readFileSync(path, 'utf8');
    const after = renderDoc(before);
    if (after !== before) { writeFileSync(path, after); console.log(`doc-outputs: rewrote ${path.slice(ROOT.length + 1)}`); }
  }
}
