import type { GeneratedFile, RunResult } from '../runs/result.js';
import type { ContainerFile } from './types.js';

/**
 * When `run()` lists the container for `RunResult.generatedFiles`:
 * - `auto`: only when code ran and no `container_file_citation` came back (structured output can
 *   drop citations although files were written);
 * - `always`: after every run;
 * - `never`: not at all.
 */
export type ListGeneratedFiles = 'auto' | 'always' | 'never';

/** Whether a finished run needs the listing. */
export function wantsGeneratedListing(mode: ListGeneratedFiles, result: RunResult): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return result.citations.length === 0 && result.codeCalls.length > 0;
}

/**
 * The files the model's code wrote during the run, from one listing of its container:
 * `source: "assistant"`, in the run's container, created at or after the response was created (the
 * server's own clock, `created_at`; the local start time when the response has none).
 */
export function generatedDuring(listed: readonly ContainerFile[], result: RunResult, startedAtSeconds: number): GeneratedFile[] {
  const createdAt = (result.raw as { created_at?: unknown }).created_at;
  const since = typeof createdAt === 'number' ? createdAt : startedAtSeconds;
  return listed
    .filter((f) => f.source === 'assistant' && f.containerId === result.containerId && f.createdAt >= since)
    .map((f) => ({ containerId: f.containerId, fileId: f.id, filename: f.filename }));
}

/** Every file of a result worth saving: the cited ones, then the listed ones not cited, once each. */
export function filesToSave(result: Pick<RunResult, 'files' | 'generatedFiles'>): GeneratedFile[] {
  const cited = new Set(result.files.map((f) => f.fileId));
  return [...result.files, ...(result.generatedFiles ?? []).filter((f) => !cited.has(f.fileId))];
}
