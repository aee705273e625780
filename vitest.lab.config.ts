import { defineConfig } from 'vitest/config'

// The lab suite: real network namespaces (root). One lab at a time, so files run in sequence.
export default defineConfig({
  test: {
    include: ['test/lab/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
})
