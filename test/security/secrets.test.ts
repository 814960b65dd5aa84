import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { secureCompare, SecretBox } from '../../src/lib/tokens.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, singleJob } from '../helpers/ci.js';
import { multipartBody } from '../helpers/hostile-inputs.js';
import { RunnerSimulator } from '../helpers/runner-simulator.js';

// docs/security.md: secrets at rest are digests or ciphertext only, tokens are
// compared in constant time, and nothing secret is ever logged. The tokens
// here are issued through the API, the way a user or gitlab-runner gets them.

const INSTANCE_REGISTRATION_TOKEN = 'instRegTokenSecrets01';
const logLines: string[] = [];
let t: TestApp;

/** Every token the test saw issued or used; none may be in the database or the log. */
const issued = new Map<string, string>();
const remember = (what: string, token: unknown) => {
  if (typeof token !== 'string' || token.length < 8) throw new Error(`no token for ${what}: ${String(token)}`);
  issued.set(token, what);
  return token;
};

beforeAll(async () => {
  t = await createTestApp(
    { LOG_LEVEL: 'trace', GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: INSTANCE_REGISTRATION_TOKEN },
    { loggerStream: new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }) },
  );
  remember('root PAT', t.rootToken);
  remember('instance registration token', INSTANCE_REGISTRATION_TOKEN);
  await exerciseEveryTokenPath();
}, 120_000);
afterAll(async () => t?.close());

