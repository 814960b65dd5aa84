// What the generated Prisma client was made from: prisma/schema.prisma and
// the Prisma version. scripts/prisma-generate.mjs writes it next to the
// generated code; scripts/check-install.mjs compares it before start/test.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STAMP_FILE = path.join(ROOT, 'src', 'generated', 'prisma', 'schema.sha256');

export function currentStamp() {
  const require = createRequire(path.join(ROOT, 'package.json'));
  const schema = fs.readFileSync(path.join(ROOT, 'prisma', 'schema.prisma'));
  let version = 'unknown';
  try {
    version = require('prisma/package.json').version;
  } catch {
    // The CLI is a devDependency: a production install has only the client.
    version = require('@prisma/client/package.json').version;
  }
  const hash = crypto.createHash('sha256').update(schema).digest('hex');
  return `${hash} prisma@${version}\n`;
}
