// What RunnerManager#heartbeat stores from a request (GitLab's lib/api/ci/runner.rb),
// in one comparable shape, so the poll path can tell "same as stored" (a
// contact, coalesced) from "new or changed" (written at once).

export interface RunnerInfo {
  name?: string;
  version?: string;
  revision?: string;
  platform?: string;
  architecture?: string;
  executor?: string;
  features?: Record<string, unknown>;
  config?: Record<string, unknown>;
  labels?: Record<string, unknown>;
}

/** Ci::RunnerManager `executor_type` enum; any other executor name is stored as 'unknown'. */
export const EXECUTOR_TYPES = [
  'unknown', 'custom', 'shell', 'docker', 'docker-windows', 'docker-ssh', 'ssh', 'parallels',
  'virtualbox', 'docker+machine', 'docker-ssh+machine', 'kubernetes', 'docker-autoscaler', 'instance',
] as const;

/**
 * Manager columns a heartbeat writes. JSON columns are canonical JSON text
 * (keys sorted at every level) so that equal content compares equal however
 * the runner or jsonb ordered the keys. In an update, null means "not sent,
 * keep the stored value" (GitLab's attributes_for_keys).
 */
export interface StoredManagerDetails {
  version: string | null;
  revision: string | null;
  platform: string | null;
  architecture: string | null;
  executor_type: string | null;
  ip_address: string | null;
  config: string | null;
  runtime_features: string | null;
  labels: string | null;
}

export type ManagerDetailsUpdate = StoredManagerDetails;

const FIELDS = ['version', 'revision', 'platform', 'architecture', 'executor_type', 'ip_address', 'config', 'runtime_features', 'labels'] as const;

const present = (v: unknown): boolean => {
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
};

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v,
  );
}

/**
 * What a heartbeat with this `info` writes: only the info keys that were sent
 * and are non-blank; `config` is always written when `info` is sent (as
 * {gpus} or {}).
 */
export function detailsFromRequest(info: RunnerInfo | undefined, ipAddress: string | undefined): ManagerDetailsUpdate {
  const ip = ipAddress ?? null;
  if (!info || !present(info)) {
    return { version: null, revision: null, platform: null, architecture: null, executor_type: null, ip_address: ip, config: null, runtime_features: null, labels: null };
  }
  const pick = (v: unknown) => (present(v) && typeof v === 'string' ? v : null);
  const gpus = info.config?.gpus;
  return {
    version: pick(info.version),
    revision: pick(info.revision),
    platform: pick(info.platform),
    architecture: pick(info.architecture),
    executor_type: present(info.executor)
      ? ((EXECUTOR_TYPES as readonly string[]).includes(info.executor!) ? info.executor! : 'unknown')
      : null,
    ip_address: ip,
    config: canonicalJson(present(gpus) ? { gpus } : {}),
    runtime_features: present(info.features) ? canonicalJson(info.features) : null,
    labels: present(info.labels) ? canonicalJson(info.labels) : null,
  };
}

const jsonText = (v: unknown): string | null => (v === null || v === undefined ? null : canonicalJson(v));

// Stored details are kept in every cached runner's entry, and a fleet sends
// few different ones (a feature set per runner version): one copy of each
// text serves every entry, where each row read or merged would otherwise
// keep its own (the runtime_features JSON alone is about 600 bytes). Bounded;
// starts over when full. ip_address differs per runner and is not shared.
const SHARED_FIELDS = ['version', 'revision', 'platform', 'architecture', 'executor_type', 'config', 'runtime_features', 'labels'] as const;
const MAX_SHARED_TEXTS = 2000;
const sharedTexts = new Map<string, string>();

function shared(text: string | null): string | null {
  if (text === null) return null;
  const known = sharedTexts.get(text);
  if (known !== undefined) return known;
  if (sharedTexts.size >= MAX_SHARED_TEXTS) sharedTexts.clear();
  sharedTexts.set(text, text);
  return text;
}

function shareTexts(details: StoredManagerDetails): StoredManagerDetails {
  for (const f of SHARED_FIELDS) details[f] = shared(details[f]);
  return details;
}

/** A runner_managers row (jsonb columns already parsed by pg) in comparable form. */
export function detailsFromRow(row: {
  version: string | null;
  revision: string | null;
  platform: string | null;
  architecture: string | null;
  executor_type: string | null;
  ip_address: string | null;
  config: unknown;
  runtime_features: unknown;
  labels: unknown;
}): StoredManagerDetails {
  return shareTexts({
    version: row.version,
    revision: row.revision,
    platform: row.platform,
    architecture: row.architecture,
    executor_type: row.executor_type,
    ip_address: row.ip_address,
    config: jsonText(row.config),
    runtime_features: jsonText(row.runtime_features),
    labels: jsonText(row.labels),
  });
}

/** An update that writes nothing but the contact time. */
export const isContactOnly = (update: ManagerDetailsUpdate): boolean => FIELDS.every((f) => update[f] === null);

/** Would writing `update` change what is stored? */
export function changesStored(update: ManagerDetailsUpdate, stored: StoredManagerDetails): boolean {
  return FIELDS.some((f) => update[f] !== null && update[f] !== stored[f]);
}

/** The stored details after writing `update` (COALESCE(new, old) per column). */
export function mergeDetails(stored: StoredManagerDetails | null, update: ManagerDetailsUpdate): StoredManagerDetails {
  const out = { ...(stored ?? update) };
  for (const f of FIELDS) if (update[f] !== null) out[f] = update[f];
  return shareTexts(out);
}

/** A request's heartbeat input as last seen: `info` as parsed, and the address. */
export interface SeenRequest {
  info: RunnerInfo | undefined;
  ipAddress: string | undefined;
}

/**
 * Is this the request `seen` was made from? The common case of a poll (the
 * same runner sending the same info again), decided without allocating:
 * a structural comparison of the parsed JSON.
 */
export function sameRequest(seen: SeenRequest | null, info: RunnerInfo | undefined, ipAddress: string | undefined): boolean {
  return seen !== null && seen.ipAddress === ipAddress && jsonEqual(seen.info, info);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const key in ao) {
    if (!Object.hasOwn(bo, key) || !jsonEqual(ao[key], bo[key])) return false;
    count++;
  }
  for (const key in bo) if (Object.hasOwn(bo, key)) count--;
  return count === 0;
}
