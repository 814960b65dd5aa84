import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Namespace, Project, Runner } from '../../src/generated/prisma/client.js';
import { launchChromium } from '../helpers/chromium.js';
import { createListeningApp } from '../helpers/listen.js';
import type { TestApp } from '../helpers/app.js';
import { createPipeline, singleJob } from '../helpers/ci.js';
import { personalAccessTokenChanged } from '../../src/services/runner-cache/runner-cache.js';

// The fleet dashboard (/admin/runners, docs/dashboard.md) in Debian's
// Chromium, driven by playwright-core (no browser download). Screenshots go
// to test-artifacts/dashboard/ (git-ignored).

/** A page load makes some 60 API calls; on a loaded 2-core machine a test can take a while. */
const BROWSER_TEST_TIMEOUT_MS = 120_000;
const SHOTS = path.resolve('test-artifacts/dashboard');

let t: TestApp & { url: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every request the pages made, for the token-in-URL check. */
const requests: { url: string; headers: Record<string, string> }[] = [];
let group: Namespace;
let project: Project;
const runners: Record<string, Runner> = {};
let online1Token = '';

/** expect.poll with room for a loaded machine (its default gives up after 1 s). */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 30_000, interval: 100 });

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const daysAgo = (d: number) => new Date(Date.now() - d * 24 * 3600_000);

/**
 * The fleet (25 runners):
 *   12 instance, online (1 min ago); the first 5 tagged docker+linux, with managers on 18.6.0, 17.11.2 and 16.2.0
 *    6 instance, offline (3 h ago)
 *    3 group, never contacted
 *    2 project, created 10 days ago and never contacted (stale and never contacted)
 *    2 project, contacted yesterday (offline), the second one paused
 */
async function seedFleet() {
  group = await t.fx.group({ path: 'platform' });
  project = await t.fx.project({ namespace: group, path: 'api-server' });
  const managerVersions = ['18.6.0', '18.6.0', '17.11.2', '17.11.2', '16.2.0'];
  for (let i = 0; i < 12; i++) {
    const { runner, token } = await t.fx.runner({ type: 'instance_type', description: `shared-docker-${i + 1}`, contactedAt: minutesAgo(1), tags: i < 5 ? ['docker', 'linux'] : [] });
    if (i === 0) online1Token = token;
    if (i < 5) {
      await t.ctx.prisma.runnerManager.create({
        data: { runner_id: runner.id, system_xid: `s_host${i + 1}`, version: managerVersions[i]!, platform: 'linux', architecture: 'amd64', ip_address: `192.0.2.${i + 10}`, contacted_at: minutesAgo(1), creation_state: 100 },
      });
    }
    runners[`online${i + 1}`] = runner;
  }
  for (let i = 0; i < 6; i++) runners[`offline${i + 1}`] = (await t.fx.runner({ type: 'instance_type', description: `old-vm-${i + 1}`, contactedAt: minutesAgo(180) })).runner;
  for (let i = 0; i < 3; i++) runners[`group${i + 1}`] = (await t.fx.runner({ type: 'group_type', group, description: `group-runner-${i + 1}`, contactedAt: null })).runner;
  for (let i = 0; i < 2; i++) runners[`stale${i + 1}`] = (await t.fx.runner({ type: 'project_type', projects: [project], description: `forgotten-${i + 1}`, contactedAt: null, createdAt: daysAgo(10) })).runner;
  for (let i = 0; i < 2; i++) {
    runners[`project${i + 1}`] = (await t.fx.runner({ type: 'project_type', projects: [project], description: `project-runner-${i + 1}`, contactedAt: daysAgo(1), active: i === 0 })).runner;
  }
  // shared-docker-1 runs two jobs as gitlab-runner does (poll, then PUT the result): one succeeds, one keeps running.
  const poll = { system_id: 's_host1', info: { version: '18.6.0', platform: 'linux', architecture: 'amd64' } };
  for (const finish of [true, false]) {
    await createPipeline(t, project, singleJob(finish ? 'test' : 'deploy'));
    const taken = await t.api({ method: 'POST', url: '/api/v4/jobs/request', token: null, remoteAddress: '192.0.2.10', payload: { token: online1Token, ...poll } });
    expect(taken.statusCode).toBe(201);
    const job = taken.json() as { id: number; token: string };
    if (finish) expect((await t.api({ method: 'PUT', url: `/api/v4/jobs/${job.id}`, token: null, payload: { token: job.token, state: 'success' } })).statusCode).toBe(200);
  }
}

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(token = t.rootToken) {
  await page.goto(`${t.url}/admin/runners`);
  await page.getByLabel('Personal access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The counts shown on the overview cards, by their data-count key, once loaded. */
async function overviewCounts(): Promise<Record<string, string>> {
  await page.locator('.card[data-count="all"]').waitFor();
  await eventually(() => page.locator('.card .value', { hasText: '…' }).count()).toBe(0);
  const cards = await page.locator('.card[data-count]').all();
  const out: Record<string, string> = {};
  for (const card of cards) out[(await card.getAttribute('data-count'))!] = (await card.locator('.value').innerText()).trim();
  return out;
}

async function rowIds(): Promise<number[]> {
  await page.locator('table.runners tbody tr').first().waitFor();
  return (await page.locator('table.runners tbody tr[data-runner-id]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-runner-id')))));
}

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  t = await createListeningApp();
  await seedFleet();
  browser = await launchChromium('The dashboard browser tests');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function newPage() {
  context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
  context.setDefaultTimeout(60_000);
  page = await context.newPage();
  page.on('request', (r) => requests.push({ url: r.url(), headers: r.headers() }));
  page.on('pageerror', (err) => {
    throw err;
  });
}

