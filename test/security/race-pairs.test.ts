import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { RunnerSimulator } from '../helpers/runner-simulator.js';

// Pairs of conflicting operations from the route table, fired together over
// many rounds. Every answer is a clean 2xx/4xx (never a 5xx), the database
// holds the invariants GitLab validates on the runner model after every
// round, and the final state is one a serial order of the winners gives.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const ROUNDS = 8;

function expectNo5xx(responses: { statusCode: number; body: string }[], label: string) {
  const bad = responses.filter((r) => r.statusCode >= 500).map((r) => `${r.statusCode} ${r.body}`);
  expect(bad, label).toEqual([]);
}

/** Ci::Runner's model validations, read back from the database for every runner. */
async function expectRunnerInvariants() {
  const broken = await t.ctx.pool.query<{ id: number; problem: string }>(`
    SELECT id, 'untagged refused but no tags' AS problem FROM runners WHERE NOT run_untagged AND cardinality(tag_list) = 0
    UNION ALL SELECT id, 'maximum_timeout below 600' FROM runners WHERE maximum_timeout IS NOT NULL AND maximum_timeout < 600
    UNION ALL SELECT r.id, 'instance runner with projects or groups' FROM runners r WHERE r.runner_type = 1
      AND (EXISTS (SELECT 1 FROM runner_projects rp WHERE rp.runner_id = r.id) OR EXISTS (SELECT 1 FROM runner_namespaces rn WHERE rn.runner_id = r.id))
    UNION ALL SELECT r.id, 'group runner without exactly one group, or with projects' FROM runners r WHERE r.runner_type = 2
      AND ((SELECT count(*) FROM runner_namespaces rn WHERE rn.runner_id = r.id) <> 1 OR EXISTS (SELECT 1 FROM runner_projects rp WHERE rp.runner_id = r.id))
    UNION ALL SELECT r.id, 'project runner with a group' FROM runners r WHERE r.runner_type = 3
      AND EXISTS (SELECT 1 FROM runner_namespaces rn WHERE rn.runner_id = r.id)
    UNION ALL SELECT r.id, 'project runner whose owner is not one of its projects' FROM runners r WHERE r.runner_type = 3
      AND EXISTS (SELECT 1 FROM runner_projects rp WHERE rp.runner_id = r.id)
      AND EXISTS (SELECT 1 FROM projects p WHERE p.id = r.sharding_key_id)
      AND NOT EXISTS (SELECT 1 FROM runner_projects rp WHERE rp.runner_id = r.id AND rp.project_id = r.sharding_key_id)`);
  expect(broken.rows).toEqual([]);
}

