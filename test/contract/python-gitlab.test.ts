import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListeningApp } from '../helpers/listen.js';
import { ensurePythonGitlab, runPython } from '../helpers/python-gitlab.js';
import type { TestApp } from '../helpers/app.js';

let t: TestApp & { url: string };
beforeAll(async () => {
  ensurePythonGitlab();
  t = await createListeningApp();
}, 360_000);
afterAll(async () => {
  await t?.close();
});

describe('python-gitlab 3.12 against the server', () => {
  it('sets up users, groups, projects and members, then drives every runners call', async () => {
    const out = await runPython<Record<string, any>>(path.resolve('test/contract/python_gitlab_contract.py'), {
      GL_URL: t.url,
      GL_TOKEN: t.rootToken,
    });
    expect(out.root_username).toBe('root');
    expect(out.pat_prefix).toBe('glpat-');
    expect(out.subgroup_full_path).toBe('py-group/py-sub');
    expect(out.project_path).toBe('py-group/py-sub/py-proj');
    expect(out.project_members).toContain('py_maint');
    expect(out.maintainer_sees_runners_token).toBe(true);
    expect(out.registered_token_prefix).toBe('t3_');
    expect(out.runner_description).toBe('py-runner');
    expect(out.runner_tags).toEqual(['linux', 'py']);
    expect(out.runner_status).toBe('never_contacted');
    expect(out.after_save).toBe('py-runner-renamed');
    expect(out.runners_all_list).toEqual([expect.any(Number)]);
    expect(out.runners_all_paused_false).toEqual(out.runners_all_list);
    expect(out.runners_all_scope).toEqual(out.runners_all_list);
    expect(out.owned_list_as_maint).toEqual(out.runners_all_list);
    expect(out.project_runners).toEqual(out.runners_all_list);
    expect(out.group_runners).toEqual([]);
    expect(out.jobs).toEqual([]);
    expect(out.verify_ok).toBe(true);
    expect(out.other_project_runners).toEqual(out.runners_all_list);
    expect(out.other_after_delete).toEqual([]);
    expect(out.paged_count).toBe(6);
    expect(out.page1_len).toBe(2);
    expect(out.offset_ids.length).toBeGreaterThan(4);
    expect(out.keyset_ids).toEqual(out.offset_ids);
    expect(out.keyset_desc_ids).toEqual([...out.offset_ids].reverse());
    expect(out.deleted_404).toBe(true);
    expect(out.bad_verify).toBe(403);
  }, 150_000);
});
