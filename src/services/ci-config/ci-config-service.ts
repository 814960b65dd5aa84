import YAML from 'yaml';
import { parseDuration } from './duration.js';

// Reads the text of a .gitlab-ci.yml into the jobs a pipeline is made of.
// Only a subset of GitLab's keywords is supported (README: "Pipelines"); a
// keyword GitLab knows but this server does not is rejected by name rather
// than silently ignored, so a pipeline never runs differently from what its
// author wrote. Error texts follow GitLab's "jobs:<name> config ..." style.

export class CiConfigError extends Error {}

export type { CiImage, CiService, CiVariable } from '../../domain/ci-job.js';
import type { CiImage, CiService, CiVariable } from '../../domain/ci-job.js';

export interface CiJobSpec {
  name: string;
  stage: string;
  /** Position of the stage in `stages` (with .pre first and .post last). */
  stageIdx: number;
  script: string[];
  beforeScript: string[];
  afterScript: string[];
  image: CiImage | null;
  services: CiService[];
  tags: string[];
  variables: CiVariable[];
  /** Seconds, from `timeout:`; null means the project's build timeout. */
  timeout: number | null;
  allowFailure: boolean;
}

export interface CiConfig {
  stages: string[];
  variables: CiVariable[];
  jobs: CiJobSpec[];
}

const DEFAULT_STAGES = ['build', 'test', 'deploy'];
const DEFAULT_JOB_STAGE = 'test';
const MAX_JOBS = 1000;
const MAX_TIMEOUT_SECONDS = 30 * 86400;
const MAX_SCRIPT_NESTING = 10;

const SUPPORTED_JOB_KEYS = new Set(['stage', 'script', 'before_script', 'after_script', 'image', 'services', 'tags', 'variables', 'timeout', 'allow_failure']);
const SUPPORTED_DEFAULT_KEYS = new Set(['image', 'services', 'before_script', 'after_script', 'tags', 'timeout']);
// Keywords GitLab accepts that this server does not implement.
const GITLAB_JOB_KEYS = new Set([
  'rules', 'only', 'except', 'needs', 'dependencies', 'artifacts', 'cache', 'when', 'extends', 'parallel', 'retry',
  'environment', 'coverage', 'interruptible', 'resource_group', 'release', 'secrets', 'trigger', 'inherit', 'hooks',
  'id_tokens', 'start_in', 'manual_confirmation', 'pages', 'publish', 'run', 'identity', 'dast_configuration', 'type',
  'inputs',
]);
const GITLAB_DEFAULT_KEYS = new Set(['artifacts', 'cache', 'hooks', 'id_tokens', 'interruptible', 'retry', 'identity']);
const GLOBAL_KEYS = new Set(['stages', 'types', 'default', 'variables', 'image', 'services', 'before_script', 'after_script']);
const UNSUPPORTED_GLOBAL_KEYS = new Set(['include', 'workflow', 'cache', 'spec']);
const IMAGE_KEYS = new Set(['name', 'entrypoint', 'pull_policy']);
const SERVICE_KEYS = new Set(['name', 'entrypoint', 'pull_policy', 'alias', 'command', 'variables']);
const VARIABLE_HASH_KEYS = new Set(['value', 'description', 'expand', 'options']);

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);
const fail = (message: string): never => {
  throw new CiConfigError(message);
};

function parseYaml(content: string): unknown {
  // GitLab's YAML reader (Psych) lets a repeated key win; keep that.
  const doc = YAML.parseDocument(content, { merge: true, uniqueKeys: false, prettyErrors: false });
  const error = doc.errors[0];
  if (error) fail(`(<unknown>): ${error.message.split('\n')[0]}`);
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    return fail(`(<unknown>): ${(err as Error).message.split('\n')[0]}`);
  }
}

function checkKeys(where: string, hash: Hash, supported: Set<string>, knownElsewhere: Set<string> = new Set()): void {
  const keys = Object.keys(hash);
  const unsupported = keys.filter((k) => !supported.has(k) && knownElsewhere.has(k));
  if (unsupported.length) fail(`${where} config contains keys this server does not support: ${unsupported.join(', ')}`);
  const unknown = keys.filter((k) => !supported.has(k));
  if (unknown.length) fail(`${where} config contains unknown keys: ${unknown.join(', ')}`);
}

