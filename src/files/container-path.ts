/**
 * The real service stores a file a user puts in a container (an upload, `file_ids`, an
 * `input_file`) at `/mnt/data/<hash>-<name>`: 32 lowercase hex characters and a dash before the
 * name (e.g. `/mnt/data/88e12fa445d32636f190a0b33daed6cb-tsconfig.json`). Files the model's code
 * writes keep the path the code chose.
 */
const USER_FILE_PATH = /^\/mnt\/data\/[0-9a-f]{32}-(?<name>[^/]+)$/;

/**
 * The name a user knows a container file by: the base name of its `path`, without the service's
 * `<hash>-` prefix on a user file (`source: "user"`). Only that exact shape is removed: names that
 * merely contain a dash, files in other folders and files the code wrote are left as they are.
 */
export function containerFilename(path: string, source: string | undefined): string {
  if (source === 'user') {
    const name = USER_FILE_PATH.exec(path)?.groups?.name;
    if (name) return name;
  }
  return path.slice(path.lastIndexOf('/') + 1);
}
