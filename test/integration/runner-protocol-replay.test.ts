import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DEFAULT_SYSTEM_ID, decodeTokenResponse, isApplicationJson, RunnerSimulator } from '../helpers/runner-simulator.js';
import { managerStatus, runnerStatus } from '../../src/services/runners/runner-core.js';

// gitlab-runner register (both variants), verify, reset-token and unregister, replayed over
// real HTTP with the exact requests gitlab-runner 19.4.0 sends, asserting
// what the runner needs from each answer and what the server must record.

const REGISTRATION_TOKEN = 'replayRegToken123456';

let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await createTestApp({ GITLAB_SHARED_RUNNERS_REGISTRATION_TOKEN: REGISTRATION_TOKEN });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('server is not listening');
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await t?.close();
});

const loadRunner = (id: number) => t.ctx.prisma.runner.findUnique({ where: { id }, include: { managers: true } });

/** What `register`/`verify` need: exact JSON content type and a Go-decodable body. */
function expectRunnerJson(res: { statusCode: number; headers: Record<string, unknown> }, status: number) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
}

describe('gitlab-runner protocol replay', () => {
  it('glrt- token: register via verify (step 1), verify (step 2), reset (step 7), unregister the manager (step 8)', async () => {
    const { user } = await t.fx.user();
    const { runner, token } = await t.fx.runner({ creator: user, type: 'instance_type', description: 'ui-created' });
    expect(token).toMatch(/^glrt-t1_.{20}$/);
    const sim = RunnerSimulator.forUrl(url);

    // Step 1: `gitlab-runner register --token glrt-…` verifies the token.
    const registered = await sim.verify(token);
    expectRunnerJson(registered, 200);
    const sent = sim.lastRequest!;
    expect(sent.headers).toMatchObject({ 'Runner-Token': token, Accept: 'application/json', 'Content-Type': 'application/json' });
    expect(registered.headers['x-request-id']).toBe(sent.headers['X-Request-Id']);
    const details = decodeTokenResponse(registered);
    expect(details).toEqual({ id: runner.id, token, tokenExpiresAt: null });
    expect(details.id).toBeGreaterThan(0); // register panics on id == 0

    const afterRegister = (await loadRunner(runner.id))!;
    expect(afterRegister.contacted_at!.getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(afterRegister.creation_state).toBe(0); // finished only by the first jobs/request
    expect(runnerStatus(afterRegister)).toBe('online');
    expect(afterRegister.managers).toHaveLength(1);
    const manager = afterRegister.managers[0]!;
    expect(manager).toMatchObject({
      system_xid: DEFAULT_SYSTEM_ID,
      version: '19.4.0',
      revision: 'd79f3e7b',
      platform: 'linux',
      architecture: 'amd64',
      executor_type: 'shell',
      ip_address: '127.0.0.1',
      config: {},
      runtime_features: sim.info.features,
      labels: null,
    });
    expect(managerStatus(manager)).toBe('online');

    // Step 2: `gitlab-runner verify` sends the same request.
    const verified = await sim.verify(token);
    expectRunnerJson(verified, 200);
    expect(decodeTokenResponse(verified).id).toBe(runner.id);
    const afterVerify = (await loadRunner(runner.id))!;
    expect(afterVerify.managers).toHaveLength(1);
    expect(afterVerify.managers[0]!.contacted_at!.getTime()).toBeGreaterThanOrEqual(manager.contacted_at!.getTime());

    // Step 7: reset with the current token; no Runner-Token header, no system_id.
    const reset = await sim.resetToken(token);
    expect(sim.lastRequest!.headers['Runner-Token']).toBeUndefined();
    expect(sim.lastRequest!.body).toBe(JSON.stringify({ token }));
    expectRunnerJson(reset, 201);
    const { token: newToken, tokenExpiresAt } = decodeTokenResponse(reset);
    expect(newToken).toMatch(/^glrt-t1_.{20}$/);
    expect(newToken).not.toBe(token);
    expect(tokenExpiresAt).toBeNull();
    expect((await sim.verify(token)).statusCode).toBe(403);
    expect(decodeTokenResponse(await sim.verify(newToken)).id).toBe(runner.id);

    // Step 8: `gitlab-runner unregister` with a glrt- token removes only this manager.
    const unregistered = await sim.unregisterManager(newToken);
    expect(sim.lastRequest!.body).toBe(JSON.stringify({ token: newToken, system_id: DEFAULT_SYSTEM_ID }));
    expect(unregistered.statusCode).toBe(204);
    const afterUnregister = (await loadRunner(runner.id))!;
    expect(afterUnregister).not.toBeNull();
    expect(afterUnregister.managers.map((m) => m.system_xid)).toEqual(['<legacy>']); // created by the reset's heartbeat
    // A second unregister finds no manager: the runner keeps it in config.toml.
    expect((await sim.unregisterManager(newToken)).statusCode).toBe(404);
  });

  it('registration token: legacy register (step 1), verify (step 2), reset (step 7), unregister (step 8)', async () => {
    const sim = RunnerSimulator.forUrl(url);

    // Step 1, legacy variant: POST /runners with the registration token.
    const registered = await sim.register(REGISTRATION_TOKEN, { description: 'h' });
    expect(JSON.parse(sim.lastRequest!.body as string)).toEqual({
      description: 'h',
      run_untagged: true,
      locked: true,
      paused: false,
      info: {
        name: 'gitlab-runner',
        version: '19.4.0',
        revision: 'd79f3e7b',
        platform: 'linux',
        architecture: 'amd64',
        features: expect.objectContaining({ trace_reset: true, cancel_gracefully: true, variables: false }),
        config: { gpus: '' },
      },
      token: REGISTRATION_TOKEN,
    });
    expectRunnerJson(registered, 201);
    const { id, token, tokenExpiresAt } = decodeTokenResponse(registered);
    expect(id).toBeGreaterThan(0);
    expect(token).toMatch(/^t1_.{20}$/);
    expect(tokenExpiresAt).toBeNull();
    const created = (await loadRunner(id!))!;
    expect(created).toMatchObject({
      runner_type: 1,
      description: 'h',
      name: 'gitlab-runner',
      run_untagged: true,
      locked: true,
      active: true,
      registration_type: 0,
      contacted_at: null,
    });
    expect(created.managers).toEqual([]); // registration does not heartbeat

    // Step 2: verify with the token it got.
    const verified = await sim.verify(token);
    expectRunnerJson(verified, 200);
    expect(decodeTokenResponse(verified)).toEqual({ id, token, tokenExpiresAt: null });
    const afterVerify = (await loadRunner(id!))!;
    expect(runnerStatus(afterVerify)).toBe('online');
    expect(afterVerify.managers.map((m) => [m.system_xid, m.executor_type, m.ip_address, managerStatus(m)])).toEqual([
      [DEFAULT_SYSTEM_ID, 'shell', '127.0.0.1', 'online'],
    ]);

    // Step 7: reset keeps the unprefixed registered-runner format.
    const reset = await sim.resetToken(token);
    expectRunnerJson(reset, 201);
    const { token: newToken } = decodeTokenResponse(reset);
    expect(newToken).toMatch(/^t1_.{20}$/);
    expect((await sim.verify(token)).statusCode).toBe(403);

    // Step 8: DELETE /runners with the (new) token; afterwards verify is 403.
    const unregistered = await sim.unregister(newToken);
    expect(sim.lastRequest!.headers).toMatchObject({ 'Runner-Token': newToken, 'Content-Type': 'application/json' });
    expect(sim.lastRequest!.headers.Accept).toBeUndefined();
    expect(unregistered.statusCode).toBe(204);
    expect(await loadRunner(id!)).toBeNull();
    expect((await sim.verify(newToken)).statusCode).toBe(403);
  });

  it('registers project and group runners with their registration tokens', async () => {
    const group = await t.fx.group();
    const project = await t.fx.project({ namespace: group });
    const sim = RunnerSimulator.forUrl(url);
    for (const [token, prefix, type] of [
      [project.runnersToken, 't3_', 3],
      [group.runnersToken, 't2_', 2],
    ] as const) {
      const res = await sim.register(token, { tagList: 'docker,linux', accessLevel: 'ref_protected', maximumTimeout: 3600 });
      expectRunnerJson(res, 201);
      const { id, token: runnerToken } = decodeTokenResponse(res);
      expect(runnerToken.startsWith(prefix)).toBe(true);
      expect(await loadRunner(id!)).toMatchObject({ runner_type: type, tag_list: ['docker', 'linux'], run_untagged: false, access_level: 1, maximum_timeout: 3600 });
    }
  });

  it('answers 403 to an unknown token on verify, so the runner treats itself as removed (step 2)', async () => {
    const sim = RunnerSimulator.forUrl(url);
    const res = await sim.verify('glrt-t1_thisTokenDoesNotExist');
    expect(res.statusCode).toBe(403);
    expect(isApplicationJson(res)).toBe(true);
    expect(res.json()).toEqual({ message: '403 Forbidden' });
    const register = await sim.register('wrong-registration-token');
    expect(register.statusCode).toBe(403);
    expect(register.json()).toEqual({ message: '403 Forbidden - invalid token supplied' });
  });
  it('a runner registered either way shows up in GET /runners/all, with its manager in GET /runners/:id/managers', async () => {
    const sim = RunnerSimulator.forUrl(url);
    const legacy = decodeTokenResponse(await sim.register(REGISTRATION_TOKEN, { description: 'legacy-listed' }));
    expect((await sim.verify(legacy.token!)).statusCode).toBe(200);

    const created = await t.api({ method: 'POST', url: '/api/v4/user/runners', payload: { runner_type: 'instance_type', description: 'glrt-listed' } });
    expect(created.statusCode).toBe(201);
    const glrt = created.json() as { id: number; token: string };
    expect((await sim.verify(glrt.token)).statusCode).toBe(200);

    const all = await t.api({ method: 'GET', url: '/api/v4/runners/all?per_page=100' });
    expect(all.statusCode).toBe(200);
    const listed = new Map((all.json() as { id: number; status: string }[]).map((r) => [r.id, r.status]));
    for (const id of [legacy.id!, glrt.id]) {
      expect(listed.get(id)).toBe('online');
      const managers = await t.api({ method: 'GET', url: `/api/v4/runners/${id}/managers` });
      expect(managers.statusCode).toBe(200);
      expect(managers.json()).toEqual([
        expect.objectContaining({ system_id: DEFAULT_SYSTEM_ID, version: '19.4.0', platform: 'linux', architecture: 'amd64', status: 'online', ip_address: '127.0.0.1' }),
      ]);
    }
  });
});
