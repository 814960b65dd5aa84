import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';

// A stand-in for an unmodified `gitlab-runner` 19.4.0 (shell executor,
// linux/amd64) that sends its requests byte for byte as the Go client does
// (GitLab's lib/api/ci/runner.rb): the same paths, header names (Go
// canonicalises `RUNNER-TOKEN` to `Runner-Token`), JSON field order of the Go
// structs, omitempty rules and Go's HTML-safe JSON escaping. Responses are
// checked the way the runner decodes them (`decode*` helpers).
//
// Transport-agnostic: `RunnerSimulator.forApp(app)` injects into a Fastify
// app (no port), `RunnerSimulator.forUrl(url)` talks real HTTP.

export const RUNNER_VERSION = '19.4.0';
export const RUNNER_REVISION = 'd79f3e7b';
export const RUNNER_USER_AGENT = `gitlab-runner ${RUNNER_VERSION} (HEAD; go1.24.0; linux/amd64)`;
export const DEFAULT_SYSTEM_ID = 's_0123456789ab';

/** Go `FeaturesInfo` keys in struct order; all 31 are always sent. */
export const FEATURE_KEYS = [
  'variables', 'image', 'services', 'artifacts', 'cache', 'fallback_cache_keys', 'shared', 'upload_multiple_artifacts',
  'upload_raw_artifacts', 'session', 'terminal', 'refspecs', 'masking', 'proxy', 'raw_variables', 'artifacts_exclude',
  'multi_build_steps', 'trace_reset', 'trace_checksum', 'trace_size', 'vault_secrets', 'cancelable', 'return_exit_code',
  'service_variables', 'service_multiple_aliases', 'image_executor_opts', 'service_executor_opts', 'cancel_gracefully',
  'native_steps_integration', 'two_phase_job_commit', 'job_inputs',
] as const;
export type FeatureKey = (typeof FEATURE_KEYS)[number];

/** Set by the network client for every request (`getFeatures`). */
export const NETWORK_CLIENT_FEATURES: FeatureKey[] = [
  'trace_reset', 'trace_checksum', 'trace_size', 'cancelable', 'cancel_gracefully', 'two_phase_job_commit', 'job_inputs',
];
/** Shell executor on Linux plus the bash shell's features, on top of the network client's. */
export const SHELL_EXECUTOR_FEATURES: FeatureKey[] = [
  ...NETWORK_CLIENT_FEATURES,
  'variables', 'shared', 'native_steps_integration', 'session', 'terminal',
  'artifacts', 'upload_multiple_artifacts', 'upload_raw_artifacts', 'cache', 'fallback_cache_keys', 'refspecs', 'masking',
  'raw_variables', 'artifacts_exclude', 'multi_build_steps', 'vault_secrets', 'return_exit_code',
];

export function featuresInfo(enabled: readonly FeatureKey[]): Record<FeatureKey, boolean> {
  return Object.fromEntries(FEATURE_KEYS.map((k) => [k, enabled.includes(k)])) as Record<FeatureKey, boolean>;
}

/** Go `common.Info`, fields in struct order (omitempty ones left out when empty). */
export interface RunnerInfo {
  name?: string;
  version?: string;
  revision?: string;
  platform?: string;
  architecture?: string;
  executor?: string;
  shell?: string;
  features: Record<FeatureKey, boolean>;
  config: { gpus: string };
  labels?: Record<string, string>;
}

/** The `info` of `register` (`getRunnerInfo(RunnerConfig{})`): no executor, no shell, only network features. */
export function registerInfo(): RunnerInfo {
  return {
    name: 'gitlab-runner',
    version: RUNNER_VERSION,
    revision: RUNNER_REVISION,
    platform: 'linux',
    architecture: 'amd64',
    features: featuresInfo(NETWORK_CLIENT_FEATURES),
    config: { gpus: '' },
  };
}

