/**
 * Campaigns on a Redis-backed queue (docs/campaigns.md, "On several machines"), against a
 * real redis-server of the test's own and real `ferry worker` processes running real
 * trials: the results are byte for byte a local run's whatever the workers and failures;
 * a killed worker's batch runs again elsewhere, every trial once; submitting again adds
 * nothing; a worker of another core refuses; a Redis that goes away is a clear error and
 * the campaign resumes once it is back.
 *
 * Needs Debian's redis-server: without it the suite is skipped with a visible message,
 * except under CI=true, where it fails (.ci/run installs it).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryProcess } from './helpers/ferry-process.js';
import { ferryMain } from './helpers/ferry-main.js';
import { freePort, redisMissing, TestRedis } from './helpers/redis-server.js';
import { ROOT } from './helpers/paths.js';
import { inCi } from './helpers/runtime-tools.js';

const SCENARIO = 'scenarios/quad-failover.json';
/** Few trials (each ~0.5 s here): the point is where they run, not how many. */
const TRIALS = 6;
const SEED = 11;

const missing = redisMissing();

/** A results file's lines, sorted by trial (the order trials finished in is not part of the results). */
function sortedRecords(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
  return lines.sort((a, b) => (JSON.parse(a) as { trial: number }).trial - (JSON.parse(b) as { trial: number }).trial);
}

function trialsOf(lines: readonly string[]): number[] {
  return lines.map((line) => (JSON.parse(line) as { trial: number }).trial);
}

/** A copy of this package's build in `dir`/`name`, changed by `change(root)`; returns its bin/ferry.js. */
function copyBuild(dir: string, name: string, change: (root: string) => void): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'build'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'build', 'host'), join(root, 'build', 'host'), { recursive: true });
  cpSync(join(ROOT, 'build', 'core.wasm'), join(root, 'build', 'core.wasm'));
  // The schemas scenario and board files are checked against.
  for (const schemas of ['scenarios', 'boards']) cpSync(join(ROOT, schemas), join(root, schemas), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  change(root);
  return join(root, 'bin', 'ferry.js');
}

/**
 * Another build of Ferry: a core that differs by one custom section (valid WebAssembly,
 * another digest), so its workers must refuse this build's campaigns.
 */
function otherCoreBuild(dir: string): string {
  return copyBuild(dir, 'other-core', (root) => {
    const name = Buffer.from('ferry-test');
    const payload = Buffer.from('another core');
    const section = Buffer.concat([Buffer.from([0, 1 + name.length + payload.length, name.length]), name, payload]);
    writeFileSync(join(root, 'build', 'core.wasm'), Buffer.concat([readFileSync(join(ROOT, 'build', 'core.wasm')), section]));
  });
}

/** A build whose worker threads throw on every batch (as a thread that runs out of memory would): its batches fail every attempt. */
function brokenPoolBuild(dir: string): string {
  return copyBuild(dir, 'broken-pool', (root) => {
    writeFileSync(join(root, 'build', 'host', 'campaign', 'pool-worker.js'), "export default async function runBatch() { throw new Error('the worker thread broke'); }\n");
  });
}

