import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Namespace, Project } from '../../src/generated/prisma/client.js';
import type { CacheEvent } from '../../src/services/runner-cache/notifications.js';
import { runnerCache } from '../../src/services/runner-cache/runner-cache.js';
import { revokePersonalAccessToken } from '../../src/services/users/user-service.js';
import { CONTACT_REWRITE_MS } from '../../src/services/runner-auth/runner-auth-service.js';
import { createPeerApp, createTestApp, type TestApp } from '../helpers/app.js';
import { createPipeline, jobsOf, singleJob } from '../helpers/ci.js';
import { decodeJobResponse, DEFAULT_SYSTEM_ID, RunnerSimulator, shellInfo } from '../helpers/runner-simulator.js';

// Two server instances on one database (README "Performance design"): each
// answers polls and authenticates tokens from its own memory, and a change
// made through one of them reaches the other through LISTEN/NOTIFY. A
// revoked token must stop working on every instance within 5 seconds, and a
// job queued anywhere must be handed out on the next poll that follows the
// notification.

let a: TestApp;
let b: TestApp;
let group: Namespace;

beforeAll(async () => {
  a = await createTestApp();
  b = await createPeerApp(a);
  group = await a.fx.group();
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const REVOCATION_DEADLINE = { timeout: 5000, interval: 50 };

const sims = () => ({ simA: RunnerSimulator.forApp(a.app), simB: RunnerSimulator.forApp(b.app) });

/** A project runner with a token, already polled once through `b` (so `b` has it cached). */
async function cachedRunner(project?: Project) {
  const p = project ?? (await a.fx.project({ namespace: group }));
  const { runner, token } = await a.fx.runner({ projects: [p] });
  const { simA, simB } = sims();
  expect((await simB.requestJob(token)).statusCode).toBe(204);
  expect(runnerCache(b.ctx).runners.get(b.ctx.secrets.digest(token))).toBeDefined();
  return { project: p, runner, token, simA, simB };
}

/** Resolves once `t` has received the notification of this kind (start waiting before the change). */
const nextEvent = (t: TestApp, kind: CacheEvent['kind'], id?: number) =>
  runnerCache(t.ctx).nextEvent(
    (e) => e.kind === kind && (id === undefined || ('ids' in e && e.ids.includes(id)) || ('id' in e && e.id === id)),
  );

describe('token revocation across instances', () => {
  it('a token reset through one instance is refused by the other, and the new token works there', async () => {
    const { token, simA, simB } = await cachedRunner();
    const reset = await simA.resetToken(token);
    expect(reset.statusCode).toBe(201);
    const newToken = reset.json().token as string;
    // The instance that made the change refuses the old token at once.
    expect((await simA.requestJob(token)).statusCode).toBe(403);
    await vi.waitFor(async () => expect((await simB.requestJob(token)).statusCode).toBe(403), REVOCATION_DEADLINE);
    expect((await simB.requestJob(newToken)).statusCode).toBe(204);
  });

  it('a reset by a user (POST /runners/:id/reset_authentication_token) is refused by the other instance', async () => {
    const { runner, token, simB } = await cachedRunner();
    const res = await a.api({ method: 'POST', url: `/api/v4/runners/${runner.id}/reset_authentication_token` });
    expect(res.statusCode).toBe(201);
    await vi.waitFor(async () => expect((await simB.requestJob(token)).statusCode).toBe(403), REVOCATION_DEADLINE);
    expect((await simB.requestJob(res.json().token)).statusCode).toBe(204);
  });

  it('a runner deleted through one instance is refused by the other', async () => {
    const { runner, token, simB } = await cachedRunner();
    expect((await a.api({ method: 'DELETE', url: `/api/v4/runners/${runner.id}` })).statusCode).toBe(204);
    await vi.waitFor(async () => expect((await simB.requestJob(token)).statusCode).toBe(403), REVOCATION_DEADLINE);
  });

  it('a runner that unregisters itself through one instance is refused by the other', async () => {
    const { token, simA, simB } = await cachedRunner();
    expect((await simA.unregister(token)).statusCode).toBe(204);
    await vi.waitFor(async () => expect((await simB.requestJob(token)).statusCode).toBe(403), REVOCATION_DEADLINE);
  });

  it('an expired token is refused from memory, without any change or notification', async () => {
    const project = await a.fx.project({ namespace: group });
    const { runner, token } = await a.fx.runner({ projects: [project] });
    const expiresAt = new Date(Date.now() + 1500);
    await a.ctx.prisma.runner.update({ where: { id: runner.id }, data: { token_expires_at: expiresAt } });
    const { simB } = sims();
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 50));
    expect((await simB.requestJob(token)).statusCode).toBe(403);
  });

  it('a revoked personal access token is refused by the other instance', async () => {
    const { user } = await a.fx.user();
    const token = await a.fx.token(user, ['api']);
    const tokenId = (await a.ctx.prisma.personalAccessToken.findUniqueOrThrow({ where: { token_digest: a.ctx.secrets.digest(token) } })).id;
    expect((await b.api({ method: 'GET', url: '/api/v4/user', token })).statusCode).toBe(200);
    expect((await a.api({ method: 'GET', url: '/api/v4/user', token })).statusCode).toBe(200);
    const notified = nextEvent(b, 'token', tokenId);
    expect(await revokePersonalAccessToken(a.ctx, tokenId)).toBe(true);
    const revoked = await a.api({ method: 'GET', url: '/api/v4/user', token });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error_description).toBe('Token was revoked. You have to re-authorize from the user.');
    // Evicted by the notification, not by the cache's 5 s lifetime.
    await notified;
    expect((await b.api({ method: 'GET', url: '/api/v4/user', token })).statusCode).toBe(401);
  });
});