/** The `info` of a configured shell-executor runner (verify, jobs/request, PUT job), */
export function shellInfo(labels?: Record<string, string>): RunnerInfo {
  return {
    name: 'gitlab-runner',
    version: RUNNER_VERSION,
    revision: RUNNER_REVISION,
    platform: 'linux',
    architecture: 'amd64',
    executor: 'shell',
    shell: 'bash',
    features: featuresInfo(SHELL_EXECUTOR_FEATURES),
    config: { gpus: '' },
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
  };
}

/** Go's json.Marshal: like JSON.stringify, but <, >, & and U+2028/9 are escaped (HTML-safe). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Drops the keys whose value Go's omitempty would leave out ("" , 0, undefined). */
function omitEmpty<T extends Record<string, unknown>>(obj: T, keys: (keyof T)[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (keys.includes(k as keyof T) && (v === '' || v === 0 || v === undefined)) continue;
    if (v === undefined) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

export interface SimRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/api/v4/runners/verify`. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface SimResponse {
  statusCode: number;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = any>(): T;
}

export type Transport = (req: SimRequest) => Promise<SimResponse>;

function responseOf(statusCode: number, headers: SimResponse['headers'], body: string): SimResponse {
  return { statusCode, headers, body, json: () => JSON.parse(body) };
}

/** Fastify inject; `remoteAddress` is the client IP the server sees. */
export function injectTransport(app: FastifyInstance, opts: { remoteAddress?: string } = {}): Transport {
  return async (req) => {
    const res = await app.inject({
      method: req.method,
      url: req.path,
      headers: req.headers,
      payload: req.body,
      remoteAddress: opts.remoteAddress ?? '127.0.0.1',
    });
    return responseOf(res.statusCode, res.headers as SimResponse['headers'], res.body);
  };
}

/** Real HTTP against a listening server, e.g. `http://127.0.0.1:3000`. */
export function httpTransport(baseUrl: string): Transport {
  const base = baseUrl.replace(/\/+$/, '');
  return async (req) => {
    const body = typeof req.body === 'string' || req.body === undefined ? req.body : new Uint8Array(req.body);
    const res = await fetch(base + req.path, { method: req.method, headers: req.headers, body });
    const headers: SimResponse['headers'] = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return responseOf(res.status, headers, await res.text());
  };
}

/** `R:network/client.go isResponseApplicationJSON`: the media type must be application/json (parameters allowed). */
export function isApplicationJson(res: SimResponse): boolean {
  const type = res.headers['content-type'];
  return typeof type === 'string' && type.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Decodes a RegisterRunnerResponse / VerifyRunnerResponse / ResetTokenResponse as Go would, or throws why it cannot. */
export function decodeTokenResponse(res: SimResponse): { id?: number; token: string; tokenExpiresAt: Date | null } {
  if (!isApplicationJson(res)) throw new Error(`response is not application/json: ${String(res.headers['content-type'])}`);
  const body = res.json<Record<string, unknown>>();
  if ('id' in body && (typeof body.id !== 'number' || !Number.isInteger(body.id))) throw new Error('decoding json payload: id is not an int64');
  if ('token' in body && typeof body.token !== 'string') throw new Error('decoding json payload: token is not a string');
  const exp = body.token_expires_at;
  if (exp !== undefined && exp !== null && (typeof exp !== 'string' || !RFC3339.test(exp))) {
    throw new Error(`decoding json payload: token_expires_at ${JSON.stringify(exp)} is not RFC 3339`);
  }
  return {
    id: typeof body.id === 'number' ? body.id : undefined,
    token: (body.token as string | undefined) ?? '',
    tokenExpiresAt: typeof exp === 'string' ? new Date(exp) : null,
  };
}

/** `gitlab-runner register` flags that end up in RegisterRunnerParameters. */
export interface RegisterParams {
  description?: string;
  maintenanceNote?: string;
  /** Comma-separated, as `--tag-list`. */
  tagList?: string;
  runUntagged?: boolean;
  locked?: boolean;
  accessLevel?: 'not_protected' | 'ref_protected';
  maximumTimeout?: number;
  paused?: boolean;
}

export interface JobUpdate {
  state: 'running' | 'success' | 'failed' | 'pending';
  failureReason?: string;
  checksum?: string;
  output?: { checksum?: string; bytesize?: number };
  exitCode?: number;
}

export interface SimulatorOptions {
  systemId?: string;
  /** The `info` sent on verify, jobs/request and PUT job (default: shell executor). */
  info?: RunnerInfo;
}

export class RunnerSimulator {
  readonly systemId: string;
  info: RunnerInfo;
  /** The last non-empty X-GitLab-Last-Update seen, sent back as `last_update`. */
  lastUpdate: string | undefined;
  /** Every request sent, for assertions on the wire format. */
  readonly sent: SimRequest[] = [];

  constructor(
    private readonly transport: Transport,
    opts: SimulatorOptions = {},
  ) {
    this.systemId = opts.systemId ?? DEFAULT_SYSTEM_ID;
    this.info = opts.info ?? shellInfo();
  }

  static forApp(app: FastifyInstance, opts: SimulatorOptions & { remoteAddress?: string } = {}): RunnerSimulator {
    return new RunnerSimulator(injectTransport(app, opts), opts);
  }

  static forUrl(baseUrl: string, opts: SimulatorOptions = {}): RunnerSimulator {
    return new RunnerSimulator(httpTransport(baseUrl), opts);
  }

  /** `X-Request-Id`: a UUID without dashes, 32 lowercase hex characters. */
  static requestId(): string {
    return crypto.randomUUID().replaceAll('-', '');
  }

  private async send(
    method: SimRequest['method'],
    path: string,
    opts: { json?: unknown; raw?: Buffer; contentType?: string; accept?: boolean; runnerToken?: string; jobToken?: string; extra?: Record<string, string> },
  ): Promise<SimResponse> {
    // Header order and spelling as Go's net/http writes them after Header.Set.
    const headers: Record<string, string> = { 'User-Agent': RUNNER_USER_AGENT };
    if (opts.json !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.raw !== undefined) headers['Content-Type'] = opts.contentType ?? 'text/plain';
    if (opts.accept) headers.Accept = 'application/json';
    if (opts.runnerToken !== undefined) headers['Runner-Token'] = opts.runnerToken;
    if (opts.jobToken !== undefined) headers['Job-Token'] = opts.jobToken;
    headers['X-Request-Id'] = RunnerSimulator.requestId();
    Object.assign(headers, opts.extra ?? {});
    headers['Accept-Encoding'] = 'gzip';
    const body = opts.json !== undefined ? goJson(opts.json) : opts.raw;
    const req: SimRequest = { method, path: `/api/v4${path}`, headers, body };
    this.sent.push(req);
    const res = await this.transport(req);
    const lastUpdate = res.headers['x-gitlab-last-update'];
    if (opts.accept && typeof lastUpdate === 'string' && lastUpdate !== '') this.lastUpdate = lastUpdate;
    return res;
  }

  /** The last request sent. */
  get lastRequest(): SimRequest | undefined {
    return this.sent[this.sent.length - 1];
  }

  /** `POST /runners` with a registration token, CLI defaults: locked, not paused, run_untagged when no tags. */
  register(registrationToken: string, params: RegisterParams = {}): Promise<SimResponse> {
    const tagList = params.tagList ?? '';
    const body = {
      ...omitEmpty(
        {
          description: params.description,
          maintenance_note: params.maintenanceNote,
          tag_list: tagList,
          run_untagged: params.runUntagged ?? tagList === '',
          locked: params.locked ?? true,
          access_level: params.accessLevel,
          maximum_timeout: params.maximumTimeout,
          paused: params.paused ?? false,
        },
        ['description', 'maintenance_note', 'tag_list', 'access_level', 'maximum_timeout'],
      ),
      info: registerInfo(),
      token: registrationToken,
    };
    return this.send('POST', '/runners', { json: body, accept: true, runnerToken: registrationToken });
  }

  /** `POST /runners/verify` (also `register --token glrt-…`). */
  verify(token: string): Promise<SimResponse> {
    const body = omitEmpty({ info: this.info, token, system_id: this.systemId }, ['token', 'system_id']);
    return this.send('POST', '/runners/verify', { json: body, accept: true, runnerToken: token });
  }

  /** `DELETE /runners` (unregister with a registered runner's token). */
  unregister(token: string): Promise<SimResponse> {
    return this.send('DELETE', '/runners', { json: { token }, runnerToken: token });
  }

  /** `DELETE /runners/managers` (unregister with a `glrt-` token); `system_id` is sent even when empty. */
  unregisterManager(token: string, systemId: string = this.systemId): Promise<SimResponse> {
    return this.send('DELETE', '/runners/managers', { json: { token, system_id: systemId }, runnerToken: token });
  }

  /** `POST /runners/reset_authentication_token`: no Runner-Token header, no system_id. */
  resetToken(token: string): Promise<SimResponse> {
    return this.send('POST', '/runners/reset_authentication_token', { json: { token }, accept: true });
  }

  /** `POST /jobs/request`, with `last_update` once a response carried X-GitLab-Last-Update. */
  requestJob(token: string, session?: { url?: string; certificate?: string; authorization?: string }): Promise<SimResponse> {
    const body = omitEmpty(
      { info: this.info, token, system_id: this.systemId, last_update: this.lastUpdate, session },
      ['token', 'system_id', 'last_update'],
    );
    return this.send('POST', '/jobs/request', { json: body, accept: true, runnerToken: token });
  }

  /** `PUT /jobs/:id`: no Accept header, the body is not parsed by the runner. */
  updateJob(jobId: number, jobToken: string, update: JobUpdate): Promise<SimResponse> {
    const body = {
      info: this.info,
      token: jobToken,
      state: update.state,
      ...(update.failureReason ? { failure_reason: update.failureReason } : {}),
      ...(update.checksum ? { checksum: update.checksum } : {}),
      output: omitEmpty({ checksum: update.output?.checksum, bytesize: update.output?.bytesize }, ['checksum', 'bytesize']),
      ...(update.exitCode ? { exit_code: update.exitCode } : {}),
    };
    return this.send('PUT', `/jobs/${jobId}`, { json: body, jobToken });
  }

  /** `PATCH /jobs/:id/trace`: raw bytes with an inclusive `Content-Range: start-end`. */
  patchTrace(jobId: number, jobToken: string, content: Buffer, startOffset: number, debugTrace = false): Promise<SimResponse> {
    const end = startOffset + content.length - 1;
    return this.send('PATCH', `/jobs/${jobId}/trace?debug_trace=${debugTrace}`, {
      raw: content,
      contentType: 'text/plain',
      jobToken,
      extra: { 'Content-Range': `${startOffset}-${end}` },
    });
  }
}

/** `crc32:%08x` over the bytes, as the runner's trace checksum (CRC-32 IEEE). */
export function traceChecksum(bytes: Buffer): string {
  return `crc32:${zlib.crc32(bytes).toString(16).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------
// The 201 body of POST /jobs/request, checked against the Go types of
// gitlab-runner's `common/spec/spec.go`: a number where Go wants a
// string (or the reverse) is a decode error, which makes the real runner drop
// the job silently. `null` is fine for objects, arrays, strings and bools.

type GoType = 'int' | 'float' | 'string' | 'bool' | 'strings' | GoStruct | [GoStruct];
interface GoStruct {
  [field: string]: GoType;
}

const GO_VARIABLE: GoStruct = { key: 'string', value: 'string', public: 'bool', internal: 'bool', file: 'bool', masked: 'bool', raw: 'bool' };
const GO_IMAGE: GoStruct = {
  name: 'string', alias: 'string', command: 'strings', entrypoint: 'strings', ports: [{ number: 'int', protocol: 'string', name: 'string' }],
  variables: [GO_VARIABLE], pull_policy: 'strings',
};
const GO_JOB: GoStruct = {
  id: 'int',
  token: 'string',
  allow_git_fetch: 'bool',
  job_info: {
    id: 'int', name: 'string', stage: 'string', pipeline_id: 'int', project_id: 'int', project_name: 'string',
    project_full_path: 'string', namespace_id: 'int', root_namespace_id: 'int', organization_id: 'int', user_id: 'int',
    scoped_user_id: 'int', time_in_queue_seconds: 'float', project_jobs_running_on_instance_runners_count: 'string',
    queue_size: 'int', queue_depth: 'int', instance_id: 'string', instance_uuid: 'string',
  },
  git_info: {
    repo_url: 'string', ref: 'string', sha: 'string', before_sha: 'string', ref_type: 'string', refspecs: 'strings',
    depth: 'int', repo_object_format: 'string', protected: 'bool',
  },
  runner_info: { uuid: 'string', timeout: 'int', runner_session_url: 'string' },
  variables: [GO_VARIABLE],
  steps: [{ name: 'string', script: 'strings', timeout: 'int', when: 'string', allow_failure: 'bool' }],
  hooks: [{ name: 'string', script: 'strings' }],
  image: GO_IMAGE,
  services: [GO_IMAGE],
  artifacts: [{ name: 'string', untracked: 'bool', paths: 'strings', exclude: 'strings', when: 'string', artifact_type: 'string', artifact_format: 'string', expire_in: 'string' }],
  cache: [{ key: 'string', untracked: 'bool', policy: 'string', paths: 'strings', when: 'string', fallback_keys: 'strings' }],
  credentials: [{ type: 'string', url: 'string', username: 'string', password: 'string' }],
  dependencies: [{ id: 'int', token: 'string', name: 'string', artifacts_file: { filename: 'string', size: 'int' } }],
  features: { trace_sections: 'bool', failure_reasons: 'strings' },
};

function checkGo(value: unknown, type: GoType, path: string): void {
  if (value === null) return;
  const fail = (want: string) => {
    throw new Error(`decoding json payload: ${path} is ${JSON.stringify(value)}, Go wants ${want}`);
  };
  if (type === 'int') return void (typeof value === 'number' && Number.isInteger(value) ? undefined : fail('an integer'));
  if (type === 'float') return void (typeof value === 'number' ? undefined : fail('a number'));
  if (type === 'string') return void (typeof value === 'string' ? undefined : fail('a string'));
  if (type === 'bool') return void (typeof value === 'boolean' ? undefined : fail('a bool'));
  if (type === 'strings') {
    if (!Array.isArray(value)) return fail('an array of strings');
    return value.forEach((v, i) => checkGo(v, 'string', `${path}[${i}]`));
  }
  if (Array.isArray(type)) {
    if (!Array.isArray(value)) return fail('an array');
    return value.forEach((v, i) => checkGo(v, type[0], `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value)) return fail('an object');
  for (const [field, fieldType] of Object.entries(type)) {
    const v = (value as Record<string, unknown>)[field];
    if (v !== undefined) checkGo(v, fieldType, path ? `${path}.${field}` : field);
  }
}

/** Decodes a jobs/request 201 as the runner would, or throws why the runner would drop it. */
export function decodeJobResponse(res: SimResponse): any {
  if (res.statusCode !== 201) throw new Error(`expected 201, got ${res.statusCode}`);
  if (!isApplicationJson(res)) throw new Error(`response is not application/json: ${String(res.headers['content-type'])}`);
  const body = res.json<Record<string, unknown>>();
  checkGo(body, GO_JOB, '');
  // `Run.UnmarshalJSON` decodes a string holding JSON; null or anything else fails.
  if ('run' in body) {
    if (typeof body.run !== 'string') throw new Error('decoding json payload: run must be a JSON string');
    JSON.parse(body.run);
  }
  return body;
}
