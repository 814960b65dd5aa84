import fs from 'node:fs';
import pg from 'pg';
import { runnerCountSql, runnerPageSql, versionLookupFor, type RunnerSet, type RunnerFilterSpec } from '../src/services/runners/runner-queries.js';

const N = Number(process.env.N ?? 100000);
const url = fs.readFileSync(`/tmp/perf-lists-url-${N}`, 'utf8');
const hot = Number(fs.readFileSync(`/tmp/perf-lists-db-${N}/hot`, 'utf8'));
const pool = new pg.Pool({ connectionString: url, max: 2 });
const lookup = (process.env.LOOKUP as 'range' | 'scan' | undefined) ?? (await versionLookupFor(pool));
console.log('versionLookup', lookup);
const proj = await pool.query('select p.id, n.traversal_ids from projects p join namespaces n on n.id = p.namespace_id where p.id = $1', [hot]);
const projectSet: RunnerSet = { kind: 'project', projectId: hot, groupIds: proj.rows[0].traversal_ids, includeInstance: true };
const cases: [string, RunnerSet, RunnerFilterSpec, number, number][] = [
  ['page', { kind: 'all' }, {}, Math.round(N / 2) - 100, 101],
  ['tags', { kind: 'all' }, { status: 'online', tagList: ['docker', 'linux'] }, 0, 101],
  ['tags-lb', { kind: 'all' }, { status: 'online', tagList: ['linux', 'build'] }, 0, 101],
  ['version', { kind: 'all' }, { versionPrefix: '16.1' }, 0, 21],
  ['version3', { kind: 'all' }, { versionPrefix: '16.1' }, 40, 21],
  ['project', projectSet, {}, 0, 21],
  ['project5', projectSet, {}, 80, 21],
  ['project-online', projectSet, { status: 'online' }, 0, 21],
  ['user', { kind: 'available_to_user', userId: 1 }, {}, 0, 21],
];
const only = process.env.ONLY?.split(',');
const opts = { now: Date.now(), versionLookup: lookup };
for (const [name, set, f, off, lim] of cases) {
  if (only && !only.includes(name)) continue;
  for (const [kind, st] of [['count', runnerCountSql(set, f, 10001, opts)], ['page', runnerPageSql(set, f, off, lim, opts)]] as const) {
    const res = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${st.text}`, st.values);
    const lines = res.rows.map((r) => r['QUERY PLAN'] as string);
    const exec = lines.find((l) => l.startsWith('Execution Time'));
    console.log(`== ${name} ${kind}: ${exec}`);
    if (process.env.V) console.log(lines.filter((l) => !/Buffers|Index Searches|Heap Fetches: 0|Storage/.test(l)).join('\n'));
    else console.log(lines.filter((l) => /Scan|Join|Sort|Merge|Hash|Unique|SubPlan|InitPlan/.test(l)).map((l) => l.replace(/\(actual.*?\)/, '')).join('\n'));
  }
}
await pool.end();
