import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { RunnerSimulator } from '../helpers/runner-simulator.js';

// One log line per request at info (method, route template, status,
// duration, request id, user or runner id); a 204 poll logs nothing at info.

let t: TestApp;
const lines: Record<string, unknown>[] = [];
beforeAll(async () => {
  t = await createTestApp(
    { LOG_LEVEL: 'info' },
    { loggerStream: new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }) },
  );
});
afterAll(async () => t?.close());

const requestLines = () => lines.filter((l) => l.msg === 'request');
// The background-task leader logs when this process takes a task over; that
// can happen at any moment of a test and has nothing to do with requests.
const ownLines = () => lines.filter((l) => !String(l.msg).startsWith('leading background task'));

describe('request log', () => {
  it('writes exactly one line per request, with the route template, the scrubbed URL and who asked', async () => {
    const { runner, token } = await t.fx.runner();
    lines.length = 0;
    const res = await t.api({ method: 'GET', url: `/api/v4/runners/${runner.id}?private_token=glpat-should-not-appear` });
    expect(res.statusCode).toBe(200);
    const root = await t.ctx.prisma.user.findFirstOrThrow({ where: { username: 'root' } });
    expect(requestLines()).toEqual([
      expect.objectContaining({ level: 30, method: 'GET', route: '/api/v4/runners/:id', url: `/api/v4/runners/${runner.id}?private_token=[REDACTED]`, status: 200, userId: root.id, reqId: expect.any(String), durationMs: expect.any(Number) }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('glpat-should-not-appear');
    expect(ownLines().filter((l) => l.msg !== 'request')).toEqual([]);

    lines.length = 0;
    expect((await RunnerSimulator.forApp(t.app).verify(token)).statusCode).toBe(200);
    expect(requestLines()).toEqual([expect.objectContaining({ method: 'POST', route: '/api/v4/runners/verify', status: 200, runnerId: runner.id })]);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('logs a 204 poll at debug only: nothing at info', async () => {
    const { token } = await t.fx.runner();
    lines.length = 0;
    const sim = RunnerSimulator.forApp(t.app);
    for (let i = 0; i < 5; i++) expect((await sim.requestJob(token)).statusCode).toBe(204);
    expect(ownLines()).toEqual([]);
  });
});
