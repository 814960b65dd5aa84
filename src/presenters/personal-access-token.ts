import type { PersonalAccessToken } from '../generated/prisma/client.js';

/** Entities::PersonalAccessToken; `expires_at` is a date (YYYY-MM-DD). */
export function presentPersonalAccessToken(pat: PersonalAccessToken) {
  const expiresOn = pat.expires_at ? pat.expires_at.toISOString().slice(0, 10) : null;
  const today = new Date().toISOString().slice(0, 10);
  return {
    id: pat.id,
    name: pat.name,
    revoked: pat.revoked,
    created_at: pat.created_at.toISOString(),
    description: null,
    scopes: pat.scopes,
    user_id: pat.user_id,
    last_used_at: pat.last_used_at ? pat.last_used_at.toISOString() : null,
    active: !pat.revoked && (expiresOn === null || expiresOn > today),
    expires_at: expiresOn,
  };
}

/** Entities::PersonalAccessTokenWithToken: the plain token, shown once at creation. */
export function presentPersonalAccessTokenWithToken(pat: PersonalAccessToken, token: string) {
  return { ...presentPersonalAccessToken(pat), token };
}