if (missing !== undefined && inCi) {
  describe('queued campaigns (redis-server)', () => {
    it(`needs what CI must install: ${missing}`, () => {
      expect.fail(`${missing}: queued campaigns cannot be tested`);
    });
  });
} else if (missing !== undefined) {
  console.warn(`test/queue.test.ts: SKIPPED: ${missing}`);
  describe('queued campaigns (redis-server)', () => {
    it.skip(`SKIPPED: ${missing}`, () => {});
  });
} else {
  describe('queued campaigns: real Redis, real workers, real trials', () => {
    let dir: string;
    let redis: TestRedis;
    let local: string[];
    const workers: FerryProcess[] = [];

    const campaign = (output: string, ...extra: string[]): FerryProcess => new FerryProcess([
      'campaign', SCENARIO, '--trials', String(TRIALS), '--seed', String(SEED), '--queue', redis.url, '-o', join(dir, output), ...extra,
    ]);
    const startWorker = async (bin?: string): Promise<FerryProcess> => {
      const worker = new FerryProcess(['worker', '--queue', redis.url, '--concurrency', '1'], bin);
      workers.push(worker);
      await worker.waitFor(/serving redis:/);
      return worker;
    };
    const statusJson = async (): Promise<{ campaigns: { done: { batches: number; trials: number }; failed: { batches: number } }[] }> => {
      const exit = await new FerryProcess(['campaign', 'status', '--queue', redis.url, '--json']).exited;
      expect(exit.status, exit.stderr).toBe(0);
      return JSON.parse(exit.stdout) as never;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-queue-'));
      redis = await TestRedis.start();
      const exit = await new FerryProcess(['campaign', SCENARIO, '--trials', String(TRIALS), '--seed', String(SEED), '--workers', '2', '-o', join(dir, 'local.jsonl')]).exited;
      expect(exit.status, exit.stderr).toBe(0);
      local = sortedRecords(join(dir, 'local.jsonl'));
      expect(trialsOf(local)).toEqual([...Array(TRIALS).keys()]);
    }, 120_000);

    afterAll(async () => {
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
      await redis?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('over 2 worker processes gives the local run\'s records, byte for byte', async () => {
      await startWorker();
      await startWorker();
      const exit = await campaign('two.jsonl', '--batch', '1').exited;
      expect(exit.status, exit.stderr).toBe(0);
      expect(exit.stderr).toMatch(/6 batches of up to 1 trials; 6 new/);
      expect(sortedRecords(join(dir, 'two.jsonl'))).toEqual(local);
    });

    it('submitted again adds nothing and gathers the same records', async () => {
      const before = await statusJson();
      const exit = await campaign('again.jsonl', '--batch', '1').exited;
      expect(exit.status, exit.stderr).toBe(0);
      expect(exit.stderr).toMatch(/6 batches of up to 1 trials; 0 new, 6 already queued or done/);
      expect(sortedRecords(join(dir, 'again.jsonl'))).toEqual(local);
      expect((await statusJson()).campaigns).toEqual(before.campaigns);
    });

    it('a worker killed mid-batch: its batch runs again on the other, every trial once', async () => {
      // Batches of 3 trials: other job ids than above, so the trials run again.
      const run = campaign('killed.jsonl', '--batch', '3');
      const started = /ferry worker [^ ]+: (c[0-9a-f]+-n3-b\d) \([^)]*\) started/;
      const victim = await Promise.race(workers.map(async (worker) => {
        await worker.waitFor(started);
        return worker;
      }));
      const batch = started.exec(victim.stdout)![1]!;
      await victim.stop('SIGKILL');
      const survivor = workers.find((worker) => worker !== victim)!;
      const exit = await run.exited;
      expect(exit.status, exit.stderr).toBe(0);
      // The survivor ran the killed worker's batch (after its lock lapsed).
      expect(survivor.stdout).toMatch(new RegExp(`${batch} \\([^)]*\\) done`));
      const records = sortedRecords(join(dir, 'killed.jsonl'));
      expect(trialsOf(records)).toEqual([...Array(TRIALS).keys()]);
      expect(records).toEqual(local);
      workers.splice(workers.indexOf(victim), 1);
    }, 90_000);

    it('a worker of another core refuses; the campaign reports it, and a rerun with good workers completes', async () => {
      await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGTERM')));
      const other = await startWorker(otherCoreBuild(dir));
      const refused = await campaign('refused.jsonl', '--batch', '2').exited;
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/refuses the batch: its core sha256:[0-9a-f]{64} is not the campaign's sha256:[0-9a-f]{64}/);
      expect(refused.stderr).toMatch(/\(trials? \d+(–\d+)?, seeds? \d+(, \d+)*\) failed/);
      expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(other.stdout).toMatch(/refused/);
      await other.stop('SIGTERM');
      await startWorker();
      const rerun = await campaign('refused.jsonl', '--batch', '2').exited;
      expect(rerun.status, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(/3 failed before and queued again/);
      expect(sortedRecords(join(dir, 'refused.jsonl'))).toEqual(local);
    }, 90_000);

    it('a batch that fails on every attempt is reported with its seeds, not retried forever', async () => {
      await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGTERM')));
      const broken = await startWorker(brokenPoolBuild(dir));
      const failed = await new FerryProcess(['campaign', SCENARIO, '--trials', '1', '--seed', String(SEED), '--queue', redis.url, '-o', join(dir, 'broken.jsonl')]).exited;
      expect(failed.status).toBe(2);
      expect(failed.stderr).toMatch(/batch 0 \(trial 0, seed \d+\) failed \(after 3 attempts\): the worker thread broke/);
      expect(failed.stderr).toMatch(/ferry: error: 1 batch \(1 trial\) failed for good/);
      expect(broken.stdout.match(/failed: the worker thread broke/g)).toHaveLength(3);
      await broken.stop('SIGTERM');
      await startWorker();
    }, 60_000);

    it('Redis stopped mid-campaign: a clear error; the same command resumes once it is back', async () => {
      // Batches of 4 (other jobs than above): the first comes back, the second is still to run.
      const run = campaign('lost.jsonl', '--batch', '4');
      // The first record gathered, then Redis goes away (without persistence: it comes back empty).
      const recordsIn = (path: string): number => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0).length : 0);
      while (recordsIn(join(dir, 'lost.jsonl')) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await redis.stop();
      const lost = await run.exited;
      expect(lost.status).toBe(2);
      expect(lost.stderr).toMatch(/went away; waiting up to \d+ s/);
      expect(lost.stderr).toMatch(/ferry: error: lost Redis at redis:\/\/127\.0\.0\.1:\d+\/0 for \d+ s \(connection refused: is redis-server running there\?\); .*run the same command again/);
      expect(lost.stderr).not.toMatch(/\n\s+at /);
      const kept = recordsIn(join(dir, 'lost.jsonl'));
      expect(kept).toBeLessThan(TRIALS);
      await redis.restart();
      const resumed = await campaign('lost.jsonl', '--batch', '4').exited;
      expect(resumed.status, resumed.stderr).toBe(0);
      // Only the missing trials' batch, queued again (the restarted Redis had lost it).
      expect(kept).toBe(4);
      expect(resumed.stderr).toMatch(/1 batch of up to 4 trials; 1 new/);
      expect(sortedRecords(join(dir, 'lost.jsonl'))).toEqual(local);
    }, 90_000);

    it('refuses a malformed address and an unreachable Redis in one line, exit 2', async () => {
      const cases: [string[], RegExp][] = [
        [['worker', '--queue', 'http://localhost:6379'], /^ferry: error: option '--queue <redis-url>' argument 'http:\/\/localhost:6379' is invalid\. "http:" is not redis:/],
        [['worker', '--queue', 'redis://localhost:6379/99'], /is not a database number/],
        [['campaign', 'status', '--queue', `redis://127.0.0.1:${await freePort()}`], /^ferry: error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0: connection refused/],
        [['campaign', SCENARIO, '--trials', '2', '--seed', '1', '--queue', 'redis://'], /names no host/],
      ];
      for (const [args, message] of cases) {
        // In this process (the same parser and error handling as bin/ferry.js): no node start per case.
        const exit = await ferryMain(args);
        expect(exit.status, exit.stderr).toBe(2);
        expect(exit.stderr).toMatch(message);
        expect(exit.stderr.trim().split('\n')).toHaveLength(1);
      }
    });
  });
}