function stringList(where: string, value: unknown, message: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(`${where} config ${message}`);
  return value as string[];
}

function script(where: string, value: unknown): string[] {
  if (typeof value === 'string') return [value];
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') return void out.push(v);
    if (Array.isArray(v) && depth < MAX_SCRIPT_NESTING) return v.forEach((item) => walk(item, depth + 1));
    fail(`${where} config should be a string or a nested array of strings up to ${MAX_SCRIPT_NESTING} levels deep`);
  };
  if (!Array.isArray(value)) fail(`${where} config should be a string or a nested array of strings up to ${MAX_SCRIPT_NESTING} levels deep`);
  walk(value, 0);
  return out;
}

function variables(where: string, value: unknown): CiVariable[] {
  if (value === null || value === undefined) return [];
  const message = `${where} config should be a hash of key value pairs, value can be a hash`;
  if (!isHash(value)) fail(message);
  return Object.entries(value as Hash).map(([key, raw]) => {
    if (typeof raw === 'string') return { key, value: raw };
    if (typeof raw === 'number') return { key, value: String(raw) };
    if (isHash(raw)) {
      checkKeys(`${where}:${key}`, raw, VARIABLE_HASH_KEYS);
      const v = raw.value ?? '';
      if (typeof v !== 'string' && typeof v !== 'number') fail(message);
      if (raw.expand !== undefined && typeof raw.expand !== 'boolean') fail(`${where}:${key} config expand should be a boolean value`);
      return raw.expand === false ? { key, value: String(v), raw: true } : { key, value: String(v) };
    }
    return fail(message);
  });
}

function commandList(where: string, value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  return stringList(where, value, 'should be an array of strings');
}

function image(where: string, value: unknown): CiImage | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return { name: value, entrypoint: null, pull_policy: null };
  if (!isHash(value)) return fail(`${where} config should be a hash or a string`);
  checkKeys(where, value, IMAGE_KEYS, new Set(['docker', 'kubernetes']));
  if (typeof value.name !== 'string' || value.name === '') fail(`${where} config should contain a name`);
  return {
    name: value.name as string,
    entrypoint: commandList(`${where}:entrypoint`, value.entrypoint),
    pull_policy: commandList(`${where}:pull_policy`, value.pull_policy),
  };
}

function services(where: string, value: unknown): CiService[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(`${where} config should be a array`);
  return (value as unknown[]).map((item, i) => {
    const at = `${where}:service`;
    if (typeof item === 'string') return { name: item, entrypoint: null, pull_policy: null, alias: null, command: null, variables: [] };
    if (!isHash(item)) return fail(`${at} config should be a hash or a string`);
    checkKeys(at, item, SERVICE_KEYS, new Set(['docker', 'kubernetes']));
    if (typeof item.name !== 'string' || item.name === '') fail(`${at} config should contain a name`);
    if (item.alias !== undefined && typeof item.alias !== 'string') fail(`${at}:alias config should be a string`);
    return {
      name: item.name as string,
      entrypoint: commandList(`${at}:entrypoint`, item.entrypoint),
      pull_policy: commandList(`${at}:pull_policy`, item.pull_policy),
      alias: (item.alias as string | undefined) ?? null,
      command: commandList(`${at}:command`, item.command),
      variables: variables(`${where}:${i}:variables`, item.variables),
    };
  });
}

function timeout(where: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const seconds = parseDuration(value);
  if (seconds === undefined) return fail(`${where} config should be a duration`);
  if (seconds > MAX_TIMEOUT_SECONDS) fail(`${where} config should not exceed the limit`);
  return seconds;
}

interface Defaults {
  image: CiImage | null;
  services: CiService[];
  beforeScript: string[];
  afterScript: string[];
  tags: string[];
  timeout: number | null;
}

function defaults(root: Hash): Defaults {
  const d: Hash = root.default === undefined || root.default === null ? {} : (root.default as Hash);
  if (!isHash(d)) fail('default config should be a hash');
  checkKeys('default', d, SUPPORTED_DEFAULT_KEYS, GITLAB_DEFAULT_KEYS);
  // Top-level image/services/before_script/after_script are GitLab's older
  // spelling of the same defaults; `default:` wins when both are given.
  const pick = (key: string) => (d[key] !== undefined ? d[key] : root[key]);
  return {
    image: image('default:image', pick('image')),
    services: services('default:services', pick('services')),
    beforeScript: pick('before_script') === undefined ? [] : script('default:before_script', pick('before_script')),
    afterScript: pick('after_script') === undefined ? [] : script('default:after_script', pick('after_script')),
    tags: d.tags === undefined ? [] : stringList('default:tags', d.tags, 'should be an array of strings'),
    timeout: timeout('default:timeout', d.timeout),
  };
}

