import { defineConfig } from 'vitest/config'

// Unit and property tests run in parallel; e2e tests spawn the built CLI (dist/) and
// are heavier, so they get longer timeouts. `npm test` builds before running vitest.
// The network-namespace lab (test/lab) has its own config: `npm run test:lab`.
// No test measures speed (throughput figures live in bench/), so none needs the machine to itself.
// expect.poll waits for an outcome up to 10 s (vitest's default is 1 s): a generous "did it happen
// at all" bound, for things that take milliseconds on an idle machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/lab/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    expect: { poll: { timeout: 10_000 } },
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
  },
})
