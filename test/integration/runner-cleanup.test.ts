import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPeerApp, createTestApp, type TestApp } from '../helpers/app.js';
import type { Namespace, Project, User } from '../../src/generated/prisma/client.js';
import { AccessLevel } from '../../src/policies/access-levels.js';

// Stale-runner cleanup and scheduled pruning (extensions, docs/fleet-management.md).

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

let t: TestApp;
let group: Namespace;
let project: Project;
let owner: { user: User; token: string };
let maintainer: { user: User; token: string };

beforeAll(async () => {
  t = await createTestApp();
  group = await t.fx.group({ path: 'fleet' });
  project = await t.fx.project({ namespace: group, path: 'app' });
  owner = await t.fx.user();
  maintainer = await t.fx.user();
  await t.fx.groupMember(group, owner.user, AccessLevel.OWNER);
  await t.fx.groupMember(group, maintainer.user, AccessLevel.MAINTAINER);
});
afterAll(async () => {
  await t?.close();
});

const cleanup = (payload: Record<string, unknown>, token?: string) => t.api({ method: 'POST', url: '/api/v4/runners/cleanup', payload, token });
const exists = async (id: number) => (await t.ctx.prisma.runner.count({ where: { id } })) === 1;

describe('POST /runners/cleanup', () => {
  it('refuses to run without a filter, and is for admins only', async () => {
    const res = await cleanup({ dry_run: false });
    expect([res.statusCode, res.json()]).toEqual([
      400,
      { error: 'type, status, paused, tag_list, version_prefix, contacted_before are missing, at least one parameter must be provided' },
    ]);
    expect((await cleanup({ contacted_before: '2020-01-01' }, owner.token)).statusCode).toBe(403);
    const bad = await cleanup({ contacted_before: 'last week' });
    expect([bad.statusCode, bad.json()]).toEqual([400, { error: 'contacted_before is invalid' }]);
  });

  it('is a dry run by default: lists what it would delete and deletes nothing', async () => {
    const old = await t.fx.runner({ type: 'instance_type', description: 'old', contactedAt: ago(40), createdAt: ago(100) });
    const never = await t.fx.runner({ projects: [project], description: 'never', contactedAt: null, createdAt: ago(50) });
    const fresh = await t.fx.runner({ type: 'instance_type', description: 'fresh', contactedAt: ago(1), createdAt: ago(100) });
    const res = await cleanup({ contacted_before: ago(30).toISOString() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      dry_run: true,
      matched: 2,
      deleted: 0,
      runners: [
        { id: old.runner.id, description: 'old', runner_type: 'instance_type', contacted_at: old.runner.contacted_at!.toISOString() },
        { id: never.runner.id, description: 'never', runner_type: 'project_type', contacted_at: null },
      ],
    });
    for (const r of [old, never, fresh]) expect(await exists(r.runner.id)).toBe(true);
  });

  it('dry_run=false deletes at most `limit` matching runners, oldest ids first, each with a ci_runners_bulk_deleted event', async () => {
    const tagged = [];
    for (let i = 0; i < 3; i++) tagged.push(await t.fx.runner({ type: 'instance_type', tags: ['sweep'], contactedAt: ago(20) }));
    const other = await t.fx.runner({ type: 'instance_type', tags: ['keep'], contactedAt: ago(20) });
    const res = await cleanup({ tag_list: 'sweep', dry_run: false, limit: 2 });
    expect(res.json()).toMatchObject({ dry_run: false, matched: 3, deleted: 2 });
    expect(res.json().runners.map((r: { id: number }) => r.id)).toEqual([tagged[0]!.runner.id, tagged[1]!.runner.id]);
    expect([await exists(tagged[0]!.runner.id), await exists(tagged[1]!.runner.id), await exists(tagged[2]!.runner.id), await exists(other.runner.id)]).toEqual([false, false, true, true]);
    const events = await t.ctx.prisma.auditEvent.findMany({ where: { event_name: 'ci_runners_bulk_deleted' }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.target_id, e.author_name])).toEqual([
      [tagged[0]!.runner.id, 'Administrator'],
      [tagged[1]!.runner.id, 'Administrator'],
    ]);
    // The deleted runners' tokens stop working at once.
    expect((await t.api({ method: 'POST', url: '/api/v4/runners/verify', payload: { token: tagged[0]!.token }, token: null })).statusCode).toBe(403);
  });
});

