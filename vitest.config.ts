import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The examples import the package by name; their tests run against the sources (CI also
    // type-checks them against the built package).
    alias: [
      { find: /^code-interpreter-session\/testing$/, replacement: src('testing/index.ts') },
      { find: /^code-interpreter-session\/redis$/, replacement: src('redis/index.ts') },
      { find: /^code-interpreter-session\/ai-sdk$/, replacement: src('integrations/ai-sdk.ts') },
      { find: /^code-interpreter-session\/agents$/, replacement: src('integrations/agents.ts') },
      { find: /^code-interpreter-session$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    // The skipped-tests reporter names every skipped test (the Redis tests, when there is no Redis).
    reporters: ['default', './test/setup/skipped-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
