import { spawnSync } from 'node:child_process';
import { it, expect } from 'vitest';
import { Gitlab } from '@gitbeaker/rest';
import { createListeningApp } from './helpers/listen.js';
it('smoke', async () => {
  const t = await createListeningApp();
  try {
    const r = spawnSync('/usr/bin/python3', ['/tmp/idsmoke/smoke.py'], { env: { ...process.env, URL: t.url, TOKEN: t.rootToken }, encoding: 'utf8' });
    console.log('PY', r.status, r.stdout, r.stderr.slice(-3000));
    const api = new Gitlab({ host: t.url, token: t.rootToken });
    const user = await api.Users.create({ email: 'gb@example.com', username: 'gbuser', name: 'GB', password: 's3cur3s3cr3T', skipConfirmation: true } as any);
    const me = await api.Users.showCurrentUser();
    const group = await api.Groups.create('GB Group', 'gb-group', { visibility: 'internal' } as any);
    const sub = await api.Groups.create('GB Sub', 'gb-sub', { parentId: group.id } as any);
    const member = await api.GroupMembers.add(group.id, 30, { userId: user.id } as any).catch(async (e) => { console.log('add variant', e.message); return (api.GroupMembers as any).add(group.id, user.id, 30); });
    const project = await api.Projects.create({ name: 'GB Proj', namespaceId: sub.id } as any);
    const shown = await api.Projects.show('gb-group/gb-sub/gb-proj');
    const edited = await api.Projects.edit(project.id, { sharedRunnersEnabled: false } as any);
    const pm = await api.ProjectMembers.add(project.id, 40, { userId: user.id } as any).catch(async (e) => { console.log('padd variant', e.message); return (api.ProjectMembers as any).add(project.id, user.id, 40); });
    const groups = await api.Groups.all();
    const users = await api.Users.all();
    const members = await api.GroupMembers.all(group.id);
    const settings = await api.ApplicationSettings.show();
    const gshow = await api.Groups.show('gb-group/gb-sub');
    console.log('GB', JSON.stringify({ me: me.username, user: user.username, group: group.full_path, sub: sub.full_path, member: (member as any).access_level, project: project.path_with_namespace, shown: shown.id === project.id, edited: edited.shared_runners_enabled, pm: (pm as any).access_level, groups: groups.length, users: users.length, members: members.length, settings: (settings as any).allow_runner_registration_token, gshow: gshow.full_path }));
    expect(r.status).toBe(0);
  } finally {
    await t.close();
  }
});
