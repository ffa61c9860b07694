import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Only the host suites: as-pect's spec files in assembly/__tests__ are
    // AssemblyScript and run under `npm run test:core`.
    include: ['test/**/*.test.ts'],
    // The CLI suites spawn bin/ferry.js, which runs the compiled host:
    // rebuild it first when host/ is newer than build/host/.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
