#!/usr/bin/env node
// The ferry CLI: runs the compiled host (build/host/cli.js, from `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cliUrl = new URL('../build/host/cli.js', import.meta.url);
if (!existsSync(cliUrl)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`ferry: error: not built yet: run \`npm run build\` in ${root}\n`);
  process.exit(2);
}

// A reader that stops early (ferry run ... | head) is not the guest's fault:
// drop the rest of the output but finish the run, so the exit status still
// says how the guest ended.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

const { main } = await import(cliUrl.href);
// exitCode, not exit(): let stdout drain what the guest wrote.
process.exitCode = await main(process.argv.slice(2));