describe('conflicting operations in pairs', () => {
  it('DELETE /runners/:id against 5 × DELETE /projects/:id/runners/:runner_id: no 5xx, runner gone, no link left', async () => {
    const group = await t.fx.group();
    const p0 = await t.fx.project({ namespace: group });
    const p1 = await t.fx.project({ namespace: group });
    for (let round = 0; round < ROUNDS; round++) {
      const { runner } = await t.fx.runner({ projects: [p0, p1] });
      const responses = await Promise.all([
        t.api({ method: 'DELETE', url: `/api/v4/runners/${runner.id}` }),
        ...Array.from({ length: 5 }, () => t.api({ method: 'DELETE', url: `/api/v4/projects/${p1.id}/runners/${runner.id}` })),
      ]);
      expectNo5xx(responses, `round ${round}`);
      expect(responses[0]!.statusCode).toBe(204);
      // Serially: at most one unassign (204) before the delete, every other one 404.
      const unassigns = responses.slice(1).map((r) => r.statusCode).sort();
      expect(unassigns.filter((c) => c === 204).length).toBeLessThanOrEqual(1);
      expect(unassigns.filter((c) => c !== 204)).toEqual(unassigns.filter((c) => c !== 204).map(() => 404));
      expect(await t.ctx.prisma.runnerProject.count({ where: { runner_id: runner.id } })).toBe(0);
      await expectRunnerInvariants();
    }
  });

  it('assign, unassign and delete of one runner at once: no 5xx, links match a serial order', async () => {
    const group = await t.fx.group();
    const owner = await t.fx.project({ namespace: group });
    const a = await t.fx.project({ namespace: group });
    const b = await t.fx.project({ namespace: group });
    for (let round = 0; round < ROUNDS; round++) {
      const { runner } = await t.fx.runner({ projects: [owner, a] });
      const deleting = round % 2 === 0;
      const responses = await Promise.all([
        t.api({ method: 'POST', url: `/api/v4/projects/${b.id}/runners`, payload: { runner_id: runner.id } }),
        t.api({ method: 'DELETE', url: `/api/v4/projects/${a.id}/runners/${runner.id}` }),
        ...(deleting ? [t.api({ method: 'DELETE', url: `/api/v4/runners/${runner.id}` })] : []),
      ]);
      expectNo5xx(responses, `round ${round}`);
      const [assign, unassign] = responses;
      const links = (await t.ctx.prisma.runnerProject.findMany({ where: { runner_id: runner.id } })).map((l) => l.project_id).sort((x, y) => x - y);
      if (!deleting) {
        expect(assign!.statusCode).toBe(201);
        expect(unassign!.statusCode).toBe(204);
        expect(links).toEqual([owner.id, b.id]);
      } else {
        // An admin may delete a runner with several projects: it always wins, and takes every link with it.
        expect(responses[2]!.statusCode).toBe(204);
        expect([201, 404]).toContain(assign!.statusCode);
        expect([204, 404]).toContain(unassign!.statusCode);
        expect(links).toEqual([]);
      }
      await expectRunnerInvariants();
    }
  });

  it('PUT run_untagged=false against PUT tag_list=[]: one of them is refused, the runner can still take jobs', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const { runner } = await t.fx.runner({ tags: ['a'], runUntagged: true });
      const [untagged, tags] = await Promise.all([
        t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { run_untagged: false } }),
        t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { tag_list: [] } }),
      ]);
      expectNo5xx([untagged!, tags!], `round ${round}`);
      const codes = `${untagged!.statusCode}/${tags!.statusCode}`;
      outcomes.add(codes);
      // Serially, whichever runs second is refused with 400.
      expect(['200/400', '400/200']).toContain(codes);
      const stored = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
      if (untagged!.statusCode === 200) expect([stored.run_untagged, stored.tag_list]).toEqual([false, ['a']]);
      else expect([stored.run_untagged, stored.tag_list]).toEqual([true, []]);
      await expectRunnerInvariants();
    }
    expect(outcomes.size).toBeGreaterThanOrEqual(1);
  });

  it('concurrent PUTs each answer with the caller’s own write', async () => {
    const { runner } = await t.fx.runner();
    for (let round = 0; round < ROUNDS; round++) {
      const descriptions = Array.from({ length: 6 }, (_, i) => `round ${round} writer ${i}`);
      const responses = await Promise.all(
        descriptions.map((description) => t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { description } })),
      );
      expectNo5xx(responses, `round ${round}`);
      expect(responses.map((r) => r.json<{ description: string }>().description)).toEqual(descriptions);
      // The stored value is the last writer's in some serial order: one of the six.
      const stored = await t.ctx.prisma.runner.findUniqueOrThrow({ where: { id: runner.id } });
      expect(descriptions).toContain(stored.description);
    }
  });

  it('reset, verify, poll, unregister and PUT of one runner at once: no 5xx, the runner is gone, at most one reset won', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { runner, token } = await t.fx.runner({ tags: ['x'] });
      const sim = () => RunnerSimulator.forApp(t.app);
      const responses = await Promise.all([
        t.api({ method: 'POST', url: `/api/v4/runners/${runner.id}/reset_authentication_token` }),
        sim().resetToken(token),
        sim().verify(token),
        sim().requestJob(token),
        t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { run_untagged: false, description: 'storm' } }),
        t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { tag_list: [] } }),
        sim().unregister(token),
        t.api({ method: 'DELETE', url: `/api/v4/runners/${runner.id}` }),
      ]);
      expectNo5xx(responses as { statusCode: number; body: string }[], `round ${round}`);
      // The admin DELETE cannot lose: nothing else removes the runner but the unregister.
      expect([204, 404]).toContain(responses[7]!.statusCode);
      expect([204, 403]).toContain(responses[6]!.statusCode);
      expect(responses[6]!.statusCode === 204 || responses[7]!.statusCode === 204).toBe(true);
      expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
      await expectRunnerInvariants();
    }
  });

  it('unregister with the token against PUT and unassign: no 5xx', async () => {
    const group = await t.fx.group();
    const owner = await t.fx.project({ namespace: group });
    const other = await t.fx.project({ namespace: group });
    for (let round = 0; round < ROUNDS; round++) {
      const { runner, token } = await t.fx.runner({ projects: [owner, other] });
      const responses = await Promise.all([
        RunnerSimulator.forApp(t.app).unregister(token),
        t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { locked: true } }),
        t.api({ method: 'DELETE', url: `/api/v4/projects/${other.id}/runners/${runner.id}` }),
        t.api({ method: 'POST', url: `/api/v4/runners/${runner.id}/reset_authentication_token` }),
      ]);
      expectNo5xx(responses as { statusCode: number; body: string }[], `round ${round}`);
      expect(responses[0]!.statusCode).toBe(204);
      expect([200, 404]).toContain(responses[1]!.statusCode);
      expect([204, 404]).toContain(responses[2]!.statusCode);
      expect([201, 404]).toContain(responses[3]!.statusCode);
      expect(await t.ctx.prisma.runner.findUnique({ where: { id: runner.id } })).toBeNull();
      await expectRunnerInvariants();
    }
  });
});
