// Generates the Prisma client (at install: the root package's postinstall,
// or `npm run prepare:env` after editing prisma/schema.prisma). The Prisma
// CLI wants a schema-engine binary path even for `generate`, which never runs
// it; where the binary cannot be downloaded we point it at this file so that
// generate works offline. The stamp it writes lets `npm start` check, without
// writing anything, that the generated code matches the schema.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { currentStamp, ROOT, STAMP_FILE } from './generated-stamp.mjs';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const res = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env });
if (res.status !== 0) process.exit(res.status ?? 1);
fs.writeFileSync(STAMP_FILE, currentStamp());
