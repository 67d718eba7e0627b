import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Real sockets and servers: keep runs on a 2-core CI predictable.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