/** Issues and uses every kind of token through the API. */
async function exerciseEveryTokenPath() {
  const api = t.api;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field
  const created = (res: { statusCode: number; body: string }, status = 201): any => {
    if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode} ${res.body}`);
    return res.body === '' ? undefined : JSON.parse(res.body);
  };

  // Users and personal access tokens, used every way a client can present one.
  const user = created(await api({ method: 'POST', url: '/api/v4/users', payload: { email: 'sec@example.com', username: 'sec-user', name: 'Sec', password: 'Secret-Passw0rd!', skip_confirmation: true } }));
  remember('user password', 'Secret-Passw0rd!');
  const pat = remember('user PAT', created(await api({ method: 'POST', url: `/api/v4/users/${user.id}/personal_access_tokens`, payload: { name: 'sec', scopes: ['api', 'sudo'] } })).token);
  created(await api({ method: 'GET', url: '/api/v4/user', token: pat }), 200);
  created(await api({ method: 'GET', url: '/api/v4/user', token: null, headers: { authorization: `Bearer ${pat}` } }), 200);
  created(await api({ method: 'GET', url: `/api/v4/user?private_token=${pat}`, token: null }), 200);
  created(await api({ method: 'GET', url: '/api/v4/user', token: null, headers: { authorization: `Basic ${Buffer.from(`sec-user:${pat}`).toString('base64')}` } }), 200);
  created(await api({ method: 'POST', url: '/api/v4/groups', token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `private_token=${pat}&name=sec-form&path=sec-form` }));
  const form = multipartBody({ private_token: pat, name: 'sec-multipart', path: 'sec-multipart' });
  created(await api({ method: 'POST', url: '/api/v4/groups', token: null, headers: { 'content-type': form.contentType }, payload: form.payload }));
  const form2 = multipartBody({ name: 'sec-multipart-2', path: 'sec-multipart-2' });
  created(await api({ method: 'POST', url: '/api/v4/groups', token: pat, headers: { 'content-type': form2.contentType }, payload: form2.payload }));
  // Failed sign-ins are logged too: the wrong token must not be.
  const wrong = remember('a wrong PAT', 'glpat-wrongwrongwrong123');
  expect((await api({ method: 'GET', url: `/api/v4/user?private_token=${wrong}`, token: null })).statusCode).toBe(401);
  expect((await api({ method: 'GET', url: '/api/v4/user', token: wrong })).statusCode).toBe(401);

  // Groups and projects: registration tokens shown, then reset.
  const group = created(await api({ method: 'POST', url: '/api/v4/groups', payload: { name: 'sec-group', path: 'sec-group' } }));
  const project = created(await api({ method: 'POST', url: '/api/v4/projects', payload: { name: 'sec-project', namespace_id: group.id } }));
  remember('group registration token', created(await api({ method: 'GET', url: `/api/v4/groups/${group.id}` }), 200).runners_token);
  remember('project registration token', created(await api({ method: 'GET', url: `/api/v4/projects/${project.id}` }), 200).runners_token);
  remember('reset instance registration token', created(await api({ method: 'POST', url: '/api/v4/runners/reset_registration_token' })).token);
  remember('reset group registration token', created(await api({ method: 'POST', url: `/api/v4/groups/${group.id}/runners/reset_registration_token` })).token);
  const projectRegistration = remember(
    'reset project registration token',
    created(await api({ method: 'POST', url: `/api/v4/projects/${project.id}/runners/reset_registration_token` })).token,
  );

  // gitlab-runner: register → verify → jobs/request (gets a job and its token) → job update and trace → reset → unregister.
  const sim = RunnerSimulator.forApp(t.app);
  const registered = remember('registered runner token', created(await sim.register(projectRegistration, { description: 'sec' })).token);
  created(await sim.verify(registered), 200);
  await createPipeline(t, project, singleJob('build'));
  const job = created(await sim.requestJob(registered));
  const jobToken = remember('job token', job.token);
  created(await sim.patchTrace(job.id, jobToken, Buffer.from(`log line with the job token ${'x'.repeat(3)}\n`), 0), 202);
  created(await sim.updateJob(job.id, jobToken, { state: 'success' }), 200);
  const reset = remember('reset runner token', created(await sim.resetToken(registered)).token);
  expect((await sim.verify(registered)).statusCode).toBe(403); // the old one is dead, and was logged as a failure
  created(await sim.unregister(reset), 204);

  // glrt- runners created by a user, reset through the management API, unregistered as a manager.
  const userRunner = created(await api({ method: 'POST', url: '/api/v4/user/runners', payload: { runner_type: 'project_type', project_id: project.id } }));
  const glrt = remember('glrt runner token', userRunner.token);
  created(await sim.verify(glrt), 200);
  const glrtReset = remember('glrt reset token', created(await api({ method: 'POST', url: `/api/v4/runners/${userRunner.id}/reset_authentication_token` })).token);
  created(await sim.unregisterManager(glrtReset), 204);

  // Sudo with the user's own token.
  created(await api({ method: 'GET', url: '/api/v4/user', token: t.rootToken, headers: { sudo: 'sec-user' } }), 200);
}

describe('secrets at rest', () => {
  it('no issued token appears anywhere in the database, in any column of any table', async () => {
    const { rows: tables } = await t.db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const hits: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await t.db.pool.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM "${table_name}" x`);
      for (const { j } of rows) for (const [token, what] of issued) if (j.includes(token)) hits.push(`${what} in ${table_name}`);
      // Job traces are bytea: decode them too.
      if (table_name === 'jobs') {
        const { rows: traces } = await t.db.pool.query<{ trace: Buffer | null }>('SELECT trace FROM jobs');
        for (const { trace } of traces) for (const [token, what] of issued) if (trace?.includes(token)) hits.push(`${what} in jobs.trace`);
      }
    }
    expect(issued.size).toBeGreaterThanOrEqual(15);
    expect(hits).toEqual([]);
  });

  it('token columns hold 64-hex digests, and *_encrypted columns AES-GCM ciphertext (v1:iv:tag:data)', async () => {
    const { rows: columns } = await t.db.pool.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND (column_name LIKE '%token%' OR column_name LIKE '%secret%' OR column_name LIKE '%password%')`,
    );
    const bad: string[] = [];
    let checked = 0;
    for (const { table_name, column_name } of columns) {
      const { rows } = await t.db.pool.query<{ v: unknown }>(`SELECT "${column_name}" AS v FROM "${table_name}" WHERE "${column_name}" IS NOT NULL`);
      for (const { v } of rows) {
        if (typeof v !== 'string') continue; // timestamps such as token_expires_at
        checked++;
        const ok = column_name.endsWith('_digest')
          ? /^[0-9a-f]{64}$/.test(v)
          : column_name.endsWith('_encrypted')
            ? /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/.test(v)
            : column_name === 'generated_secret_key'; // the server key itself, kept with the data by design (docs/security.md)
        if (!ok) bad.push(`${table_name}.${column_name} = ${v.slice(0, 12)}…`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(bad).toEqual([]);
  });

  it('the encrypted registration tokens decrypt to the tokens shown, and only with the server key', async () => {
    const { rows } = await t.db.pool.query<{ e: string }>(
      `SELECT runners_token_encrypted AS e FROM namespaces WHERE full_path = 'sec-group'
        UNION ALL SELECT runners_registration_token_encrypted FROM application_settings`,
    );
    const shown = [...issued].filter(([, what]) => what.includes('registration')).map(([token]) => token);
    for (const { e } of rows) expect(shown).toContain(t.ctx.secrets.decrypt(e));
    const otherKey = new SecretBox('some-other-server-key');
    for (const { e } of rows) expect(() => otherKey.decrypt(e)).toThrow();
  });
});

describe('constant-time comparison', () => {
  it('secureCompare: equal, different, different length, empty', () => {
    expect(secureCompare('glrt-t1_abcdefghijklmnopqrst', 'glrt-t1_abcdefghijklmnopqrst')).toBe(true);
    expect(secureCompare('glrt-t1_abcdefghijklmnopqrst', 'glrt-t1_abcdefghijklmnopqrsu')).toBe(false);
    expect(secureCompare('abc', 'abcd')).toBe(false);
    expect(secureCompare('', '')).toBe(true);
    expect(secureCompare('', 'a')).toBe(false);
  });

  it('secureCompare goes through crypto.timingSafeEqual on fixed-length hashes, whatever the input lengths', () => {
    const spy = vi.spyOn(crypto, 'timingSafeEqual');
    try {
      secureCompare('short', 'a much longer candidate secret');
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0]! as [Buffer, Buffer];
      expect(a.length).toBe(32);
      expect(b.length).toBe(32);
    } finally {
      spy.mockRestore();
    }
  });

  it('src/ compares no secret with === or !== (only against undefined, null or the empty string)', () => {
    const root = path.resolve('src');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'generated') walk(p);
        else if (entry.isFile() && p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root);
    const secretName = String.raw`[\w.$?!\]\[)]*(?:token|digest|secret|password)[\w$]*`;
    const harmless = String.raw`(?:undefined|null|''|""|\d+|'[a-z_]+'|"[a-z_]+"|true|false)`;
    const comparison = new RegExp(String.raw`(?:${secretName}\s*[!=]==\s*(?!${harmless}\b|${harmless}[\s);,])[\w.$'"\[])|(?:[\w.$\])'"]\s*[!=]==\s*${secretName}\b)`, 'i');
    const offenders: string[] = [];
    for (const file of files) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '');
          if (/typeof\s/.test(code)) return;
          const m = comparison.exec(code);
          if (!m) return;
          // `x === 'literal'` on either side and `.length` checks are not secret comparisons.
          if (/[!=]==\s*(?:undefined|null|''|""|\d+|'[^']*'|"[^"]*"|true|false)\b|(?:undefined|null|''|""|'[^']*'|"[^"]*")\s*[!=]==/.test(m[0]) || /\.length\b/.test(m[0])) return;
          offenders.push(`${path.relative(root, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(files.length).toBeGreaterThan(20);
    expect(offenders).toEqual([]);
  });
});

describe('no secret in the logs (LOG_LEVEL=trace)', () => {
  it('the log was written at trace level, with every request in it', () => {
    const entries = logLines.map((l) => JSON.parse(l) as { level: number; msg?: string; req?: { url?: string } });
    expect(entries.some((e) => e.level === 10)).toBe(true);
    const urls = entries.map((e) => e.req?.url ?? '').filter(Boolean);
    expect(urls.some((u) => u.startsWith('/api/v4/runners/verify'))).toBe(true);
    expect(urls.some((u) => u.startsWith('/api/v4/jobs/request'))).toBe(true);
    expect(urls.some((u) => u.includes('private_token=[REDACTED]'))).toBe(true);
  });

  it('no token issued or presented during the whole sequence appears in the log', () => {
    const log = logLines.join('');
    const hits = [...issued].filter(([token]) => log.includes(token)).map(([, what]) => what);
    expect(logLines.length).toBeGreaterThan(50);
    expect(hits).toEqual([]);
  });

  it('neither do digests or ciphertexts from the database', async () => {
    const { rows } = await t.db.pool.query<{ v: string }>(`
      SELECT token_digest AS v FROM personal_access_tokens UNION ALL SELECT token_digest FROM runners
      UNION ALL SELECT runners_token_encrypted FROM namespaces WHERE runners_token_encrypted IS NOT NULL
      UNION ALL SELECT runners_token_encrypted FROM projects WHERE runners_token_encrypted IS NOT NULL
      UNION ALL SELECT generated_secret_key FROM application_settings WHERE generated_secret_key IS NOT NULL`);
    const log = logLines.join('');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.filter((r) => log.includes(r.v))).toEqual([]);
  });
});
