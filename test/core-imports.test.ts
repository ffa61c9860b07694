/**
 * The core's components build on each other in one order, bottom to top, and
 * docs/core-interface.md lists it ("The core's components"): every file of assembly/ is
 * listed once, and imports only files listed before it. A new import that goes up — a
 * cycle in the making — or a file missing from the list fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

const ASSEMBLY = join(ROOT, 'assembly');
/** Imports known to go up, each documented under the list, until removed. */
const KNOWN_UPWARD: readonly string[] = [];

function documentedOrder(): string[] {
  const doc = readFileSync(join(ROOT, 'docs', 'core-interface.md'), 'utf8');
  const block = /<!-- core-order -->\n([\s\S]*?)<!-- \/core-order -->/.exec(doc);
  if (block === null) throw new Error('docs/core-interface.md has no <!-- core-order --> list');
  return [...block[1]!.matchAll(/^\d+\. `([a-z0-9-]+)\.ts`/gm)].map((match) => match[1]!);
}

function importsOf(name: string): string[] {
  const source = readFileSync(join(ASSEMBLY, `${name}.ts`), 'utf8');
  return [...source.matchAll(/(?:from|import) "\.\/([a-z0-9-]+)"/g)].map((match) => match[1]!);
}

describe("the core's import order (docs/core-interface.md)", () => {
  const order = documentedOrder();
  const files = readdirSync(ASSEMBLY).filter((file) => file.endsWith('.ts')).map((file) => file.slice(0, -3)).sort();

  it('lists every file of assembly/ once', () => {
    expect([...order].sort()).toEqual(files);
  });

  it('every file imports only files below it', () => {
    const upward: string[] = [];
    for (const [position, name] of order.entries()) {
      for (const imported of importsOf(name)) {
        if (order.indexOf(imported) >= position) upward.push(`${name} -> ${imported}`);
      }
    }
    expect(upward).toEqual(KNOWN_UPWARD);
  });
});
