import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gitlab } from '@gitbeaker/rest';
import { createListeningApp } from '../helpers/listen.js';
import type { TestApp } from '../helpers/app.js';

// @gitbeaker/rest 43.8 exactly as a user script drives it (its documented usage).

let t: TestApp & { url: string };
let root: InstanceType<typeof Gitlab>;
beforeAll(async () => {
  t = await createListeningApp();
  root = new Gitlab({ host: t.url, token: t.rootToken });
});
afterAll(async () => {
  await t?.close();
});

describe('@gitbeaker/rest 43.8 against the server', () => {
  it('sets up a user, token, group, subgroup, project and members; the maintainer reads runners_token', async () => {
    const user = await root.Users.create({ username: 'gb_maint', name: 'GB', email: 'gb@example.com', password: 'Secret-password-1', skipConfirmation: true });
    const pat = await root.Users.createPersonalAccessToken(user.id, 'gb', ['api']);
    expect(pat.token).toMatch(/^glpat-/);
    const group = await root.Groups.create('GB Group', 'gb-group');
    const sub = await root.Groups.create('GB Sub', 'gb-sub', { parentId: group.id });
    expect(sub.full_path).toBe('gb-group/gb-sub');
    const project = await root.Projects.create({ name: 'gb-proj', namespaceId: sub.id });
    expect(project.path_with_namespace).toBe('gb-group/gb-sub/gb-proj');
    await root.GroupMembers.add(sub.id, 30, { userId: user.id });
    await root.ProjectMembers.add(project.id, 40, { userId: user.id });
    const maint = new Gitlab({ host: t.url, token: pat.token! });
    const seen = await maint.Projects.show(project.path_with_namespace as string);
    expect(seen.runners_token).toMatch(/^GR1348941/);
  });

  it('registers, lists, shows, edits, assigns, verifies and removes runners', async () => {
    const group = await root.Groups.create('GB Runners', 'gb-runners');
    const project = await root.Projects.create({ name: 'gb-r-proj', namespaceId: group.id });
    const other = await root.Projects.create({ name: 'gb-r-other', namespaceId: group.id });
    const token = (await root.Projects.show(project.id)).runners_token as string;

    const reg = await root.Runners.create(token, {
      description: 'gb-runner',
      info: { name: 'gitlab-runner', version: '16.1.0', platform: 'linux', architecture: 'amd64' },
      tagList: ['gb', 'linux c'],
      runUntagged: false,
    });
    expect(reg.token).toMatch(/^t3_/);
    const id = reg.id as number;

    const all = await root.Runners.all({ type: 'project_type', tagList: ['gb', 'linux c'], paused: false } as any);
    expect(all.map((r) => r.id)).toEqual([id]);
    const owned = await root.Runners.all({ owned: true } as any);
    expect(owned.map((r) => r.id)).toContain(id);
    const byProject = await root.Runners.all({ projectId: project.path_with_namespace } as any);
    expect(byProject.map((r) => r.id)).toEqual([id]);
    const byGroup = await root.Runners.all({ groupId: group.id } as any);
    expect(byGroup).toEqual([]);

    const shown = await root.Runners.show(id);
    expect(shown.description).toBe('gb-runner');
    expect(shown.tag_list).toEqual(['gb', 'linux c']);
    const edited = await root.Runners.edit(id, { description: 'edited', tagList: ['x', 'y'], paused: true } as any);
    expect(edited.description).toBe('edited');
    expect(edited.paused).toBe(true);
    expect(edited.active).toBe(false);

    const enabled = await root.Runners.enable(other.id, id);
    expect(enabled.id).toBe(id);
    await root.Runners.disable(other.id, id);
    expect((await root.Runners.all({ projectId: other.id } as any)).map((r) => r.id)).not.toContain(id);

    const jobs = await root.Runners.allJobs(id, { status: 'success', orderBy: 'id', sort: 'asc' } as any);
    expect(jobs).toEqual([]);

    const verified = await root.Runners.verify({ token: reg.token } as any);
    expect(verified).toBeDefined();

    const created = await root.Users.createCIRunner('project_type', { projectId: project.id, description: 'made by gb' } as any);
    expect(created.token).toMatch(/^glrt-t3_/);

    await root.Runners.remove({ runnerId: id });
    await expect(root.Runners.show(id)).rejects.toThrow(/404/);
    await root.Runners.remove({ token: created.token } as any);
  });

  it('follows Link rel="next" across pages and reads the pagination headers', async () => {
    for (let i = 0; i < 5; i++) await root.Users.createCIRunner('instance_type', { description: `gb-bulk-${i}` } as any);
    const { data, paginationInfo } = await root.Runners.all({ perPage: 2, page: 1, showExpanded: true, type: 'instance_type' } as any) as any;
    expect(data).toHaveLength(2);
    expect(paginationInfo.total).toBe(5);
    expect(paginationInfo.totalPages).toBe(3);
    expect(paginationInfo.next).toBe(2);
    const everything = await root.Runners.all({ perPage: 2, type: 'instance_type' } as any);
    expect(everything).toHaveLength(5);
  });

  it('walks a runner list in keyset mode (extension): the same runners as the offset pages, in id order', async () => {
    const ids = (rows: Array<{ id: number }>) => rows.map((r) => r.id);
    const offset = ids(await root.Runners.all({ perPage: 100, type: 'instance_type' } as any));
    expect(offset.length).toBeGreaterThanOrEqual(5);
    const asc = await root.Runners.all({ pagination: 'keyset', orderBy: 'id', sort: 'asc', perPage: 2, type: 'instance_type' } as any);
    expect(ids(asc)).toEqual(offset);
    const desc = await root.Runners.all({ pagination: 'keyset', orderBy: 'id', sort: 'desc', perPage: 2, type: 'instance_type' } as any);
    expect(ids(desc)).toEqual([...offset].reverse());
  });
});
