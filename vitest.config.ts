import { defineConfig } from 'vitest/config'

// Unit and property tests run in parallel; e2e tests spawn the built CLI (dist/) and
// are heavier, so they get longer timeouts. `npm test` builds before running vitest.
// The network-namespace lab (test/lab) has its own config: `npm run test:lab`.
// Tests that measure throughput against a baseline (the UDP flood's TCP share) run in a group
// of their own after everything else, so the rest of the suite does not load the machine
// while they measure.
const EXCLUDE = ['test/lab/**', 'node_modules/**']
const MEASURING = ['test/e2e/udp-flood.test.ts']

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Only with --coverage (npm run coverage, test/tools/coverage.mjs merges the spawned CLIs' share).
    coverage: {
      provider: 'v8',
      include: ['{cli,server,client,shared,loadtest}/**/*.ts'],
      reporter: ['json'],
      reportsDirectory: 'coverage/in-process',
      reportOnFailure: true,
    },
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...EXCLUDE, ...MEASURING] } },
      { extends: true, test: { name: 'measuring', include: MEASURING, exclude: EXCLUDE, sequence: { groupOrder: 1 } } },
    ],
  },
})
