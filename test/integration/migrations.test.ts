import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { createTestDatabase } from '../helpers/database.js';
import {
  expectedDatabase,
  parsePrismaSchema,
  PrismaSchemaError,
  type DbColumn,
  type DbForeignKey,
  type DbIndex,
  type DbSchema,
  type ReferentialAction,
} from '../helpers/prisma-schema.js';

// prisma/schema.prisma (what the Prisma client believes) and the SQL
// migrations (what the boot-time migrator creates) must describe the same
// database. The Prisma CLI cannot diff them here, so this test applies the
// migrations to a fresh database, reads the structure back from pg_catalog
// and compares it with what Prisma Migrate would derive from the schema.

const SCHEMA_FILE = path.resolve(MIGRATIONS_DIR, '..', 'schema.prisma');
const INIT = '20261122000000_init';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function freshDatabase() {
  const db = await createTestDatabase({ migrated: false });
  cleanups.push(db.drop);
  return db;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ACTION: Record<string, ReferentialAction> = { a: 'NoAction', r: 'Restrict', c: 'Cascade', n: 'SetNull', d: 'SetDefault' };

/** The database's structure, in the shape expectedDatabase() produces. */
async function introspect(c: pg.Client, opts: { includeLedger?: boolean } = {}): Promise<DbSchema & { other: string[] }> {
  const skip = opts.includeLedger ? '' : `AND t.relname <> '_prisma_migrations'`;
  const out: DbSchema & { other: string[] } = { tables: {}, indexes: {}, foreignKeys: {}, other: [] };

  const columns = await c.query<{ table: string; column: string; type: string; nullable: boolean; default: string | null }>(`
    SELECT t.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
    FROM pg_attribute a
    JOIN pg_class t ON t.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND t.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ${skip}
    ORDER BY t.relname, a.attnum`);
  for (const r of columns.rows) {
    (out.tables[r.table] ??= {})[r.column] = { type: r.type, nullable: r.nullable, default: r.default } satisfies DbColumn;
  }

  const indexes = await c.query<{ name: string; table: string; unique: boolean; primary: boolean; method: string; columns: string[]; plain: boolean }>(`
    SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary, am.amname AS method,
           ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
           (ix.indpred IS NULL AND ix.indexprs IS NULL
            AND NOT EXISTS (SELECT 1 FROM unnest(ix.indoption::int2[]) o WHERE o <> 0)
            AND NOT EXISTS (SELECT 1 FROM unnest(ix.indclass::oid[]) oc JOIN pg_opclass opc ON opc.oid = oc WHERE NOT opc.opcdefault)) AS plain
    FROM pg_index ix
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = i.relam
    WHERE n.nspname = 'public' ${skip}`);
  for (const r of indexes.rows) {
    // Partial, expression, DESC or non-default-opclass indexes are outside what the schema declares.
    if (!r.plain) out.other.push(`index ${r.name} is partial, on expressions, sorted or uses a non-default operator class`);
    out.indexes[r.name] = { table: r.table, columns: r.columns, unique: r.unique, primary: r.primary, method: r.method } satisfies DbIndex;
  }

  const constraints = await c.query<{ name: string; type: string; table: string; ref_table: string | null; columns: string[]; ref_columns: string[]; del: string; upd: string }>(`
    SELECT con.conname AS name, con.contype::text AS type, t.relname AS table, rt.relname AS ref_table,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
           con.confdeltype::text AS del, con.confupdtype::text AS upd
    FROM pg_constraint con
    JOIN pg_class t ON t.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_class rt ON rt.oid = con.confrelid
    WHERE n.nspname = 'public' ${skip}`);
  for (const r of constraints.rows) {
    if (r.type === 'n') continue; // NOT NULL (PostgreSQL 18 lists them here); compared as column nullability
    if (r.type === 'p') {
      // The primary key is compared through its index; it must carry Prisma's name.
      if (!out.indexes[r.name]?.primary) out.other.push(`primary key ${r.name} without a matching index`);
      continue;
    }
    if (r.type === 'f') {
      out.foreignKeys[r.name] = {
        table: r.table,
        columns: r.columns,
        refTable: r.ref_table!,
        refColumns: r.ref_columns,
        onDelete: ACTION[r.del]!,
        onUpdate: ACTION[r.upd]!,
      } satisfies DbForeignKey;
      continue;
    }
    out.other.push(`constraint ${r.name} of type ${r.type} on ${r.table}`);
  }

  const objects = await c.query<{ kind: string; name: string }>(`
    SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'p' THEN 'partitioned table' ELSE c.relkind::text END AS kind, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind NOT IN ('r', 'i')
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 'trigger', tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT tg.tgisinternal
    UNION ALL
    SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'type', ty.typname FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace
    WHERE n.nspname = 'public' AND ty.typtype IN ('e', 'd', 'r', 'm')`);
  for (const r of objects.rows) out.other.push(`${r.kind} ${r.name} (not declared by schema.prisma)`);
  return out;
}

// What the migrations create that schema.prisma cannot declare: the job
// queue's triggers, their functions and its partial index
// (20261203100000_ci_pending_builds), and the triggers that keep the runner
// id block counts (20261203210000_runner_id_blocks). Listed one by one, and
// checked present.
const UNDECLARED_INDEXES = ['ci_instance_queues_fair_order_idx'];
const UNDECLARED_OBJECTS = [
  'index ci_instance_queues_fair_order_idx is partial, on expressions, sorted or uses a non-default operator class',
  'trigger ci_sync_job_queue_on_insert (not declared by schema.prisma)',
  'trigger ci_sync_job_queue_on_update (not declared by schema.prisma)',
  'trigger ci_pending_builds_changed (not declared by schema.prisma)',
  'trigger ci_running_builds_changed (not declared by schema.prisma)',
  'constraint ci_pending_builds_changed of type t on ci_pending_builds',
  'constraint ci_running_builds_changed of type t on ci_running_builds',
  'trigger ci_project_queue_facts_changed (not declared by schema.prisma)',
  'trigger ci_namespace_queue_facts_changed (not declared by schema.prisma)',
  'function ci_sync_job_queue (not declared by schema.prisma)',
  'function ci_instance_queue_refresh_head (not declared by schema.prisma)',
  'function ci_pending_builds_changed (not declared by schema.prisma)',
  'function ci_running_builds_changed (not declared by schema.prisma)',
  'function ci_project_queue_facts_changed (not declared by schema.prisma)',
  'function ci_namespace_queue_facts_changed (not declared by schema.prisma)',
  'trigger runner_id_blocks_insert (not declared by schema.prisma)',
  'trigger runner_id_blocks_delete (not declared by schema.prisma)',
  'trigger runner_id_blocks_truncate (not declared by schema.prisma)',
  'function runner_id_blocks_merge (not declared by schema.prisma)',
  'function runner_id_blocks_inserted (not declared by schema.prisma)',
  'function runner_id_blocks_deleted (not declared by schema.prisma)',
  'function runner_id_blocks_truncated (not declared by schema.prisma)',
];

describe('schema.prisma and the SQL migrations describe the same database', () => {
  let actual: Awaited<ReturnType<typeof introspect>>;
  let expected: DbSchema;
  let undeclared: string[];

  beforeAll(async () => {
    const db = await freshDatabase();
    await migrate(db.url);
    actual = await withClient(db.url, (c) => introspect(c));
    undeclared = actual.other.filter((o) => UNDECLARED_OBJECTS.includes(o)).sort();
    actual.other = actual.other.filter((o) => !UNDECLARED_OBJECTS.includes(o));
    for (const name of UNDECLARED_INDEXES) delete actual.indexes[name];
    expected = expectedDatabase(parsePrismaSchema(fs.readFileSync(SCHEMA_FILE, 'utf8')));
  });

  it('the job queue and runner id block triggers, functions and partial index, which the schema cannot declare', () => {
    expect(undeclared).toEqual([...UNDECLARED_OBJECTS].sort());
  });

  it('the same tables', () => {
    expect(Object.keys(actual.tables).sort()).toEqual(Object.keys(expected.tables).sort());
  });

  it('the same columns, types, nullability and defaults, table by table', () => {
    for (const table of Object.keys(expected.tables)) {
      expect({ table, columns: actual.tables[table] }).toEqual({ table, columns: expected.tables[table] });
    }
  });

  it('the same primary keys, unique indexes and plain indexes (GIN included), by Prisma name', () => {
    expect(actual.indexes).toEqual(expected.indexes);
    expect(Object.values(expected.indexes).some((i) => i.method === 'gin')).toBe(true);
  });

  it('the same foreign keys, with their ON DELETE and ON UPDATE actions', () => {
    expect(actual.foreignKeys).toEqual(expected.foreignKeys);
    expect(Object.values(expected.foreignKeys).map((f) => f.onDelete)).toEqual(expect.arrayContaining(['Cascade', 'SetNull']));
  });

  it('nothing the schema does not declare (views, triggers, functions, check constraints, stray sequences)', () => {
    expect(actual.other).toEqual([]);
  });
});

describe('the schema parser fails loudly on what it does not understand', () => {
  const model = (body: string) => `model M {\n  id Int @id @default(autoincrement())\n${body}\n}`;

  it.each([
    ['an unknown attribute', model('  a String @map("b")')],
    ['an unknown native type', model('  a String @db.VarChar(10)')],
    ['an unknown scalar or model type', model('  a Decimal')],
    ['an unknown default function', model('  a String @default(uuid())')],
    ['an unknown block attribute', model('  a Int\n  @@id([id, a])')],
    ['an unknown index argument', model('  a Int\n  @@index([a], map: "x")')],
    ['an enum block', 'enum Role {\n  A\n}'],
    ['an index on an unknown field', model('  @@index([nope])')],
    ['a relation to an unknown field', `${model('  o_id Int\n  o O @relation(fields: [other], references: [id])')}\nmodel O {\n  id Int @id\n}`],
    ['text outside a block', 'hello'],
    ['an unterminated block', 'model M {\n  id Int @id'],
  ])('%s', (_what, source) => {
    expect(() => expectedDatabase(parsePrismaSchema(source))).toThrow(PrismaSchemaError);
  });

  it('reads the constructs this project uses', () => {
    const [m, o] = parsePrismaSchema(
      [
        'model M {',
        '  id    Int      @id @default(autoincrement())',
        '  tags  String[] @default(["a", "b"])',
        '  at    DateTime @default(now()) @updatedAt @db.Timestamptz(3)',
        '  day   DateTime? @db.Date',
        '  o_id  Int?',
        '  o     O?       @relation("R", fields: [o_id], references: [id])',
        '  @@index([tags], type: Gin)',
        '  @@unique([o_id, day])',
        '  @@map("ms")',
        '}',
        'model O {',
        '  id Int @id',
        '  ms M[] @relation("R")',
        '}',
      ].join('\n'),
    );
    expect(m!.table).toBe('ms');
    const db = expectedDatabase([m!, o!]);
    expect(db.tables.ms).toEqual({
      id: { type: 'integer', nullable: false, default: "nextval('ms_id_seq'::regclass)" },
      tags: { type: 'text[]', nullable: true, default: "ARRAY['a'::text, 'b'::text]" },
      at: { type: 'timestamp(3) with time zone', nullable: false, default: 'CURRENT_TIMESTAMP' },
      day: { type: 'date', nullable: true, default: null },
      o_id: { type: 'integer', nullable: true, default: null },
    });
    expect(db.indexes.ms_tags_idx).toMatchObject({ method: 'gin' });
    expect(db.indexes.ms_o_id_day_key).toMatchObject({ unique: true });
    // Prisma's default for an optional relation: ON DELETE SET NULL, ON UPDATE CASCADE.
    expect(db.foreignKeys.ms_o_id_fkey).toEqual({ table: 'ms', columns: ['o_id'], refTable: 'O', refColumns: ['id'], onDelete: 'SetNull', onUpdate: 'Cascade' });
  });
});

// ---------------------------------------------------------------------------
// The migrator: ledger, idempotence, checksums, locking, atomicity.

function tempMigrations(extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  fs.cpSync(path.join(MIGRATIONS_DIR, INIT), path.join(dir, INIT), { recursive: true });
  for (const [name, sql] of Object.entries(extra)) writeMigration(dir, name, sql);
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeMigration(dir: string, name: string, sql: string) {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
}

const ledger = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ id: string; migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number; started_at: Date; logs: string | null }>(
      'SELECT * FROM "_prisma_migrations" ORDER BY migration_name',
    )).rows,
  );

