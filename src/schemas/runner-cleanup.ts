import { z } from 'zod';
import { declareParams } from '../lib/route-contract/index.js';
import { glBoolean, glDateTime, glEnum, glInteger, glNamespacedId, glString, glStringArray } from './common.js';
import { RUNNER_STATUSES, RUNNER_TYPES } from './runners.js';

// POST /runners/cleanup and /groups/:id/runners/cleanup (extension,
// docs/fleet-management.md): the filters of GET /runners/all plus
// contacted_before, a limit and dry_run (on unless turned off).

export const CLEANUP_FILTER_KEYS = ['type', 'status', 'paused', 'tag_list', 'version_prefix', 'contacted_before'] as const;
export const CLEANUP_DEFAULT_LIMIT = 1_000;

const cleanupShape = {
  type: glEnum(RUNNER_TYPES).optional(),
  status: glEnum(RUNNER_STATUSES).optional(),
  paused: glBoolean().optional(),
  tag_list: glStringArray()
    .transform((tags) => tags.filter((t) => t !== ''))
    .optional(),
  version_prefix: glString()
    .refine((s) => /^[\d+.]+/m.test(s), { error: 'is invalid' })
    .optional(),
  contacted_before: glDateTime().optional(),
  limit: glInteger({ min: 1 }).optional().default(CLEANUP_DEFAULT_LIMIT),
  dry_run: glBoolean().optional().default(true),
};

export const runnerCleanupParams = declareParams(cleanupShape);
/** The same parameters for the admin CLI (src/cli), which has no route. */
export const runnerCleanupBody = z.object(cleanupShape);
export const groupRunnerCleanupPath = { id: glNamespacedId() };
export type RunnerCleanupInput = z.output<z.ZodObject<typeof cleanupShape>>;
