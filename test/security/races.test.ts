import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { RunnerSimulator } from '../helpers/runner-simulator.js';

// Concurrent requests for the same thing: the database decides, every
// request gets a clean answer (never a 500), and nothing is lost or doubled.
// Requests are injected at once; the pool has several connections, so they
// really overlap in PostgreSQL.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const statuses = (responses: { statusCode: number }[]) => {
  const out: Record<number, number> = {};
  for (const r of responses) out[r.statusCode] = (out[r.statusCode] ?? 0) + 1;
  return out;
};

describe('races', () => {
  it('50 parallel registrations with one registration token: 50 runners, 50 distinct tokens', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const before = await t.ctx.prisma.runner.count({ where: { runner_projects: { some: { project_id: project.id } } } });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => RunnerSimulator.forApp(t.app).register(project.runnersToken, { description: `racer ${i}` })),
    );
    expect(statuses(responses)).toEqual({ 201: 50 });
    const bodies = responses.map((r) => r.json<{ id: number; token: string }>());
    expect(new Set(bodies.map((b) => b.token)).size).toBe(50);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(50);
    const after = await t.ctx.prisma.runner.count({ where: { runner_projects: { some: { project_id: project.id } } } });
    expect(after - before).toBe(50);
    // Every token works.
    const verified = await Promise.all(bodies.map((b) => RunnerSimulator.forApp(t.app).verify(b.token)));
    expect(statuses(verified)).toEqual({ 200: 50 });
  });

  it('20 parallel resets with the same current token: exactly one succeeds and exactly one token works', async () => {
    const { runner, token } = await t.fx.runner();
    const responses = await Promise.all(Array.from({ length: 20 }, () => RunnerSimulator.forApp(t.app).resetToken(token)));
    const codes = statuses(responses);
    expect(codes[201]).toBe(1);
    expect(codes[201]! + (codes[403] ?? 0)).toBe(20);
    const winner = responses.find((r) => r.statusCode === 201)!.json<{ token: string }>().token;
    const sim = RunnerSimulator.forApp(t.app);
    expect((await sim.verify(winner)).statusCode).toBe(200);
    expect((await sim.verify(token)).statusCode).toBe(403);
    const stored = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
    expect(stored.token_digest).toBe(t.ctx.secrets.digest(winner));
  });

  it('the same runner assigned to the same project 10 times at once: one link, one 201, no 500', async () => {
    const group = await t.fx.group();
    const owner = await t.fx.project({ namespace: group });
    const target = await t.fx.project({ namespace: group });
    const { runner } = await t.fx.runner({ projects: [owner] });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => t.api({ method: 'POST', url: `/api/v4/projects/${target.id}/runners`, payload: { runner_id: runner.id } })),
    );
    const codes = statuses(responses);
    expect(codes[201]).toBe(1);
    for (const r of responses.filter((x) => x.statusCode !== 201)) {
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
      expect(Object.keys(r.json())).toEqual(['message']);
    }
    expect(await t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id, project_id: target.id } })).toBe(1);
  });

  it('10 parallel DELETE /runners/:id: one 204, the rest 404', async () => {
    const { runner } = await t.fx.runner();
    const responses = await Promise.all(Array.from({ length: 10 }, () => t.api({ method: 'DELETE', url: `/api/v4/runners/${runner.id}` })));
    expect(statuses(responses)).toEqual({ 204: 1, 404: 9 });
    for (const r of responses.filter((x) => x.statusCode === 404)) expect(r.json()).toEqual({ message: '404 Runner Not Found' });
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
  });

  it('parallel unregistrations with the runner token: 204 or 403 each (at least one 204), and the runner is gone', async () => {
    // Every caller held a valid token when it asked; like GitLab's destroy, a
    // delete that finds the row already gone is still a success.
    const { runner, token } = await t.fx.runner();
    const responses = await Promise.all(Array.from({ length: 10 }, () => RunnerSimulator.forApp(t.app).unregister(token)));
    const codes = statuses(responses);
    expect(codes[204]).toBeGreaterThanOrEqual(1);
    expect((codes[204] ?? 0) + (codes[403] ?? 0)).toBe(10);
    expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
  });

  it('parallel PUT /runners/:id of different fields: every change survives', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const { runner } = await t.fx.runner({ projects: [project], tags: ['old'] });
    const changes: Record<string, unknown>[] = [
      { description: 'raced description' },
      { tag_list: ['raced-a', 'raced-b'] },
      { locked: true },
      { maximum_timeout: 7200 },
      { access_level: 'ref_protected' },
      { maintenance_note: 'raced note' },
      { paused: true },
    ];
    const responses = await Promise.all(changes.map((payload) => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload })));
    expect(statuses(responses)).toEqual({ 200: changes.length });
    const final = (await t.api({ method: 'GET', url: `/api/v4/runners/${runner.id}` })).json();
    expect(final).toMatchObject({
      description: 'raced description',
      tag_list: ['raced-a', 'raced-b'],
      locked: true,
      maximum_timeout: 7200,
      access_level: 'ref_protected',
      maintenance_note: 'raced note',
      paused: true,
      active: false,
    });
  });

  it('parallel assign and unassign of one runner on many projects: no 500, links match the answers', async () => {
    const group = await t.fx.group();
    const owner = await t.fx.project({ namespace: group });
    const targets = await Promise.all(Array.from({ length: 8 }, () => t.fx.project({ namespace: group })));
    const { runner } = await t.fx.runner({ projects: [owner] });
    const assigned = await Promise.all(targets.map((p) => t.api({ method: 'POST', url: `/api/v4/projects/${p.id}/runners`, payload: { runner_id: runner.id } })));
    expect(statuses(assigned)).toEqual({ 201: targets.length });
    const unassigned = await Promise.all(targets.map((p) => t.api({ method: 'DELETE', url: `/api/v4/projects/${p.id}/runners/${runner.id}` })));
    expect(statuses(unassigned)).toEqual({ 204: targets.length });
    expect(await t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id } })).toBe(1);
  });
});