function stages(root: Hash): string[] {
  const raw = root.stages ?? root.types;
  if (raw === undefined || raw === null) return ['.pre', ...DEFAULT_STAGES, '.post'];
  const list = stringList('stages', raw, 'should be an array of strings');
  const named = [...new Set(list.filter((s) => s !== '.pre' && s !== '.post'))];
  return ['.pre', ...named, '.post'];
}

function job(name: string, body: unknown, stageList: string[], d: Defaults): CiJobSpec {
  const where = `jobs:${name}`;
  if (!isHash(body)) return fail(`${where} config should be a hash`);
  checkKeys(where, body, SUPPORTED_JOB_KEYS, GITLAB_JOB_KEYS);
  if (body.script === undefined || body.script === null) fail(`${where} config should implement the script:, run:, or trigger: keyword`);
  const scriptLines = script(`${where}:script`, body.script);
  if (scriptLines.length === 0) fail(`${where}:script config can't be blank`);
  const stage = body.stage ?? DEFAULT_JOB_STAGE;
  if (typeof stage !== 'string') return fail(`${where}:stage config should be a string`);
  const stageIdx = stageList.indexOf(stage);
  if (stageIdx < 0) fail(`${name} job: chosen stage ${stage} does not exist; available stages are ${stageList.join(', ')}`);
  if (body.allow_failure !== undefined && typeof body.allow_failure !== 'boolean') {
    fail(isHash(body.allow_failure) ? `${where}:allow_failure config contains keys this server does not support: exit_codes` : `${where}:allow_failure config should be a hash or a boolean value`);
  }
  return {
    name,
    stage,
    stageIdx,
    script: scriptLines,
    beforeScript: body.before_script === undefined ? d.beforeScript : script(`${where}:before_script`, body.before_script),
    afterScript: body.after_script === undefined ? d.afterScript : script(`${where}:after_script`, body.after_script),
    image: body.image === undefined ? d.image : image(`${where}:image`, body.image),
    services: body.services === undefined ? d.services : services(`${where}:services`, body.services),
    tags: body.tags === undefined ? d.tags : stringList(`${where}:tags`, body.tags, 'should be an array of strings'),
    variables: variables(`${where}:variables`, body.variables),
    timeout: body.timeout === undefined ? d.timeout : timeout(`${where}:timeout`, body.timeout),
    allowFailure: body.allow_failure === true,
  };
}

/** Parses and validates .gitlab-ci.yml text; throws CiConfigError naming the first problem. */
export function parseCiConfig(content: string): CiConfig {
  if (content.trim() === '') fail('Please provide content of .gitlab-ci.yml');
  const root = parseYaml(content);
  if (!isHash(root)) return fail('Invalid configuration format');
  const unsupported = Object.keys(root).filter((k) => UNSUPPORTED_GLOBAL_KEYS.has(k));
  if (unsupported.length) fail(`root config contains keys this server does not support: ${unsupported.join(', ')}`);

  const stageList = stages(root);
  const d = defaults(root);
  const globalVariables = variables('variables', root.variables);
  const jobs = Object.entries(root)
    .filter(([name]) => !GLOBAL_KEYS.has(name) && !name.startsWith('.'))
    .map(([name, body]) => {
      if (name.length > 255) fail(`jobs:${name.slice(0, 40)}… name is too long (maximum is 255 characters)`);
      return job(name, body, stageList, d);
    });
  if (jobs.length === 0) fail('jobs config should contain at least one visible job');
  if (jobs.length > MAX_JOBS) fail(`The number of jobs in the pipeline exceeds the limit of ${MAX_JOBS}`);
  // Stable sort: stage order first, then the order jobs were written in.
  jobs.sort((a, b) => a.stageIdx - b.stageIdx);
  return { stages: stageList, variables: globalVariables, jobs };
}
