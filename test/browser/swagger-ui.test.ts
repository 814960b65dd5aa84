import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { createListeningApp } from '../helpers/listen.js';
import type { TestApp } from '../helpers/app.js';

// Swagger UI at /-/docs (src/routes/docs.ts) in Debian's Chromium: it must
// render the server's own OpenAPI document from assets the server serves.
// The screenshot goes to test-artifacts/swagger-ui/ (git-ignored).

const SHOTS = path.resolve('test-artifacts/swagger-ui');

let t: TestApp & { url: string };
let browser: Browser;

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  t = await createListeningApp();
  browser = await launchChromium('The Swagger UI browser test');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('Swagger UI at /-/docs', () => {
  it('renders the OpenAPI document in a browser, from the server alone, without console errors', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    try {
      const response = await page.goto(`${t.url}/-/docs`);
      expect(response?.status()).toBe(200);

      const title = page.locator('.information-container .info .title');
      await title.waitFor().catch(async () => { throw new Error(`Swagger UI did not render: ${JSON.stringify(problems)}\n${(await page.locator("#swagger-ui").innerText()).slice(0, 2000)}`); });
      expect(await title.innerText()).toContain('GitLab-compatible Runners API');
      const operation = page.locator('.opblock-get', { has: page.locator('[data-path="/api/v4/runners/all"]') }).first();
      await operation.waitFor();
      await operation.locator('.opblock-summary-control').click();
      await operation.locator('.parameters tr[data-param-name="tag_list"]').waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'runners-all.png'), fullPage: true });

      expect(requested.filter((url) => !url.startsWith(`${t.url}/`))).toEqual([]);
      expect(requested).toContain(`${t.url}/-/openapi.json`);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
