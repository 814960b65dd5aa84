// The dashboard's only way to the server: the public /api/v4 routes, with the
// token in the PRIVATE-TOKEN header (never in a URL). The token lives in
// sessionStorage: it is gone when the tab closes or the user signs out.

const TOKEN_KEY = 'runners-dashboard-token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An API error, worded as the API worded it. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
  }
}

/** GitLab's error bodies: {"message": "…"}, {"message": {field: [...]}}, {"error": "…", "error_description": "…"}. */
export function describeError(status, body) {
  if (body && typeof body === 'object') {
    const { message, error, error_description: description } = body;
    if (typeof message === 'string') return message;
    if (message && typeof message === 'object') {
      return Object.entries(message)
        .map(([field, msgs]) => `${field} ${Array.isArray(msgs) ? msgs.join(', ') : String(msgs)}`)
        .join('; ');
    }
    if (typeof description === 'string') return description;
    if (typeof error === 'string') return error;
  }
  if (typeof body === 'string' && body !== '') return body;
  return `${status} error`;
}

/** Calls /api/v4`path` with the session's token; resolves to { body, headers } or throws ApiError. */
export async function api(path, { method = 'GET', body, token = session.token } = {}) {
  // Signed out (perhaps by a 401 a moment ago): nothing is sent without a token.
  if (!token) throw new ApiError(401, { message: 'Signed out' });
  const headers = { Accept: 'application/json', 'PRIVATE-TOKEN': token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v4${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  if (!res.ok) {
    const error = new ApiError(res.status, parsed);
    // The session's token stopped working (revoked, expired): back to the sign-in form, with the server's words.
    if (res.status === 401 && token !== null && token === session.token) {
      session.signOut();
      dispatchEvent(new CustomEvent('runners-dashboard:signed-out', { detail: error }));
    }
    throw error;
  }
  return { body: parsed, headers: res.headers };
}

/** X-Total of a list call (one item fetched); null when the server does not count (GitLab stops above 10,000). */
export async function countOf(path, params = {}) {
  const query = new URLSearchParams({ ...params, per_page: '1' });
  const { headers } = await api(`${path}?${query}`);
  const total = headers.get('x-total');
  return total === null || total === '' ? null : Number(total);
}
