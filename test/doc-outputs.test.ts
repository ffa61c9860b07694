/**
 * Figures the docs quote come from real runs (scripts/doc-outputs.mjs): every
 * `<!-- ferry-output: … -->` block holds what that ferry command prints today.
 * `npm run docs` rewrites a stale one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasCore } from './helpers/paths.js';

interface DocOutputs {
  docsWithOutputs(): string[];
  renderDoc(text: string): string;
}

const tool = (await import('../scripts/doc-outputs.mjs' as string)) as DocOutputs;

describe.skipIf(!hasCore())('docs quote what Ferry prints', () => {
  for (const path of tool.docsWithOutputs()) {
    it(`${path.replace(/^.*\/docs\//, 'docs/')}: every ferry-output block matches a run (npm run docs rewrites it)`, () => {
      const text = readFileSync(path, 'utf8');
      expect(tool.renderDoc(text)).toBe(text);
    }, 60_000);
  }
});