const tableExists = (url: string, table: string) =>
  withClient(url, async (c) => (await c.query('SELECT to_regclass($1) AS t', [`public.${table}`])).rows[0].t !== null);

describe('the boot-time migrator', () => {
  it('applies every migration once; migrating again is a no-op', async () => {
    const db = await freshDatabase();
    const all = fs.readdirSync(MIGRATIONS_DIR).filter((d) => fs.existsSync(path.join(MIGRATIONS_DIR, d, 'migration.sql'))).sort();
    expect(await migrate(db.url)).toEqual(all);
    const before = await withClient(db.url, (c) => introspect(c, { includeLedger: true }));
    const rowsBefore = await ledger(db.url);
    expect(await migrate(db.url)).toEqual([]);
    expect(await withClient(db.url, (c) => introspect(c, { includeLedger: true }))).toEqual(before);
    expect(await ledger(db.url)).toEqual(rowsBefore);
  });

  it('keeps a ledger Prisma Migrate can read: its columns, sha256 checksums, finished rows', async () => {
    const db = await freshDatabase();
    await migrate(db.url);
    const structure = await withClient(db.url, (c) => introspect(c, { includeLedger: true }));
    expect(structure.tables._prisma_migrations).toEqual({
      id: { type: 'character varying(36)', nullable: false, default: null },
      checksum: { type: 'character varying(64)', nullable: false, default: null },
      finished_at: { type: 'timestamp with time zone', nullable: true, default: null },
      migration_name: { type: 'character varying(255)', nullable: false, default: null },
      logs: { type: 'text', nullable: true, default: null },
      rolled_back_at: { type: 'timestamp with time zone', nullable: true, default: null },
      started_at: { type: 'timestamp with time zone', nullable: false, default: 'now()' },
      applied_steps_count: { type: 'integer', nullable: false, default: '0' },
    });
    expect(structure.indexes._prisma_migrations_pkey).toMatchObject({ columns: ['id'], primary: true });

    const rows = await ledger(db.url);
    const init = rows.find((r) => r.migration_name === INIT)!;
    const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, INIT, 'migration.sql'));
    expect(init.checksum).toBe(crypto.createHash('sha256').update(sql).digest('hex'));
    expect(init.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(init.finished_at).toBeInstanceOf(Date);
    expect(init.rolled_back_at).toBeNull();
    expect(init.applied_steps_count).toBe(1);
  });

  it('refuses to run when an applied migration was modified, before applying anything else', async () => {
    const db = await freshDatabase();
    const dir = tempMigrations({ '20990101000000_probe': 'CREATE TABLE probe_a (id int);' });
    await migrate(db.url, dir);
    writeMigration(dir, '20990101000000_probe', 'CREATE TABLE probe_a (id int, extra int);');
    writeMigration(dir, '20990102000000_later', 'CREATE TABLE probe_later (id int);');
    await expect(migrate(db.url, dir)).rejects.toThrow(/20990101000000_probe was modified after it was applied/);
    expect(await tableExists(db.url, 'probe_later')).toBe(false);
    expect((await ledger(db.url)).map((r) => r.migration_name)).toEqual([INIT, '20990101000000_probe']);
  });

  it('refuses to run while the ledger records an unresolved failed migration', async () => {
    const db = await freshDatabase();
    const dir = tempMigrations();
    await migrate(db.url, dir);
    await withClient(db.url, (c) =>
      c.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, 'x', '20990101000000_broken', now())`, [crypto.randomUUID()]),
    );
    writeMigration(dir, '20990102000000_next', 'CREATE TABLE probe_next (id int);');
    await expect(migrate(db.url, dir)).rejects.toThrow(/20990101000000_broken failed earlier/);
    expect(await tableExists(db.url, 'probe_next')).toBe(false);
  });

  it('two servers booting at once on a fresh database: both succeed, each migration is applied once', async () => {
    const db = await freshDatabase();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
    const applied = results.flat();
    expect(applied.filter((n) => n === INIT)).toHaveLength(1);
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    const rows = await ledger(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual([...new Set(applied)].sort());
  });

  it('a failing migration leaves nothing half-applied, and the next boot applies the fixed file', async () => {
    const db = await freshDatabase();
    const dir = tempMigrations({
      '20990101000000_broken': 'CREATE TABLE half_probe (id int);\nINSERT INTO half_probe VALUES (1);\nSELECT 1/0;',
    });
    await expect(migrate(db.url, dir)).rejects.toThrow(/Migration 20990101000000_broken failed: division by zero/);
    expect(await tableExists(db.url, 'half_probe')).toBe(false);
    expect((await ledger(db.url)).map((r) => r.migration_name)).toEqual([INIT]); // the earlier one is kept
    writeMigration(dir, '20990101000000_broken', 'CREATE TABLE half_probe (id int);');
    expect(await migrate(db.url, dir)).toEqual(['20990101000000_broken']);
    expect(await tableExists(db.url, 'half_probe')).toBe(true);
  });

  it('a migration interrupted mid-way (connection killed) leaves nothing half-applied and releases the lock', async () => {
    const db = await freshDatabase();
    const dir = tempMigrations({ '20990101000000_slow': 'CREATE TABLE slow_probe (id int);\nSELECT pg_sleep(30);' });
    const running = migrate(db.url, dir);
    const outcome = running.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    await withClient(db.url, async (c) => {
      for (let i = 0; i < 200; i++) {
        const r = await c.query(`SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`);
        if (r.rowCount && r.rowCount > 0) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error('the slow migration never started');
    });
    expect(await outcome).toMatch(/Migration 20990101000000_slow failed/);
    expect(await tableExists(db.url, 'slow_probe')).toBe(false);
    expect((await ledger(db.url)).map((r) => r.migration_name)).toEqual([INIT]);

    writeMigration(dir, '20990101000000_slow', 'CREATE TABLE slow_probe (id int);');
    expect(await migrate(db.url, dir)).toEqual(['20990101000000_slow']);
  });
});