afterEach(async () => {
  await context?.close();
});

describe('signing in', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('shows the server\'s 401 message for a wrong token and keeps the sign-in form', async () => {
    await newPage();
    await signIn('glpat-this-is-not-a-real-token');
    await eventually(() => page.getByRole('alert').innerText()).toBe('401 Unauthorized');
    await eventually(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot('sign-in-error');
  });

  it('keeps the token in sessionStorage only, and signing out forgets it', async () => {
    await newPage();
    await signIn();
    await page.getByRole('heading', { name: 'Runners', level: 1 }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([t.rootToken]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect((await context.cookies()).length).toBe(0);
    // A reload stays signed in (same tab).
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Personal access token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.reload();
    await page.getByLabel('Personal access token').waitFor();
  });
  it('goes back to the sign-in form with the server\'s words when the token is revoked meanwhile', async () => {
    const { token } = await t.fx.user({ username: 'admin-ada', admin: true });
    await newPage();
    await signIn(token);
    // Everything loaded: the next request is the first one after the revocation.
    await overviewCounts();
    await eventually(() => page.locator('table.runners tbody td', { hasText: '…' }).count()).toBe(0);
    const pat = await t.ctx.prisma.personalAccessToken.findFirstOrThrow({ where: { token_digest: t.ctx.secrets.digest(token) } });
    await t.ctx.prisma.personalAccessToken.update({ where: { id: pat.id }, data: { revoked: true } });
    await personalAccessTokenChanged(t.ctx, pat.id);
    await page.locator('.card[data-count="stale"]').click();
    await eventually(() => page.getByRole('alert').innerText()).toBe('Token was revoked. You have to re-authorize from the user.');
    await page.getByLabel('Personal access token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});

describe('the fleet as an administrator sees it', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('shows counts per status and type that match the API, and the version distribution with upgrade hints', async () => {
    await newPage();
    await signIn();
    const counts = await overviewCounts();
    expect(counts).toEqual({ online: '12', offline: '8', stale: '2', never_contacted: '5', instance_type: '18', group_type: '3', project_type: '4', all: '25' });
    // The same numbers from the API directly.
    for (const [key, params] of [['online', 'status=online'], ['never_contacted', 'status=never_contacted'], ['group_type', 'type=group_type']] as const) {
      const res = await t.api({ method: 'GET', url: `/api/v4/runners/all?${params}&per_page=1` });
      expect(res.headers['x-total']).toBe(counts[key]);
    }
    await page.locator('table[aria-label="Runner versions"] tbody tr').first().waitFor();
    const versions = await page.locator('table[aria-label="Runner versions"] tbody tr').evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent!.trim())),
    );
    expect(versions).toEqual([
      ['18.6.x', '2', 'Up to date'],
      ['17.11.x', '2', 'Upgrade recommended'],
      ['16.2.x', '1', 'Upgrade recommended'],
    ]);
    await eventually(() => page.locator('table.runners tbody td', { hasText: '…' }).count()).toBe(0);
    await shot('overview');
  });

  it('lists the same runners as the API, 20 a page, with details from each runner', async () => {
    await newPage();
    await signIn();
    const apiPage1 = (await t.api({ method: 'GET', url: '/api/v4/runners/all?per_page=20' })).json() as { id: number }[];
    expect(await rowIds()).toEqual(apiPage1.map((r) => r.id));
    expect(await page.locator('#list-total').innerText()).toBe('(25)');

    const tagged = page.locator(`tr[data-runner-id="${runners.online1!.id}"]`);
    await eventually(() => tagged.locator('td').nth(7).innerText()).toBe('192.0.2.10');
    const cells = await tagged.locator('td').allInnerTexts();
    expect(cells.map((c) => c.trim().replace(/\s+/g, ' '))).toEqual([
      `#${runners.online1!.id}`, 'shared-docker-1', 'Instance', 'Online', 'No', 'docker linux', '18.6.0', '192.0.2.10', expect.stringMatching(/^(now|\d+ (seconds?|minutes?) ago)$/), '1',
    ]);
    // The exact time is on hover.
    expect(await tagged.locator('time').getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    await page.getByRole('link', { name: 'Next' }).click();
    await eventually(() => new URL(page.url()).search).toBe('?page=2');
    await eventually(async () => (await rowIds()).length).toBe(5);
    const apiPage2 = (await t.api({ method: 'GET', url: '/api/v4/runners/all?per_page=20&page=2' })).json() as { id: number }[];
    expect(await rowIds()).toEqual(apiPage2.map((r) => r.id));
    expect(await page.locator('.pagination [aria-current="page"]').innerText()).toBe('Page 2 of 2');
    // Back works like any page.
    await page.goBack();
    await eventually(async () => (await rowIds()).length).toBe(20);
  });

  it('filters by status, type, paused, tags, version and description, with the filters in the URL', async () => {
    await newPage();
    await signIn();
    await rowIds();
    // A card is a link to the filtered list.
    await page.locator('.card[data-count="group_type"]').click();
    await eventually(() => new URL(page.url()).search).toBe('?type=group_type');
    await eventually(rowIds).toEqual([runners.group1!.id, runners.group2!.id, runners.group3!.id]);

    // The form: every control has a label, and Tab walks them in order; Enter in a field applies.
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Type', { exact: true }).selectOption('project_type');
    await page.getByLabel('Status', { exact: true }).selectOption('offline');
    await page.getByLabel('Paused', { exact: true }).selectOption('true');
    await page.getByLabel('Paused', { exact: true }).focus();
    const focusOrder: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      focusOrder.push(await page.evaluate(() => (document.activeElement as HTMLInputElement).labels?.[0]?.textContent ?? ''));
    }
    expect(focusOrder).toEqual(['Tags', 'Version prefix', 'Description contains']);
    await page.keyboard.press('Enter');
    await eventually(() => new URL(page.url()).searchParams.toString()).toBe('type=project_type&status=offline&paused=true');
    await eventually(rowIds).toEqual([runners.project2!.id]);

    // A bookmarked view opens as it was.
    await page.goto(`${t.url}/admin/runners?tag_list=docker&version_prefix=17.11`);
    await eventually(rowIds).toEqual([runners.online3!.id, runners.online4!.id]);
    expect(await page.getByLabel('Tags').inputValue()).toBe('docker');
    expect(await page.getByLabel('Version prefix').inputValue()).toBe('17.11');

    await page.goto(`${t.url}/admin/runners?search=OLD-VM`);
    await eventually(async () => (await rowIds()).length).toBe(6);
    expect(await page.locator('#list-total').innerText()).toBe('(6)');
    await shot('filtered');
  });

  it('opens a runner, pauses and resumes it, edits it, and shows API errors as worded', async () => {
    await newPage();
    await signIn();
    const id = runners.online1!.id;
    await page.locator(`tr[data-runner-id="${id}"] a`).first().click();
    await eventually(() => new URL(page.url()).pathname).toBe(`/admin/runners/${id}`);
    await page.getByRole('heading', { name: `Runner #${id}` }).waitFor();

    // Every field of GET /runners/:id is shown.
    const detail = (await t.api({ method: 'GET', url: `/api/v4/runners/${id}` })).json() as Record<string, unknown>;
    const shownFields = await page.locator('dl.fields [data-field]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-field')));
    expect(shownFields).toEqual(Object.keys(detail).filter((k) => k !== 'projects' && k !== 'groups'));
    expect(await page.locator('[data-manager-id] td').allInnerTexts()).toEqual(['s_host1', 'Online', '18.6.0', 'linux', 'amd64', '192.0.2.10', expect.stringMatching(/^(now|\d+ (seconds?|minutes?) ago)$/)]);
    // Recent jobs, newest first, with status and duration.
    const jobRows = await page.locator('[data-job-id]').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(1, 5).map((td) => td.textContent!.trim())));
    expect(jobRows).toEqual([
      ['running', 'deploy', 'platform/api-server', 'main'],
      ['success', 'test', 'platform/api-server', 'main'],
    ]);

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect(((await t.api({ method: 'GET', url: `/api/v4/runners/${id}` })).json() as { paused: boolean }).paused).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    expect(((await t.api({ method: 'GET', url: `/api/v4/runners/${id}` })).json() as { paused: boolean }).paused).toBe(false);

    await page.getByLabel('Description', { exact: true }).fill('shared-docker-1 (fast disks)');
    await page.getByLabel('Tags (comma-separated)').fill('docker, linux, ssd');
    await page.getByLabel('Run untagged jobs').uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor();
    const updated = (await t.api({ method: 'GET', url: `/api/v4/runners/${id}` })).json() as { description: string; tag_list: string[]; run_untagged: boolean };
    expect({ description: updated.description, tags: [...updated.tag_list].sort(), run_untagged: updated.run_untagged }).toEqual({
      description: 'shared-docker-1 (fast disks)',
      tags: ['docker', 'linux', 'ssd'],
      run_untagged: false,
    });

    await page.getByLabel('Maximum job timeout (seconds)').fill('60');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await eventually(() => page.locator('form.edit [role="alert"]').innerText()).toBe('maximum_timeout needs to be at least 10 minutes');
    await shot('detail');
  });

  it('resets the authentication token, shows it once with a copy button, and the old token stops working', async () => {
    await newPage();
    const { runner, token: oldToken } = await t.fx.runner({ type: 'instance_type', description: 'token-reset-me' });
    await signIn();
    await page.getByRole('heading', { name: 'Runners', level: 1 }).waitFor();
    await page.goto(`${t.url}/admin/runners/${runner.id}`);
    await page.getByRole('button', { name: 'Reset authentication token' }).click();
    const shown = await page.getByLabel('New runner authentication token').inputValue();
    expect(shown).toMatch(/^t1_[\w-]{20,}$/);
    expect(shown).not.toBe(oldToken);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByText('Copied.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);
    const verify = (token: string) => t.api({ method: 'POST', url: '/api/v4/runners/verify', token: null, payload: { token } });
    expect((await verify(oldToken)).statusCode).toBe(403);
    expect((await verify(shown)).statusCode).toBe(200);
    await shot('token-reset');
    // Shown once: a reload does not bring it back.
    await page.reload();
    await page.getByRole('button', { name: 'Reset authentication token' }).waitFor();
    expect(await page.getByLabel('New runner authentication token').count()).toBe(0);
  });

  it('deletes a runner after confirming in a dialog', async () => {
    await newPage();
    await signIn();
    // Signed in only once the list shows: navigating before that abandons the sign-in.
    await page.getByRole('heading', { name: 'Runners', level: 1 }).waitFor();
    const id = runners.offline6!.id;
    await page.goto(`${t.url}/admin/runners/${id}`);
    await page.getByRole('button', { name: 'Delete runner' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete runner #${id}?` });
    await dialog.waitFor();
    await shot('delete-dialog');
    // Cancel changes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await t.api({ method: 'GET', url: `/api/v4/runners/${id}` })).statusCode).toBe(200);
    await page.getByRole('button', { name: 'Delete runner' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText(`Runner #${id} was deleted.`).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/runners');
    expect((await t.api({ method: 'GET', url: `/api/v4/runners/${id}` })).statusCode).toBe(404);
    expect(await rowIds()).not.toContain(id);
  });
});

describe('what a user who is not an administrator sees', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('reads /runners, not /runners/all, and sees only the runners of the projects they maintain', async () => {
    const { user, token } = await t.fx.user({ username: 'maintainer-mia' });
    await t.fx.projectMember(project, user, 40);
    await newPage();
    const seen: string[] = [];
    page.on('request', (r) => seen.push(new URL(r.url()).pathname));
    await signIn(token);
    expect(await rowIds()).toEqual([runners.stale1!.id, runners.stale2!.id, runners.project1!.id, runners.project2!.id]);
    const counts = await overviewCounts();
    expect(counts).toMatchObject({ all: '4', instance_type: '0', project_type: '4', stale: '2' });
    expect(seen).toContain('/api/v4/runners');
    expect(seen).not.toContain('/api/v4/runners/all');
  });
});

describe('the token', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('never appears in a URL the page requested, and every API request carries it as PRIVATE-TOKEN', async () => {
    // Runs last: `requests` holds everything the tests above did.
    const apiRequests = requests.filter((r) => new URL(r.url).pathname.startsWith('/api/v4/'));
    expect(apiRequests.length).toBeGreaterThan(100);
    const tokens = [t.rootToken, 'glpat-this-is-not-a-real-token'];
    const leaking = requests.map((r) => r.url).filter((u) => tokens.some((tok) => u.includes(tok) || u.includes(encodeURIComponent(tok))) || /private_token|access_token/i.test(u));
    expect(leaking).toEqual([]);
    expect(apiRequests.filter((r) => !r.headers['private-token']).map((r) => r.url)).toEqual([]);
  });
});
