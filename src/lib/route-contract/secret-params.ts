// Parameter names whose values are credentials. Every route's are redacted
// from logs; a contract adds its own with `secretParams`.

/** Credentials any route may receive as a parameter (GitLab's API helpers read them on every route). */
export const ALWAYS_SECRET = ['private_token', 'token', 'job_token', 'access_token', 'sudo'] as const;

const secret = new Set<string>(ALWAYS_SECRET);

export function registerSecretParams(names: readonly string[]): void {
  for (const name of names) secret.add(name);
}

/** True for a parameter name (its part before any `[`) that is a credential. */
export function isSecretParam(name: string): boolean {
  const bracket = name.indexOf('[');
  return secret.has(bracket > 0 ? name.slice(0, bracket) : name);
}
