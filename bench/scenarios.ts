import type { RequestFactory, RequestSpec } from './load.js';
import type { PollingRunner } from './seed.js';

// The issue-5 scenarios as request factories. Each factory is called once per
// request (autocannon's setupRequest), so consecutive requests use different
// tokens, runner ids or pages — no scenario hammers one cached row.

export type Target = 'server' | 'ref1' | 'ref2' | 'floor';

export interface ScenarioData {
  rootToken: string;
  runnerCount: number;
  pollingRunners: PollingRunner[];
  hotProjectId: number;
  registrationTokens: { projectId: number; token: string }[];
}

export interface Scenario {
  /** Stable identifier, used by BENCH_ONLY and in results.json. */
  key: string;
  /** Number shown in the table: the issue's scenario number, or "ref1"/"ref2". */
  id: string;
  title: string;
  target: Target;
  /** An example of the request, for the report. */
  example: string;
  next: RequestFactory;
  /**
   * Requests the warm-up makes at least. The poll's runner cache knows a
   * runner from its first poll on, and a fleet polls every few seconds, so
   * its steady state starts after one round over all the polling tokens.
   */
  warmupRequests?: number;
  /** Concurrent connections, when not the run's default. */
  connections?: number;
}

// The runner's own request (GitLab's lib/api/ci/runner.rb): shell executor, linux/amd64.
const RUNNER_INFO = {
  name: 'gitlab-runner',
  version: '17.5.1',
  revision: 'd79f3e7b',
  platform: 'linux',
  architecture: 'amd64',
  executor: 'shell',
  shell: 'bash',
  features: {
    variables: true, image: false, services: false, artifacts: true, cache: true, fallback_cache_keys: true, shared: true,
    upload_multiple_artifacts: true, upload_raw_artifacts: true, session: true, terminal: true, refspecs: true, masking: true,
    proxy: false, raw_variables: true, artifacts_exclude: true, multi_build_steps: true, trace_reset: true, trace_checksum: true,
    trace_size: true, vault_secrets: true, cancelable: true, return_exit_code: true, service_variables: false,
    service_multiple_aliases: false, image_executor_opts: false, service_executor_opts: false, cancel_gracefully: true,
    native_steps_integration: true, two_phase_job_commit: true, job_inputs: true,
  },
  config: { gpus: '' },
};
const RUNNER_USER_AGENT = 'gitlab-runner 17.5.1 (HEAD; go1.24.0; linux/amd64)';

/** `register` sends an info without executor/shell and only the network client's features. */
const REGISTER_INFO = {
  name: 'gitlab-runner',
  version: '17.5.1',
  revision: 'd79f3e7b',
  platform: 'linux',
  architecture: 'amd64',
  features: Object.fromEntries(
    Object.keys(RUNNER_INFO.features).map((k) => [
      k,
      ['trace_reset', 'trace_checksum', 'trace_size', 'cancelable', 'cancel_gracefully', 'two_phase_job_commit', 'job_inputs'].includes(k),
    ]),
  ),
  config: { gpus: '' },
};

const requestId = (n: number) => n.toString(16).padStart(32, '0');

/** A runner's POST /jobs/request, as gitlab-runner sends it. */
export function pollRequest(runner: { token: string; systemId: string }, n: number): RequestSpec {
  return {
    method: 'POST',
    path: '/api/v4/jobs/request',
    headers: {
      'User-Agent': RUNNER_USER_AGENT,
      'RUNNER-TOKEN': runner.token,
      'X-Request-Id': requestId(n),
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ info: RUNNER_INFO, token: runner.token, system_id: runner.systemId }),
  };
}

/** A deterministic walk over 1..n that visits ids in scattered order. */
function scatteredIds(n: number): () => number {
  let i = 0;
  const step = 7919; // prime: the walk covers every id before repeating unless n is a multiple of it
  return () => ((i++ * step) % n) + 1;
}

function counter(): () => number {
  let i = 0;
  return () => i++;
}

const LIST_TAG_SETS = ['docker', 'linux', 'docker,linux', 'amd64', 'kubernetes', 'docker,amd64', 'linux,build', 'aws'];

export interface ListScenarioParams {
  runnerCount: number;
  rootToken: string;
}

const userHeaders = (token: string) => ({ 'PRIVATE-TOKEN': token, Accept: 'application/json' });

/** Scenarios 3–5, which are measured on both dataset sizes. */
export function listScenarios(p: ListScenarioParams): Scenario[] {
  const headers = userHeaders(p.rootToken);
  const lastPage = Math.max(1, Math.ceil(p.runnerCount / 100));
  const middle = Math.max(1, Math.round(lastPage / 2));
  const pageTick = counter();
  const tagTick = counter();
  const versionTick = counter();
  return [
    {
      key: 'list-page',
      id: '3',
      title: 'GET /runners/all page=middle',
      target: 'server',
      example: `GET /api/v4/runners/all?per_page=100&page=${middle}`,
      next: (): RequestSpec => {
        // middle-5 … middle+5, kept inside the existing pages
        const page = Math.min(lastPage, Math.max(1, middle - 5 + (pageTick() % 11)));
        return { method: 'GET', path: `/api/v4/runners/all?per_page=100&page=${page}`, headers };
      },
    },
    {
      key: 'list-tags',
      id: '4',
      title: 'GET /runners/all tag_list+online',
      target: 'server',
      example: 'GET /api/v4/runners/all?tag_list=docker,linux&status=online&per_page=100',
      next: (): RequestSpec => {
        const tags = LIST_TAG_SETS[tagTick() % LIST_TAG_SETS.length]!;
        return { method: 'GET', path: `/api/v4/runners/all?tag_list=${encodeURIComponent(tags)}&status=online&per_page=100`, headers };
      },
    },
    {
      key: 'list-version',
      id: '5',
      title: 'GET /runners/all version_prefix',
      target: 'server',
      example: 'GET /api/v4/runners/all?version_prefix=16.1',
      next: (): RequestSpec => {
        const page = 1 + (versionTick() % 3);
        return { method: 'GET', path: `/api/v4/runners/all?version_prefix=16.1${page > 1 ? `&page=${page}` : ''}`, headers };
      },
    },
  ];
}

