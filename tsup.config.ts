import { defineConfig, type Options } from 'tsup';

// Peers stay peers: bundling them would give users two copies of the OpenAI client, msw or ioredis.
const external = ['openai', 'msw', 'ioredis', 'commander', 'ai', '@ai-sdk/openai', '@openai/agents'];

const library: Options = {
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    redis: 'src/redis/index.ts',
    'ai-sdk': 'src/integrations/ai-sdk.ts',
    agents: 'src/integrations/agents.ts',
  },
  sourcemap: true,
  target: 'node22',
  external,
};

export default defineConfig([
  { ...library, format: ['esm'], dts: true, clean: true },
  {
    ...library,
    format: ['cjs'],
    dts: true,
    // p-retry is ESM-only. `require()` of it returns its module namespace, which the CJS interop
    // helper mistakes for the default export, so the CJS build carries its own copy.
    noExternal: ['p-retry', 'is-network-error'],
  },
  {
    // The command line tool: ESM only, with its shebang.
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node22',
    external,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
