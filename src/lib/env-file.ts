import fs from 'node:fs';
import path from 'node:path';

/**
 * Reads `.env` from the working directory into process.env with Node's own
 * loader (same syntax as `node --env-file`). Variables already set in the
 * environment win, even when set to an empty string. No file: nothing to do.
 * Returns the path read, if any.
 */
export function loadDotEnvFile(dir: string = process.cwd()): string | undefined {
  const file = path.join(dir, '.env');
  if (!fs.existsSync(file)) return undefined;
  process.loadEnvFile(file);
  return file;
}
