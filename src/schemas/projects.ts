import { z } from 'zod';
import { atLeastOneOf, glBoolean, glInteger, glNamespacedId, glString, parseInput, validateInOrder } from './common.js';
import { glVisibility } from './groups.js';

// Parameters of lib/api/projects.rb (POST /projects, GET and PUT /projects/:id)
// for the subset this server offers.

export const projectIdParams = z.object({ id: glNamespacedId() });

const createNameOrPath = z.object({ name: glString().optional(), path: glString().optional() });
const createRest = z.object({
  description: glString().optional(),
  visibility: glVisibility().optional(),
  shared_runners_enabled: glBoolean().optional(),
  group_runners_enabled: glBoolean().optional(),
  default_branch: glString().optional(),
  namespace_id: glInteger().optional(),
});
export type CreateProjectInput = z.output<typeof createNameOrPath> & z.output<typeof createRest>;

/** POST /projects: `optional :name, :path` + `at_least_one_of :name, :path`, then the create params. */
export function parseCreateProject(body: unknown): CreateProjectInput {
  const input = (body ?? {}) as Record<string, unknown>;
  let names!: z.output<typeof createNameOrPath>;
  let rest!: z.output<typeof createRest>;
  validateInOrder(
    () => (names = parseInput(createNameOrPath, input)),
    () => atLeastOneOf(input, ['name', 'path']),
    () => (rest = parseInput(createRest, input)),
  );
  return { ...names, ...rest };
}

const updateFields = z.object({
  default_branch: glString().optional(),
  description: glString().optional(),
  group_runners_enabled: glBoolean().optional(),
  name: glString().optional(),
  shared_runners_enabled: glBoolean().optional(),
  visibility: glVisibility().optional(),
});
export type UpdateProjectInput = z.output<typeof updateFields>;

/** PUT /projects/:id: typed params, then `at_least_one_of` the updatable attributes. */
export function parseUpdateProject(body: unknown): UpdateProjectInput {
  const input = (body ?? {}) as Record<string, unknown>;
  let parsed!: UpdateProjectInput;
  validateInOrder(
    () => (parsed = parseInput(updateFields, input)),
    () => atLeastOneOf(input, Object.keys(updateFields.shape)),
  );
  return parsed;
}
