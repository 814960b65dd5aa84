import { it } from 'vitest';
import { Writable } from 'node:stream';
import { createTestApp } from '../helpers/app.js';
it('dbg', async () => {
  const lines: string[] = [];
  const t = await createTestApp({ LOG_LEVEL: 'error' }, { loggerStream: new Writable({ write(c, _e, d) { lines.push(String(c)); d(); } }) });
  const { runner } = await t.fx.runner();
  for (const v of ['x\ud800y', ['a\ud800']]) {
    const r = await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { tag_list: v } });
    console.log(r.statusCode, r.body);
  }
  const r2 = await t.api({ method: 'PUT', url: `/api/v4/runners/${runner.id}`, payload: { description: 'x\ud800y' } });
  console.log(r2.statusCode, r2.body);
  console.log(lines.map(l => JSON.parse(l).err?.message).join('\n---\n'));
  await t.close();
});
