import { expect } from 'vitest';
import { InvalidOptionsError } from '../../src/index.js';

/** The `InvalidOptionsError` that `make` throws (fails the test if it throws anything else, or nothing). */
export function refusal(make: () => unknown): InvalidOptionsError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error('expected an InvalidOptionsError, but the options were accepted');
}