export function referenceScenarios(runnerCount: number): Scenario[] {
  const ids = scatteredIds(runnerCount);
  return [
    {
      key: 'ref1',
      id: 'ref1',
      title: 'ref 1: bare Fastify JSON',
      target: 'ref1',
      example: 'GET /ref/json',
      next: () => ({ method: 'GET', path: '/ref/json', headers: { Accept: 'application/json' } }),
    },
    {
      key: 'ref2',
      id: 'ref2',
      title: 'ref 2: Fastify + pg PK lookup',
      target: 'ref2',
      example: 'GET /ref/runners/:id',
      next: () => ({ method: 'GET', path: `/ref/runners/${ids()}`, headers: { Accept: 'application/json' } }),
    },
  ];
}

/**
 * The list floors (served by the ref 2 process): a bare route reading a page
 * of 100 or 20 runners, the sizes of scenarios 3–4 and 5–6. They carry no
 * target; they show how far below ref 2 a page of that size is by itself.
 */
export function floorScenarios(runnerCount: number): Scenario[] {
  return [100, 20].map((perPage): Scenario => {
    const tick = counter();
    const pages = Math.max(1, Math.floor(runnerCount / perPage) - 1);
    return {
      key: `floor-${perPage}`,
      id: 'floor',
      title: `floor: Fastify + pg, ${perPage}-row page`,
      target: 'floor',
      example: `GET /ref/runners?from=<id>&per_page=${perPage}`,
      next: () => ({ method: 'GET', path: `/ref/runners?from=${1 + ((tick() * 7919) % pages) * perPage}&per_page=${perPage}`, headers: { Accept: 'application/json' } }),
    };
  });
}

/** Every big-dataset scenario, in the order they run (registrations last: they add runners). */
export function mainScenarios(d: ScenarioData): Scenario[] {
  const headers = userHeaders(d.rootToken);
  const pollTick = counter();
  const runnerIds = scatteredIds(d.runnerCount);
  const projectPageTick = counter();
  const registerTick = counter();
  const [page, tags, version] = listScenarios({ runnerCount: d.runnerCount, rootToken: d.rootToken });
  return [
    {
      key: 'poll',
      id: '1',
      title: 'POST /jobs/request (no job)',
      target: 'server',
      example: `POST /api/v4/jobs/request {"info":…,"token":…,"system_id":…} over ${d.pollingRunners.length} runners`,
      warmupRequests: d.pollingRunners.length,
      next: (): RequestSpec => {
        const n = pollTick();
        return pollRequest(d.pollingRunners[n % d.pollingRunners.length]!, n);
      },
    },
    {
      key: 'poll-500',
      id: '1b',
      title: 'POST /jobs/request, 500 connections',
      target: 'server',
      connections: 500,
      example: `POST /api/v4/jobs/request over ${d.pollingRunners.length} runners, 500 connections at once`,
      warmupRequests: d.pollingRunners.length,
      next: (): RequestSpec => {
        const n = pollTick();
        return pollRequest(d.pollingRunners[n % d.pollingRunners.length]!, n);
      },
    },
    {
      key: 'runner',
      id: '2',
      title: 'GET /runners/:id',
      target: 'server',
      example: 'GET /api/v4/runners/:id (PAT)',
      next: () => ({ method: 'GET', path: `/api/v4/runners/${runnerIds()}`, headers }),
    },
    page!,
    tags!,
    version!,
    {
      key: 'project-runners',
      id: '6',
      title: 'GET /projects/:id/runners',
      target: 'server',
      example: `GET /api/v4/projects/${d.hotProjectId}/runners`,
      next: () => {
        const p = 1 + (projectPageTick() % 5);
        return { method: 'GET', path: `/api/v4/projects/${d.hotProjectId}/runners${p > 1 ? `?page=${p}` : ''}`, headers };
      },
    },
    {
      key: 'register',
      id: '7',
      title: 'POST /runners (registration)',
      target: 'server',
      example: 'POST /api/v4/runners {"token":"GR1348941…",…}',
      next: (): RequestSpec => {
        const n = registerTick();
        const { token } = d.registrationTokens[n % d.registrationTokens.length]!;
        return {
          method: 'POST',
          path: '/api/v4/runners',
          headers: {
            'User-Agent': RUNNER_USER_AGENT,
            'RUNNER-TOKEN': token,
            'X-Request-Id': requestId(n),
            Accept: 'application/json',
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({
            description: `bench-registered-${n}`,
            tag_list: LIST_TAG_SETS[n % LIST_TAG_SETS.length],
            run_untagged: false,
            locked: true,
            paused: false,
            info: REGISTER_INFO,
            token,
          }),
        };
      },
    },
  ];
}
