/**
 * The report in a real browser: Debian's chromium, driven by playwright-core,
 * opens report/index.html by file://. Every plot must render with a non-zero
 * size, the page must log no console error and throw no page error, and a
 * screenshot is written (build/report-check/screenshot.png, beside the report).
 *
 * Without chromium the suite is skipped with a visible message, except under
 * CI=true, where it fails: .ci/run installs it.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { boardModelInput } from '../host/reliability/board-input.js';
import { writeReport } from '../host/report/write-report.js';
import { ROOT } from './helpers/paths.js';
import { writeQuadSpare } from './helpers/reliability-board.js';
import { syntheticCampaign } from './helpers/synthetic-records.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'build', 'report-check');
const inCi = process.env['CI'] === 'true';
const hasChromium = existsSync(CHROMIUM);

if (!hasChromium && inCi) {
  describe('the report in a browser', () => {
    it('needs chromium, which CI must install (apt-get install chromium)', () => {
      expect.fail(`${CHROMIUM} not found: the report cannot be checked in a browser`);
    });
  });
} else {
  describe.skipIf(!hasChromium)(`the report in a browser (chromium)${hasChromium ? '' : ' — SKIPPED: /usr/bin/chromium not found (apt-get install chromium)'}`, () => {
    it('renders every plot with a non-zero size, without console or page errors, and leaves a screenshot', async () => {
      mkdirSync(OUT, { recursive: true });
      const { board } = writeQuadSpare(OUT);
      const records = syntheticCampaign({ model: boardModelInput(board, { kind: 'uniform', failureRatePerS: 0.03 }), coverage: 0.9, horizonS: 10, trials: 1000, seed: 5, scenario: 'quad-spare' });
      const report = await writeReport(records, { resultsPath: 'results.jsonl', board, outDir: OUT });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const problems: string[] = [];
        page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        page.on('request', (request) => { if (!request.url().startsWith('file:')) problems.push(`request: ${request.url()}`); });
        await page.goto(pathToFileURL(report.indexPath).href, { waitUntil: 'load' });
        const boxes = await page.$$eval('figure .plot svg', (svgs) => svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          return { id: svg.closest('figure')?.id ?? '?', width: box.width, height: box.height, marks: svg.querySelectorAll('path, line, rect').length };
        }));
        expect(boxes.map((box) => box.id)).toEqual(['reliability-simulated', 'reliability-mission', 'interruption', 'lost-work', 'detection-latency', 'worst-trial']);
        for (const box of boxes) {
          expect(box.width, box.id).toBeGreaterThan(100);
          expect(box.height, box.id).toBeGreaterThan(100);
          expect(box.marks, box.id).toBeGreaterThan(10);
        }
        expect(await page.textContent('h1')).toMatch(/^Migration takes R\(10 y\) from 0\.\d+ to 0\.\d+$/);
        const screenshot = join(OUT, 'screenshot.png');
        await page.screenshot({ path: screenshot, fullPage: true });
        expect(statSync(screenshot).size).toBeGreaterThan(10_000);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  });
}
