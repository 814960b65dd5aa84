import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';

// One PostgreSQL for the whole run: embedded (in a temporary folder outside
// the checkout, which may sit where the unprivileged user that runs
// PostgreSQL for root cannot reach; removed afterwards) unless
// TEST_DATABASE_URL names a server. Migrations are applied
// once to a template database; every test file clones it (CREATE DATABASE
// ... TEMPLATE is a file copy, ~50 ms) and drops its clone when done.

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDb: string;
  }
}

let embedded: EmbeddedDatabase | undefined;
let dataDir: string | undefined;
let adminUrl: string;
const templateDb = `app_template_${process.pid}`;

function withDatabase(url: string, db: string) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    adminUrl = process.env.TEST_DATABASE_URL;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gitlab-runners-api-test-'));
    embedded = await startEmbeddedPostgres(dataDir, { persistent: false });
    adminUrl = embedded.url('postgres');
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${templateDb}"`);
  await admin.query(`CREATE DATABASE "${templateDb}"`);
  await admin.end();
  await migrate(withDatabase(adminUrl, templateDb));
  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDb', templateDb);
}

export async function teardown() {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect().catch(() => undefined);
  await admin.query(`DROP DATABASE IF EXISTS "${templateDb}" WITH (FORCE)`).catch(() => undefined);
  await admin.end().catch(() => undefined);
  await embedded?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
