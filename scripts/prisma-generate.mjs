// Generates the Prisma client. The Prisma CLI wants a schema-engine binary
// path even for `generate`, which never runs it; where the binary cannot be
// downloaded we point it at this file so that generate works offline.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const res = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: ['ignore', 'ignore', 'inherit'], env });
process.exit(res.status ?? 1);
