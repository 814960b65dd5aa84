import { z } from 'zod';
import { declareParams } from '../lib/route-contract/index.js';
import { glHash, glInteger, glNamespacedId, glString, paginationParams } from './common.js';
import { authenticateRunnerShape } from './runner-registration.js';

// Params of the runner-facing job endpoints (lib/api/ci/runner.rb) and of
// the project job reads (lib/api/ci/jobs.rb).

const absentIfNull = (v: unknown) => (v === null ? undefined : v);
const opt = <S extends z.ZodType>(schema: S) => z.preprocess(absentIfNull, schema.optional());

/** POST /jobs/request: authenticate_runner! params plus the queue value. `session` and `job_age` are type-checked and unused. */
const jobRequestShape = {
  ...authenticateRunnerShape,
  last_update: opt(glString({ max: 255 })),
  session: opt(glHash()),
  job_age: opt(glInteger()),
};
export const jobRequestParams = declareParams(jobRequestShape);
export type JobRequestBody = z.output<z.ZodObject<typeof jobRequestShape>>;

export const jobIdPath = { id: glInteger() };


/** PUT /jobs/:id. The job token may also come in the JOB-TOKEN header. */
const jobUpdateShape = {
  token: opt(glString()),
  // lib/api/ci/runner.rb declares both as plain Strings (no `values:`): an
  // unknown state is answered by the update service (400, body "400"), an
  // unknown reason is stored as unknown_failure.
  state: opt(glString()),
  checksum: opt(glString()),
  failure_reason: opt(glString()),
  output: opt(
    z.object({
      checksum: opt(glString()),
      bytesize: opt(glInteger()),
    }),
  ),
  exit_code: opt(glInteger()),
};
export const jobUpdateParams = declareParams(jobUpdateShape);
export type JobUpdateBody = z.output<z.ZodObject<typeof jobUpdateShape>>;

/** PATCH /jobs/:id/trace query (the body is the raw log chunk). */
export const traceParams = declareParams({
  token: opt(glString()),
  debug_trace: opt(glString()),
});

/** ::CommitStatus::AVAILABLE_STATUSES. */
export const JOB_STATUSES = [
  'created', 'waiting_for_resource', 'preparing', 'waiting_for_callback', 'pending', 'running', 'success', 'failed',
  'canceling', 'canceled', 'skipped', 'manual', 'scheduled',
] as const;

/** `scope`: one status or several (`scope[]=a&scope[]=b`); Grape answers "scope does not have a valid value" otherwise. */
const jobScope = () =>
  z.preprocess(
    (raw) => (raw === undefined ? undefined : typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : raw !== null && typeof raw === 'object' ? Object.values(raw) : ['unknown']),
    z
      .array(z.unknown())
      .refine((list) => list.every((s) => (JOB_STATUSES as readonly unknown[]).includes(s)), { error: 'does not have a valid value' })
      .transform((list) => list as (typeof JOB_STATUSES)[number][])
      .optional(),
  );

export const projectJobsParams = declareParams({ scope: jobScope(), ...paginationParams });

export const projectJobPath = { id: glNamespacedId(), job_id: glInteger() };

export const pipelineJobsPath = { id: glNamespacedId(), pipeline_id: glInteger() };
export const pipelineJobsParams = declareParams({ scope: jobScope(), ...paginationParams });
