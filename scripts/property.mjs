#!/usr/bin/env node
// Runs the guarantees' property test (test/guarantees-property.test.ts) on other seeds
// than the suite's 0-199:
//   npm run property -- --seeds 2000            seeds 0-1999
//   npm run property -- --from 1000 --seeds 500 seeds 1000-1499
//   npm run property -- --seed 17               seed 17 alone
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seed: { type: 'string' }, seeds: { type: 'string' }, from: { type: 'string' } } });
const count = (text, name) => {
  if (!/^\d+$/.test(text)) { console.error(`property: --${name} must be a whole number, not ${text}`); process.exit(2); }
  return text;
};
const from = values.seed !== undefined ? count(values.seed, 'seed') : count(values.from ?? '0', 'from');
const seeds = values.seed !== undefined ? '1' : count(values.seeds ?? '200', 'seeds');
const result = spawnSync('npx', ['vitest', 'run', 'test/guarantees-property.test.ts'], {
  stdio: 'inherit', env: { ...process.env, FERRY_PROPERTY_FROM: from, FERRY_PROPERTY_SEEDS: seeds },
});
process.exit(result.status ?? 1);
