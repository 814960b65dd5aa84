import { createTestApp, type TestApp } from './app.js';

/** A test app that also listens on a loopback port, for real HTTP clients. */
export async function createListeningApp(env: Record<string, string> = {}): Promise<TestApp & { url: string }> {
  const t = await createTestApp({ EXTERNAL_URL: '', ...env });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return Object.assign(t, { url: `http://127.0.0.1:${address.port}` });
}
