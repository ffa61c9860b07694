/**
 * The exit statuses are a contract in three places that must agree: the table in
 * host/commands/exit-status.ts, each command's --help, and docs/cli.md. And the docs
 * show the one spelling of times (--duration 2s), not the older ones.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_STATUSES } from '../host/commands/exit-status.js';
import { ferryMain } from './helpers/ferry-main.js';
import { ROOT } from './helpers/paths.js';

/** docs/cli.md's table under "### ferry <command>": [status, meaning] rows. */
function documentedStatuses(command: string): [number, string][] {
  const text = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const section = text.split(/^### /m).find((part) => part.startsWith(`ferry ${command}\n`));
  if (section === undefined) return [];
  return [...section.matchAll(/^\| (\d+) \| (.*) \|$/gm)].map((row) => [Number(row[1]), row[2]!.replaceAll('\\|', '|')]);
}

describe('exit statuses', () => {
  for (const [command, rows] of Object.entries(EXIT_STATUSES)) {
    it(`ferry ${command}: docs/cli.md lists the same statuses and meanings`, () => {
      expect(documentedStatuses(command)).toEqual(rows.map(([status, meaning]) => [status, meaning]));
    });

    it(`ferry ${command} --help ends with every status`, async () => {
      const help = await ferryMain([command, '--help']);
      expect(help.status).toBe(0);
      const block = help.stdout.slice(help.stdout.lastIndexOf('\nExit status:\n'));
      const listed = [...block.matchAll(/^ {2}(\d+) +/gm)].map((match) => Number(match[1]));
      expect(listed).toEqual(rows.map(([status]) => status));
      // Every line of the help stays within 80 columns (commander wraps the options; the table wraps itself).
      for (const line of block.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    });
  }

  it('every command the program has is in the table', async () => {
    const help = await ferryMain(['--help']);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z]+) \[options\]/gm)].map((match) => match[1]);
    expect(commands.length).toBeGreaterThan(5);
    for (const command of commands) expect(Object.keys(EXIT_STATUSES)).toContain(command);
  });
});

describe('the docs write times with units', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];
  it.each(files)('%s shows --duration <time>, not --duration-ms (outside the paragraph on older spellings)', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const uses = text.split(/\n\s*\n/).filter((paragraph) => /--duration-ms|--affordable-ns|--prepage-ns/.test(paragraph) && !/older spelling/.test(paragraph));
    expect(uses).toEqual([]);
  });
});
