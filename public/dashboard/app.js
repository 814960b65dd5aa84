import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { api, ApiError, countOf, session } from './api.js';
import { duration, exactTime, minorOf, number, STATUS_LABELS, timeAgo, TYPE_LABELS } from './format.js';

// The fleet dashboard (docs/dashboard.md). Everything it shows comes from the
// public /api/v4 routes as the signed-in user may see them: an administrator
// reads /runners/all, anyone else their own /runners.

const html = htm.bind(h);
const PER_PAGE = 20;
/** Description search has no API parameter: it reads the filtered list, 100 at a time, up to this many runners. */
const SEARCH_LIMIT = 2000;
const FILTER_KEYS = ['type', 'status', 'paused', 'tag_list', 'version_prefix', 'search'];
const STATUSES = ['online', 'offline', 'stale', 'never_contacted'];
const TYPES = ['instance_type', 'group_type', 'project_type'];

// ---------------------------------------------------------------------------
// Routing: real links (keyboard, middle click, bookmarks), handled in page.

function currentRoute() {
  const m = /^\/admin\/runners\/([^/]+)\/?$/.exec(location.pathname);
  if (m) return { page: 'detail', id: decodeURIComponent(m[1]) };
  return { page: 'list', query: new URLSearchParams(location.search) };
}

function navigate(href) {
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

const listHref = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `/admin/runners${s ? `?${s}` : ''}`;
};

// ---------------------------------------------------------------------------

function ErrorMessage({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error instanceof ApiError || error instanceof Error ? error.message : String(error)}</p>`;
}

function SignIn({ onSignedIn, notice }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(notice ?? null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { body: user } = await api('/user', { token: token.trim() });
      session.signIn(token.trim());
      onSignedIn(user);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="signin">
      <h1>Runner dashboard</h1>
      <form onSubmit=${submit} aria-describedby="signin-help">
        <label for="token">Personal access token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
        <p id="signin-help" class="help">A token with the <code>api</code> or <code>read_api</code> scope. It is kept in this tab only (sessionStorage) and sent as the PRIVATE-TOKEN header.</p>
        <${ErrorMessage} error=${error} />
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
    </main>`;
}

function Header({ user, onSignOut }) {
  return html`
    <header class="top">
      <${Link} href="/admin/runners" class="brand">Runners</${Link}>
      <span class="who">Signed in as <strong>@${user.username}</strong>${user.is_admin ? ' (administrator)' : ''}</span>
      <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
    </header>`;
}

function StatusBadge({ status }) {
  return html`<span class="badge status-${status}">${STATUS_LABELS[status] ?? status}</span>`;
}

function Tags({ tags }) {
  if (!tags.length) return html`<span class="muted">–</span>`;
  return html`<ul class="tags">${tags.map((t) => html`<li class="tag">${t}</li>`)}</ul>`;
}

function Time({ iso }) {
  if (!iso) return html`<span class="muted">Never</span>`;
  return html`<time datetime=${iso} title=${exactTime(iso)}>${timeAgo(iso)}</time>`;
}

// ---------------------------------------------------------------------------
// Overview: counts per status and type, versions.

