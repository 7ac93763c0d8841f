import { randomBytes } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function base62(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += BASE62[byte % 62];
  return out;
}

/** Ids shaped like the real API's, so code that inspects prefixes behaves the same. */
export const newId = {
  container: () => `cntr_${hex(24)}`,
  containerFile: () => `cfile_${hex(16)}`,
  file: () => `file-${base62(22)}`,
  response: () => `resp_${hex(24)}`,
  codeCall: () => `ci_${hex(24)}`,
  message: () => `msg_${hex(24)}`,
  /** The `<hash>` of a user file's `/mnt/data/<hash>-<name>` path. */
  pathHash: () => hex(16),
};