describe('jobs and runner changes across instances', () => {
  it('hands out a job queued through the other instance on the first poll after the notification', async () => {
    const { project, token, simB } = await cachedRunner();
    expect((await simB.requestJob(token)).statusCode).toBe(204); // answered from memory
    const notified = nextEvent(b, 'jobs');
    const pipeline = await createPipeline(a, project, singleJob('remote'));
    await notified;
    const res = await simB.requestJob(token);
    expect(res.statusCode).toBe(201);
    expect(decodeJobResponse(res).job_info.name).toBe('remote');
    expect((await jobsOf(a, pipeline.id))[0]).toMatchObject({ status: 'running' });
  });

  it('hands out a job queued through the same instance on the very next poll', async () => {
    const { project, token, simB } = await cachedRunner();
    await createPipeline(b, project, singleJob('local'));
    const res = await simB.requestJob(token);
    expect(res.statusCode).toBe(201);
    expect(decodeJobResponse(res).job_info.name).toBe('local');
  });

  it('a runner paused through one instance gets nothing from the other, and its job once unpaused', async () => {
    const { project, runner, token, simB } = await cachedRunner();
    const paused = nextEvent(b, 'runners', runner.id);
    expect((await a.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { paused: true } })).statusCode).toBe(200);
    await paused;
    const pipeline = await createPipeline(a, project, singleJob());
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    expect((await jobsOf(a, pipeline.id))[0]).toMatchObject({ status: 'pending', runner_id: null });
    const unpaused = nextEvent(b, 'runners', runner.id);
    expect((await a.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { paused: false } })).statusCode).toBe(200);
    await unpaused;
    expect((await simB.requestJob(token)).statusCode).toBe(201);
  });

  it('new tags set through one instance let the other hand out a job it refused before', async () => {
    const { project, runner, token, simB } = await cachedRunner();
    await createPipeline(a, project, singleJob('tagged', { tags: ['docker'] }));
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    expect((await simB.requestJob(token)).statusCode).toBe(204); // from memory
    const changed = nextEvent(b, 'runners', runner.id);
    expect((await a.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { tag_list: ['docker'] } })).statusCode).toBe(200);
    await changed;
    expect(decodeJobResponse(await simB.requestJob(token)).job_info.name).toBe('tagged');
  });

  it('a runner assigned to another project through one instance gets that project’s job from the other', async () => {
    const { runner, token, simB } = await cachedRunner();
    const other = await a.fx.project({ namespace: group });
    await createPipeline(a, other, singleJob('elsewhere'));
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    const assigned = nextEvent(b, 'runners', runner.id);
    expect((await a.api({ method: 'POST', url: `/api/v4/projects/${other.id}/runners`, payload: { runner_id: runner.id } })).statusCode).toBe(201);
    await assigned;
    expect(decodeJobResponse(await simB.requestJob(token)).job_info.name).toBe('elsewhere');
  });

  it('enabling shared runners on a project through one instance lets an instance runner on the other take its job', async () => {
    const project = await a.fx.project({ namespace: group, sharedRunnersEnabled: false });
    await createPipeline(a, project, singleJob('shared'));
    const { token } = await a.fx.runner({ type: 'instance_type', tags: ['only-this-test'], runUntagged: true });
    const { simB } = sims();
    // Other tests' pending untagged jobs are taken first; drain until this runner has nothing.
    for (let i = 0; i < 10 && (await simB.requestJob(token)).statusCode === 201; i++);
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    const changed = nextEvent(b, 'jobs');
    expect((await a.api({ method: 'PUT', url: `/api/v4/projects/${project.id}`, payload: { shared_runners_enabled: true } })).statusCode).toBe(200);
    await changed;
    expect(decodeJobResponse(await simB.requestJob(token)).job_info.name).toBe('shared');
  });
});