function Overview({ base, filters, serverVersion }) {
  const [counts, setCounts] = useState(null);
  const [versions, setVersions] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let live = true;
    (async () => {
      const [total, ...rest] = await Promise.all([
        countOf(base),
        ...STATUSES.map((status) => countOf(base, { status })),
        ...TYPES.map((type) => countOf(base, { type })),
      ]);
      if (!live) return;
      setCounts({
        total,
        status: Object.fromEntries(STATUSES.map((s, i) => [s, rest[i]])),
        type: Object.fromEntries(TYPES.map((t, i) => [t, rest[STATUSES.length + i]])),
      });
      setVersions(await versionDistribution(base, serverVersion));
    })().catch((err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [base, serverVersion]);

  const serverMinor = minorOf(serverVersion);
  return html`
    <section class="overview" aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <${ErrorMessage} error=${error} />
      <div class="cards">
        <div class="card-group" role="group" aria-label="Runners by status">
          ${STATUSES.map(
            (s) => html`
              <${Link} class=${`card status-card status-${s}${filters.status === s ? ' current' : ''}`} href=${listHref({ status: s })} data-count=${s}>
                <span class="label">${STATUS_LABELS[s]}</span>
                <span class="value">${counts ? number(counts.status[s]) : '…'}</span>
              </${Link}>`,
          )}
        </div>
        <div class="card-group" role="group" aria-label="Runners by type">
          ${TYPES.map(
            (t) => html`
              <${Link} class=${`card${filters.type === t ? ' current' : ''}`} href=${listHref({ type: t })} data-count=${t}>
                <span class="label">${TYPE_LABELS[t]}</span>
                <span class="value">${counts ? number(counts.type[t]) : '…'}</span>
              </${Link}>`,
          )}
          <${Link} class="card" href="/admin/runners" data-count="all">
            <span class="label">All runners</span>
            <span class="value">${counts ? number(counts.total) : '…'}</span>
          </${Link}>
        </div>
      </div>
      <div class="versions">
        <h3>Runner versions</h3>
        <p class="help">Runners by the minor version of their managers; this server is GitLab ${serverVersion}. Runners older than its minor version should be upgraded.</p>
        ${versions === null
          ? html`<p class="muted">Counting…</p>`
          : versions.length === 0
            ? html`<p class="muted">No runner has reported a version yet.</p>`
            : html`
              <table class="compact" aria-label="Runner versions">
                <thead><tr><th scope="col">Version</th><th scope="col">Runners</th><th scope="col">Upgrade</th></tr></thead>
                <tbody>
                  ${versions.map(
                    (v) => html`
                      <tr data-version=${v.prefix}>
                        <td><${Link} href=${listHref({ version_prefix: v.prefix })}>${v.prefix}.x</${Link}></td>
                        <td>${number(v.count)}</td>
                        <td>${serverMinor && (v.major < serverMinor[0] || (v.major === serverMinor[0] && v.minor < serverMinor[1]))
                          ? html`<span class="badge upgrade">Upgrade recommended</span>`
                          : html`<span class="muted">Up to date</span>`}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`}
      </div>
    </section>`;
}

/**
 * Runners per minor version, from the public API's version_prefix filter:
 * one count per major version from the server's back to three before it,
 * then one per minor of each major that has runners.
 */
async function versionDistribution(base, serverVersion) {
  const server = minorOf(serverVersion) ?? [18, 0];
  const majors = [];
  for (let major = server[0] + 1; major >= Math.max(1, server[0] - 3); major--) majors.push(major);
  const majorCounts = await Promise.all(majors.map((major) => countOf(base, { version_prefix: String(major) })));
  const withRunners = majors.filter((_, i) => majorCounts[i] !== 0);
  const rows = await Promise.all(
    withRunners.map(async (major) => {
      const minors = Array.from({ length: 12 }, (_, minor) => minor);
      const counts = await Promise.all(minors.map((minor) => countOf(base, { version_prefix: `${major}.${minor}` })));
      return minors.map((minor, i) => ({ major, minor, prefix: `${major}.${minor}`, count: counts[i] })).filter((r) => r.count !== 0);
    }),
  );
  return rows.flat();
}

// ---------------------------------------------------------------------------
// Filters and the list.

function readFilters(query) {
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, query.get(k) ?? '']));
}

function Filters({ filters }) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const set = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    navigate(listHref({ ...draft, page: '' }));
  };
  return html`
    <form class="filters" onSubmit=${submit} aria-label="Filter runners" role="search">
      <div class="field">
        <label for="f-type">Type</label>
        <select id="f-type" value=${draft.type} onChange=${set('type')}>
          <option value="">Any type</option>
          ${TYPES.map((t) => html`<option value=${t}>${TYPE_LABELS[t]}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="f-status">Status</label>
        <select id="f-status" value=${draft.status} onChange=${set('status')}>
          <option value="">Any status</option>
          ${STATUSES.map((s) => html`<option value=${s}>${STATUS_LABELS[s]}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="f-paused">Paused</label>
        <select id="f-paused" value=${draft.paused} onChange=${set('paused')}>
          <option value="">Paused or not</option>
          <option value="true">Paused</option>
          <option value="false">Not paused</option>
        </select>
      </div>
      <div class="field">
        <label for="f-tags">Tags</label>
        <input id="f-tags" value=${draft.tag_list} onInput=${set('tag_list')} placeholder="docker, linux" />
      </div>
      <div class="field">
        <label for="f-version">Version prefix</label>
        <input id="f-version" value=${draft.version_prefix} onInput=${set('version_prefix')} placeholder="17.5" inputmode="decimal" />
      </div>
      <div class="field grow">
        <label for="f-search">Description contains</label>
        <input id="f-search" type="search" value=${draft.search} onInput=${set('search')} />
      </div>
      <div class="actions">
        <button type="submit">Apply filters</button>
        <${Link} href="/admin/runners" class="button secondary">Clear</${Link}>
      </div>
    </form>`;
}

function apiFilters(filters) {
  const params = {};
  for (const k of ['type', 'status', 'paused', 'version_prefix']) if (filters[k]) params[k] = filters[k];
  if (filters.tag_list) params.tag_list = filters.tag_list.split(',').map((t) => t.trim()).filter(Boolean).join(',');
  return params;
}

/** One page of runners: from the API's own pages, or, with a description search, from scanning the filtered list. */
async function loadPage(base, filters, page) {
  const params = apiFilters(filters);
  if (!filters.search) {
    const { body, headers } = await api(`${base}?${new URLSearchParams({ ...params, page: String(page), per_page: String(PER_PAGE) })}`);
    const total = headers.get('x-total');
    return { runners: body, total: total ? Number(total) : null, hasNext: headers.get('x-next-page') !== '' && headers.get('x-next-page') !== null, scanned: null };
  }
  const needle = filters.search.toLowerCase();
  const found = [];
  let scanned = 0;
  for (let p = 1; scanned < SEARCH_LIMIT; p++) {
    const { body, headers } = await api(`${base}?${new URLSearchParams({ ...params, page: String(p), per_page: '100' })}`);
    scanned += body.length;
    for (const r of body) if ((r.description ?? '').toLowerCase().includes(needle)) found.push(r);
    if (!headers.get('x-next-page')) break;
  }
  const start = (page - 1) * PER_PAGE;
  return { runners: found.slice(start, start + PER_PAGE), total: found.length, hasNext: start + PER_PAGE < found.length, scanned };
}

/** What the list entity lacks (tags, version, IP, contact, running jobs), from the runner's own routes. */
async function loadRowDetails(runner) {
  const [details, managers, running] = await Promise.all([
    api(`/runners/${runner.id}?include_projects=false`).then((r) => r.body),
    api(`/runners/${runner.id}/managers`).then((r) => r.body),
    // The list says whether the runner executes anything: only then are its running jobs counted.
    runner.job_execution_status === 'active' ? api(`/runners/${runner.id}/jobs?status=running&per_page=100`).then((r) => r.body) : [],
  ]);
  const latest = [...managers].sort((a, b) => (b.contacted_at ?? '').localeCompare(a.contacted_at ?? ''))[0];
  return { details, ip: latest?.ip_address ?? null, running: running.length };
}

function RunnerRow({ runner }) {
  const [extra, setExtra] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    loadRowDetails(runner).then((x) => live && setExtra(x), (err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [runner.id]);
  const d = extra?.details;
  return html`
    <tr data-runner-id=${runner.id}>
      <td><${Link} href=${`/admin/runners/${runner.id}`}>#${runner.id}</${Link}></td>
      <td class="desc">${runner.description || html`<span class="muted">No description</span>`}</td>
      <td>${TYPE_LABELS[runner.runner_type] ?? runner.runner_type}</td>
      <td><${StatusBadge} status=${runner.status} /></td>
      <td>${runner.paused ? html`<span class="badge paused">Paused</span>` : 'No'}</td>
      <td>${error ? html`<span class="error">${error.message}</span>` : d ? html`<${Tags} tags=${d.tag_list} />` : '…'}</td>
      <td>${d ? (d.version ?? html`<span class="muted">–</span>`) : '…'}</td>
      <td>${extra ? (extra.ip ?? html`<span class="muted">–</span>`) : '…'}</td>
      <td>${d ? html`<${Time} iso=${d.contacted_at} />` : '…'}</td>
      <td class="num">${extra ? extra.running : '…'}</td>
    </tr>`;
}

function Pagination({ page, total, hasNext, filters }) {
  const pages = total === null ? null : Math.max(1, Math.ceil(total / PER_PAGE));
  const href = (p) => listHref({ ...filters, page: p === 1 ? '' : String(p) });
  return html`
    <nav class="pagination" aria-label="Pages">
      ${page > 1 ? html`<${Link} href=${href(page - 1)} rel="prev">Previous</${Link}>` : html`<span class="disabled" aria-disabled="true">Previous</span>`}
      <span aria-current="page">Page ${page}${pages ? ` of ${pages}` : ''}</span>
      ${hasNext ? html`<${Link} href=${href(page + 1)} rel="next">Next</${Link}>` : html`<span class="disabled" aria-disabled="true">Next</span>`}
    </nav>`;
}

function RunnerList({ base, filters, page }) {
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    setResult(null);
    setError(null);
    loadPage(base, filters, page).then((r) => live && setResult(r), (err) => live && setError(err));
    return () => {
      live = false;
    };
  }, [base, JSON.stringify(filters), page]);
  return html`
    <section aria-labelledby="list-title">
      <h2 id="list-title">Runners${result && result.total !== null ? html` <span class="muted" id="list-total">(${number(result.total)})</span>` : ''}</h2>
      <${ErrorMessage} error=${error} />
      ${result?.scanned !== null && result?.scanned !== undefined
        ? html`<p class="help">Description search looked through ${number(result.scanned)} runners matching the other filters${result.scanned >= SEARCH_LIMIT ? ` (the first ${number(SEARCH_LIMIT)})` : ''}.</p>`
        : null}
      ${result === null && !error
        ? html`<p class="muted">Loading runners…</p>`
        : result && html`
          <div class="table-wrap">
            <table class="runners">
              <caption class="visually-hidden">Runners, page ${page}</caption>
              <thead>
                <tr>
                  <th scope="col">ID</th><th scope="col">Description</th><th scope="col">Type</th><th scope="col">Status</th>
                  <th scope="col">Paused</th><th scope="col">Tags</th><th scope="col">Version</th><th scope="col">IP address</th>
                  <th scope="col">Last contact</th><th scope="col">Running jobs</th>
                </tr>
              </thead>
              <tbody>
                ${result.runners.length === 0
                  ? html`<tr><td colspan="10" class="muted">No runner matches these filters.</td></tr>`
                  : result.runners.map((r) => html`<${RunnerRow} key=${r.id} runner=${r} />`)}
              </tbody>
            </table>
          </div>
          <${Pagination} page=${page} total=${result.total} hasNext=${result.hasNext} filters=${filters} />`}
    </section>`;
}

function ListPage({ user, serverVersion, query }) {
  const base = user.is_admin ? '/runners/all' : '/runners';
  const filters = readFilters(query);
  const page = Math.max(1, Number(query.get('page')) || 1);
  useEffect(() => {
    document.title = 'Runners · Admin';
  }, []);
  return html`
    <main>
      <h1>Runners</h1>
      <p class="help">${user.is_admin ? 'All runners of this instance.' : 'The runners you can manage.'}</p>
      <${Overview} base=${base} filters=${filters} serverVersion=${serverVersion} />
      <${Filters} filters=${filters} />
      <${RunnerList} base=${base} filters=${filters} page=${page} />
    </main>`;
}

// ---------------------------------------------------------------------------
// Runner detail and actions.

function Field({ name, value }) {
  let shown;
  if (value === null || value === undefined || value === '') shown = html`<span class="muted">–</span>`;
  else if (typeof value === 'boolean') shown = value ? 'true' : 'false';
  else if (Array.isArray(value)) shown = value.length ? value.map((v) => html`<span class="tag">${typeof v === 'object' ? JSON.stringify(v) : String(v)}</span>`) : html`<span class="muted">none</span>`;
  else if (typeof value === 'object') shown = html`<code>${JSON.stringify(value)}</code>`;
  else if (/_at$/.test(name) && typeof value === 'string') shown = html`<${Time} iso=${value} /> <span class="muted">(${exactTime(value)})</span>`;
  else shown = String(value);
  return html`<div class="field-row" data-field=${name}><dt>${name}</dt><dd>${shown}</dd></div>`;
}

function EditForm({ runner, onSaved }) {
  const [draft, setDraft] = useState(() => ({
    description: runner.description ?? '',
    tag_list: runner.tag_list.join(', '),
    run_untagged: runner.run_untagged,
    locked: runner.locked,
    maximum_timeout: runner.maximum_timeout ?? '',
  }));
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const body = {
        description: draft.description,
        tag_list: draft.tag_list.split(',').map((t) => t.trim()).filter(Boolean),
        run_untagged: draft.run_untagged,
        locked: draft.locked,
        maximum_timeout: draft.maximum_timeout === '' ? null : Number(draft.maximum_timeout),
      };
      const { body: updated } = await api(`/runners/${runner.id}`, { method: 'PUT', body });
      setSaved(true);
      onSaved(updated);
    } catch (err) {
      setError(err);
    }
  };
  const text = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const check = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.checked });
  return html`
    <form class="edit" onSubmit=${submit} aria-labelledby="edit-title">
      <h3 id="edit-title">Edit runner</h3>
      <div class="field"><label for="e-description">Description</label><input id="e-description" value=${draft.description} onInput=${text('description')} /></div>
      <div class="field"><label for="e-tags">Tags (comma-separated)</label><input id="e-tags" value=${draft.tag_list} onInput=${text('tag_list')} /></div>
      <div class="field"><label for="e-timeout">Maximum job timeout (seconds)</label><input id="e-timeout" type="number" min="0" value=${draft.maximum_timeout} onInput=${text('maximum_timeout')} /></div>
      <div class="field checkbox"><input id="e-untagged" type="checkbox" checked=${draft.run_untagged} onChange=${check('run_untagged')} /><label for="e-untagged">Run untagged jobs</label></div>
      <div class="field checkbox"><input id="e-locked" type="checkbox" checked=${draft.locked} onChange=${check('locked')} /><label for="e-locked">Lock to current projects</label></div>
      <${ErrorMessage} error=${error} />
      ${saved ? html`<p class="notice" role="status">Saved.</p>` : null}
      <button type="submit">Save changes</button>
    </form>`;
}

function ResetToken({ runner }) {
  const [token, setToken] = useState(null);
  const [error, setError] = useState(null);
  const [copied, setCopied] = useState(false);
  const reset = async () => {
    setError(null);
    setCopied(false);
    try {
      const { body } = await api(`/runners/${runner.id}/reset_authentication_token`, { method: 'POST' });
      setToken(body.token);
    } catch (err) {
      setError(err);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token);
      setCopied(true);
    } catch {
      document.getElementById('new-token')?.select();
    }
  };
  return html`
    <section class="reset" aria-labelledby="reset-title">
      <h3 id="reset-title">Authentication token</h3>
      <p class="help">Resetting makes the runner's current token stop working at once; the new token is shown here once.</p>
      <button type="button" class="secondary" onClick=${reset}>Reset authentication token</button>
      <${ErrorMessage} error=${error} />
      ${token
        ? html`
          <div class="new-token" role="status">
            <label for="new-token">New runner authentication token</label>
            <input id="new-token" readonly value=${token} onFocus=${(e) => e.currentTarget.select()} />
            <button type="button" onClick=${copy}>Copy token</button>
            ${copied ? html`<span class="notice">Copied.</span>` : null}
          </div>`
        : null}
    </section>`;
}

function DeleteRunner({ runner }) {
  const dialog = useRef(null);
  const [error, setError] = useState(null);
  const open = () => {
    setError(null);
    dialog.current.showModal();
  };
  const confirm = async () => {
    try {
      await api(`/runners/${runner.id}`, { method: 'DELETE' });
      dialog.current.close();
      sessionStorage.setItem('runners-dashboard-notice', `Runner #${runner.id} was deleted.`);
      navigate('/admin/runners');
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <section class="danger" aria-labelledby="delete-title">
      <h3 id="delete-title">Delete runner</h3>
      <button type="button" class="danger" onClick=${open}>Delete runner</button>
      <dialog ref=${dialog} aria-labelledby="confirm-title">
        <h2 id="confirm-title">Delete runner #${runner.id}?</h2>
        <p>${runner.description || 'This runner'} will stop receiving jobs and cannot be restored.</p>
        <${ErrorMessage} error=${error} />
        <div class="actions">
          <button type="button" class="danger" onClick=${confirm}>Delete</button>
          <button type="button" class="secondary" onClick=${() => dialog.current.close()} autofocus>Cancel</button>
        </div>
      </dialog>
    </section>`;
}

function DetailPage({ id }) {
  const [runner, setRunner] = useState(null);
  const [managers, setManagers] = useState(null);
  const [jobs, setJobs] = useState(null);
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [r, m, j] = await Promise.all([
        api(`/runners/${encodeURIComponent(id)}`),
        api(`/runners/${encodeURIComponent(id)}/managers`),
        api(`/runners/${encodeURIComponent(id)}/jobs?per_page=20&order_by=id&sort=desc`),
      ]);
      setRunner(r.body);
      setManagers(m.body);
      setJobs(j.body);
      document.title = `Runner #${r.body.id} · Admin`;
    } catch (err) {
      setError(err);
    }
  }, [id]);
  useEffect(() => {
    load();
  }, [load]);

  const togglePaused = async () => {
    setActionError(null);
    try {
      const { body } = await api(`/runners/${runner.id}`, { method: 'PUT', body: { paused: !runner.paused } });
      setRunner({ ...runner, ...body });
    } catch (err) {
      setActionError(err);
    }
  };

  if (error) return html`<main><p><${Link} href="/admin/runners">← All runners</${Link}></p><${ErrorMessage} error=${error} /></main>`;
  if (!runner) return html`<main><p class="muted">Loading runner…</p></main>`;
  const { projects = [], groups = [], ...fields } = runner;
  return html`
    <main class="detail">
      <p><${Link} href="/admin/runners">← All runners</${Link}></p>
      <h1>Runner #${runner.id} <${StatusBadge} status=${runner.status} />${runner.paused ? html` <span class="badge paused">Paused</span>` : null}</h1>
      <p class="lead">${runner.description || html`<span class="muted">No description</span>`}</p>
      <div class="toolbar">
        <button type="button" onClick=${togglePaused}>${runner.paused ? 'Resume' : 'Pause'}</button>
        <${ErrorMessage} error=${actionError} />
      </div>
      <div class="columns">
        <section aria-labelledby="fields-title">
          <h2 id="fields-title">Details</h2>
          <dl class="fields">${Object.entries(fields).map(([k, v]) => html`<${Field} name=${k} value=${v} />`)}</dl>
        </section>
        <section class="actions-panel" aria-label="Actions">
          <${EditForm} key=${runner.id} runner=${runner} onSaved=${(u) => setRunner({ ...runner, ...u })} />
          <${ResetToken} runner=${runner} />
          <${DeleteRunner} runner=${runner} />
        </section>
      </div>
      <section aria-labelledby="managers-title">
        <h2 id="managers-title">Managers</h2>
        ${managers.length === 0
          ? html`<p class="muted">No runner manager has contacted the server yet.</p>`
          : html`
            <table class="compact">
              <thead><tr><th scope="col">System ID</th><th scope="col">Status</th><th scope="col">Version</th><th scope="col">Platform</th><th scope="col">Architecture</th><th scope="col">IP address</th><th scope="col">Last contact</th></tr></thead>
              <tbody>${managers.map(
                (m) => html`<tr data-manager-id=${m.id}><td><code>${m.system_id}</code></td><td><${StatusBadge} status=${m.status} /></td><td>${m.version ?? '–'}</td><td>${m.platform ?? '–'}</td><td>${m.architecture ?? '–'}</td><td>${m.ip_address ?? '–'}</td><td><${Time} iso=${m.contacted_at} /></td></tr>`,
              )}</tbody>
            </table>`}
      </section>
      <section aria-labelledby="owners-title">
        <h2 id="owners-title">Projects and groups</h2>
        ${projects.length === 0 && groups.length === 0 ? html`<p class="muted">${runner.runner_type === 'instance_type' ? 'An instance runner: available to every project.' : 'None.'}</p>` : null}
        <ul class="owners">
          ${groups.map((g) => html`<li>Group <a href=${g.web_url}>${g.name}</a></li>`)}
          ${projects.map((p) => html`<li>Project <a href=${p.web_url}>${p.name_with_namespace}</a></li>`)}
        </ul>
      </section>
      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Recent jobs</h2>
        ${jobs.length === 0
          ? html`<p class="muted">This runner has not run any job.</p>`
          : html`
            <table class="compact">
              <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Name</th><th scope="col">Project</th><th scope="col">Ref</th><th scope="col">Duration</th><th scope="col">Created</th></tr></thead>
              <tbody>${jobs.map(
                (j) => html`<tr data-job-id=${j.id}><td>#${j.id}</td><td><span class=${`badge job-${j.status}`}>${j.status}</span></td><td>${j.name}</td><td>${j.project?.path_with_namespace ?? j.project?.name ?? '–'}</td><td>${j.ref}</td><td>${duration(j.duration)}</td><td><${Time} iso=${j.created_at} /></td></tr>`,
              )}</tbody>
            </table>`}
      </section>
    </main>`;
}

// ---------------------------------------------------------------------------

function App() {
  const [route, setRoute] = useState(currentRoute);
  const [user, setUser] = useState(null);
  const [serverVersion, setServerVersion] = useState(null);
  const [checking, setChecking] = useState(Boolean(session.token));
  const [signInNotice, setSignInNotice] = useState(null);
  const [notice, setNotice] = useState(null);

  useEffect(() => {
    const onPop = () => {
      setRoute(currentRoute());
      const n = sessionStorage.getItem('runners-dashboard-notice');
      if (n) {
        sessionStorage.removeItem('runners-dashboard-notice');
        setNotice(n);
      } else setNotice(null);
    };
    const onSignedOut = (e) => {
      setUser(null);
      setServerVersion(null);
      setSignInNotice(e.detail);
    };
    addEventListener('popstate', onPop);
    addEventListener('runners-dashboard:signed-out', onSignedOut);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener('runners-dashboard:signed-out', onSignedOut);
    };
  }, []);

  const signedIn = async (u) => {
    setUser(u);
    try {
      setServerVersion((await api('/version')).body.version);
    } catch {
      setServerVersion('unknown');
    }
  };

  useEffect(() => {
    if (!session.token) return;
    api('/user')
      .then((r) => signedIn(r.body))
      .catch((err) => {
        session.signOut();
        setSignInNotice(err);
      })
      .finally(() => setChecking(false));
  }, []);

  const signOut = () => {
    session.signOut();
    setUser(null);
    setServerVersion(null);
    setSignInNotice(null);
  };

  if (checking) return html`<p class="loading">Loading…</p>`;
  if (!user) return html`<${SignIn} onSignedIn=${signedIn} notice=${signInNotice} />`;
  if (!serverVersion) return html`<p class="loading">Loading…</p>`;
  return html`
    <${Header} user=${user} onSignOut=${signOut} />
    ${notice ? html`<p class="notice banner" role="status">${notice}</p>` : null}
    ${route.page === 'detail'
      ? html`<${DetailPage} key=${route.id} id=${route.id} />`
      : html`<${ListPage} user=${user} serverVersion=${serverVersion} query=${route.query} />`}`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
