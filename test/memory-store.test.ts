import { describe } from 'vitest';
import { MemorySessionStore } from '../src/index.js';
import { storeContract } from './helpers/store-contract.js';

describe('MemorySessionStore', () => {
  storeContract(() => new MemorySessionStore({ tombstoneTtlMs: 100 }), { tombstoneTtlMs: 100 });
});
