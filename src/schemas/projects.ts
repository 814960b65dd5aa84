import { z } from 'zod';
import { glBoolean, glInteger, glNamespacedId, glString } from './common.js';
import { atLeastOneOf, declareParams } from '../lib/route-contract/index.js';
import { glVisibility } from './groups.js';

// Parameters of lib/api/projects.rb (POST /projects, GET and PUT /projects/:id)
// for the subset this server offers.

export const projectIdPath = { id: glNamespacedId() };

const createRest = {
  description: glString().optional(),
  visibility: glVisibility().optional(),
  shared_runners_enabled: glBoolean().optional(),
  group_runners_enabled: glBoolean().optional(),
  default_branch: glString().optional(),
  namespace_id: glInteger().optional(),
};
/** POST /projects: `optional :name, :path` + `at_least_one_of :name, :path`, then the create params. */
export const createProjectParams = declareParams({ name: glString().optional(), path: glString().optional() }, atLeastOneOf('name', 'path'), createRest);
export type CreateProjectInput = { name?: string; path?: string } & z.output<z.ZodObject<typeof createRest>>;

const updateFields = {
  default_branch: glString().optional(),
  description: glString().optional(),
  group_runners_enabled: glBoolean().optional(),
  name: glString().optional(),
  shared_runners_enabled: glBoolean().optional(),
  visibility: glVisibility().optional(),
};
export type UpdateProjectInput = z.output<z.ZodObject<typeof updateFields>>;
/** PUT /projects/:id: typed params, then `at_least_one_of` the updatable attributes. */
export const updateProjectParams = declareParams(updateFields, atLeastOneOf(...Object.keys(updateFields)));