describe('heartbeats and the safety nets', () => {
  it('a first poll on an instance writes the runner and its new manager before answering', async () => {
    const { runner, token } = await a.fx.runner({ projects: [await a.fx.project({ namespace: group })] });
    const sim = RunnerSimulator.forApp(b.app, { systemId: 's_aaaaaaaaaaaa' });
    expect((await sim.requestJob(token)).statusCode).toBe(204);
    const shown = await a.api({ method: 'GET', url: `/api/v4/runners/${runner.id}/managers` });
    expect(shown.json()).toEqual([expect.objectContaining({ system_id: 's_aaaaaaaaaaaa', status: 'online' })]);
    expect((await a.api({ method: 'GET', url: `/api/v4/runners/${runner.id}` })).json().status).toBe('online');
  });

  it('writes a plain contact only once the stored one is CONTACT_REWRITE_MS old, with the next flush', async () => {
    const { runner, token, simB } = await cachedRunner();
    const stored = async () => {
      const row = await a.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id }, include: { managers: true } });
      return { runner: row.contacted_at!.getTime(), manager: row.managers.find((m) => m.system_xid === DEFAULT_SYSTEM_ID)!.contacted_at!.getTime() };
    };
    const before = await stored();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A contact right after the last write: nothing to write (contacted_at may lag by up to a minute).
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    await runnerCache(b.ctx).heartbeats.flush();
    expect(await stored()).toEqual(before);
    // Once the stored contact is old enough, the next poll's contact is queued and written by the flush.
    const entry = runnerCache(b.ctx).runners.entryById(runner.id)!;
    for (const manager of entry.managers.values()) manager.contactQueuedAt -= CONTACT_REWRITE_MS;
    expect((await simB.requestJob(token)).statusCode).toBe(204);
    expect(runnerCache(b.ctx).heartbeats.pendingCount).toBeGreaterThan(0);
    await runnerCache(b.ctx).heartbeats.flush();
    const after = await stored();
    expect(after.runner).toBeGreaterThan(before.runner);
    expect(after.manager).toBeGreaterThan(before.manager);
  });

  it('writes changed runner details within a second, without waiting for the periodic flush', async () => {
    const { runner, token } = await cachedRunner();
    const sim = RunnerSimulator.forApp(b.app, { info: { ...shellInfo(), version: '20.0.1' } });
    expect((await sim.requestJob(token)).statusCode).toBe(204);
    await vi.waitFor(async () => {
      const managers = await a.api({ method: 'GET', url: `/api/v4/runners/${runner.id}/managers` });
      expect(managers.json()).toEqual([expect.objectContaining({ system_id: DEFAULT_SYSTEM_ID, version: '20.0.1' })]);
    }, { timeout: 3000, interval: 100 });
  });

  it('after losing its notification connection an instance trusts no cached token, then caches again once reconnected', async () => {
    const { runner, token, simB } = await cachedRunner();
    const hub = runnerCache(b.ctx);
    hub.simulateConnectionLoss();
    expect(hub.runners.get(b.ctx.secrets.digest(token))).toBeUndefined();
    // A change nobody announces (straight in the database) is seen at once.
    await a.ctx.prisma.runner.update({ where: { id: runner.id }, data: { token_expires_at: new Date(Date.now() - 1000) } });
    expect((await simB.requestJob(token)).statusCode).toBe(403);
    await vi.waitFor(() => expect(hub.active).toBe(true), { timeout: 5000, interval: 20 });
    const fresh = await cachedRunner();
    expect(hub.runners.get(b.ctx.secrets.digest(fresh.token))).toBeDefined();
  });

  it('the periodic revalidation drops a cached runner changed behind the server’s back, and keeps the others', async () => {
    const { runner, token, simB } = await cachedRunner();
    const untouched = await cachedRunner();
    await a.ctx.prisma.runner.update({ where: { id: runner.id }, data: { token_expires_at: new Date(Date.now() - 1000) } });
    await runnerCache(b.ctx).revalidate();
    expect(runnerCache(b.ctx).runners.get(b.ctx.secrets.digest(token))).toBeUndefined();
    expect(runnerCache(b.ctx).runners.get(b.ctx.secrets.digest(untouched.token))).toBeDefined();
    expect((await simB.requestJob(token)).statusCode).toBe(403);
  });
});