describe('POST /groups/:id/runners/cleanup', () => {
  it("lets a group's Owner clean up the group's own runners only; a Maintainer gets 403", async () => {
    const mine = await t.fx.runner({ group, tags: ['gclean'], contactedAt: ago(20) });
    const projectRunner = await t.fx.runner({ projects: [project], tags: ['gclean'], contactedAt: ago(20) });
    const instance = await t.fx.runner({ type: 'instance_type', tags: ['gclean'], contactedAt: ago(20) });
    const url = `/api/v4/groups/${group.id}/runners/cleanup`;
    expect((await t.api({ method: 'POST', url, payload: { tag_list: 'gclean' }, token: maintainer.token })).statusCode).toBe(403);
    const res = await t.api({ method: 'POST', url, payload: { tag_list: 'gclean', dry_run: 'false' }, token: owner.token });
    expect(res.json()).toMatchObject({ dry_run: false, matched: 1, deleted: 1, runners: [{ id: mine.runner.id, runner_type: 'group_type' }] });
    expect([await exists(mine.runner.id), await exists(projectRunner.runner.id), await exists(instance.runner.id)]).toEqual([false, true, true]);
    const [event] = await t.ctx.prisma.auditEvent.findMany({ where: { target_id: mine.runner.id } });
    expect(event).toMatchObject({ event_name: 'ci_runners_bulk_deleted', entity_type: 'Group', entity_id: group.id, author_id: owner.user.id });
  });
});

describe('scheduled pruning', () => {
  async function until(check: () => Promise<boolean>, ms = 15_000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  it("prunes stale runners of groups that allow it, then every stale runner once the instance setting is on; one event per runner across two instances", async () => {
    const p = await createTestApp({ STALE_RUNNER_PRUNING_INTERVAL_SECONDS: '0.2' });
    const peer = await createPeerApp(p, { STALE_RUNNER_PRUNING_INTERVAL_SECONDS: '0.2' });
    try {
      const pruning = await p.fx.group({ path: 'pruning' });
      const sub = await p.fx.group({ path: 'sub', parent: pruning });
      const subProject = await p.fx.project({ namespace: sub, path: 'svc' });
      const keep = await p.fx.group({ path: 'keep' });
      const staleSub = await p.fx.runner({ group: sub, contactedAt: ago(8), createdAt: ago(30) });
      const staleProject = await p.fx.runner({ projects: [subProject], contactedAt: null, createdAt: ago(9) });
      const freshSub = await p.fx.runner({ group: sub, contactedAt: ago(6), createdAt: ago(30) });
      const staleKeep = await p.fx.runner({ group: keep, contactedAt: ago(8), createdAt: ago(30) });
      const staleInstance = await p.fx.runner({ type: 'instance_type', contactedAt: ago(10), createdAt: ago(30) });
      const there = (id: number) => p.ctx.prisma.runner.count({ where: { id } }).then((n) => n === 1);

      expect((await p.api({ method: 'PUT', url: `/api/v4/groups/${pruning.id}`, payload: { allow_stale_runner_pruning: true } })).statusCode).toBe(200);
      expect(await until(async () => !(await there(staleSub.runner.id)) && !(await there(staleProject.runner.id)))).toBe(true);
      expect([await there(freshSub.runner.id), await there(staleKeep.runner.id), await there(staleInstance.runner.id)]).toEqual([true, true, true]);

      const settings = await p.api({ method: 'PUT', url: '/api/v4/application/settings', payload: { stale_runner_pruning_enabled: true } });
      expect(settings.json().stale_runner_pruning_enabled).toBe(true);
      expect(await until(async () => !(await there(staleKeep.runner.id)) && !(await there(staleInstance.runner.id)))).toBe(true);
      expect(await there(freshSub.runner.id)).toBe(true);

      const events = await p.ctx.prisma.auditEvent.findMany({ where: { event_name: 'ci_runner_pruned' } });
      expect(events.map((e) => e.target_id).sort()).toEqual([staleSub, staleProject, staleKeep, staleInstance].map((r) => r.runner.id).sort());
      expect(new Set(events.map((e) => e.author_name))).toEqual(new Set(['GitLab Runners API (scheduled pruning)']));
    } finally {
      await peer.close();
      await p.close();
    }
  });
});
