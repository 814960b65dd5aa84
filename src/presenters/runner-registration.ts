// Response shapes of the runner-token endpoints. gitlab-runner decodes them
// with Go's encoding/json into typed structs: `id` must be a number and
// `token_expires_at` null or RFC 3339 (never "").

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Entities::Ci::RunnerRegistrationDetails (POST /runners, POST /runners/verify). */
export function presentRegistrationDetails(runner: { id: number; token_expires_at: Date | null }, token: string) {
  return { id: runner.id, token, token_expires_at: iso(runner.token_expires_at) };
}

/** Entities::Ci::ResetTokenResult for a runner token: `token_expires_at` is always present, null when none. */
export function presentResetTokenResult(result: { token: string; token_expires_at: Date | null }) {
  return { token: result.token, token_expires_at: iso(result.token_expires_at) };
}
