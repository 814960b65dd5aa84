import type { FastifyInstance } from 'fastify';
import healthRoutes from './health.js';
import dashboardRoutes from './admin/dashboard.js';
import docsRoutes from './docs.js';
import versionRoutes from './api/v4/version.js';
import runnerRegistrationRoutes from './api/v4/runner-registration.js';
import runnerRoutes from './api/v4/runners.js';
import projectRunnerRoutes from './api/v4/project-runners.js';
import groupRunnerRoutes from './api/v4/group-runners.js';
import userRunnerRoutes from './api/v4/user-runners.js';
import registrationTokenRoutes from './api/v4/registration-tokens.js';
import jobRoutes from './api/v4/jobs.js';
import pipelineRoutes from './api/v4/pipelines.js';
import protectedBranchRoutes from './api/v4/protected-branches.js';
import projectJobRoutes from './api/v4/project-jobs.js';
import jobCancelRoutes from './api/v4/job-cancel.js';
import currentUserRoutes from './api/v4/user.js';
import usersRoutes from './api/v4/users.js';
import groupsRoutes from './api/v4/groups.js';
import projectsRoutes from './api/v4/projects.js';
import membersRoutes from './api/v4/members.js';
import applicationSettingsRoutes from './api/v4/application-settings.js';
import auditEventRoutes from './api/v4/audit-events.js';
import runnerCleanupRoutes from './api/v4/runner-cleanup.js';

// Every route plugin, one line each. API plugins are mounted under /api/v4.
const apiV4 = [versionRoutes, runnerRegistrationRoutes, runnerRoutes, projectRunnerRoutes, groupRunnerRoutes, userRunnerRoutes, registrationTokenRoutes, jobRoutes, pipelineRoutes, protectedBranchRoutes, projectJobRoutes, jobCancelRoutes, currentUserRoutes, usersRoutes, groupsRoutes, projectsRoutes, membersRoutes, applicationSettingsRoutes, auditEventRoutes, runnerCleanupRoutes];

export async function registerRoutes(app: FastifyInstance): Promise<void> {
  await app.register(healthRoutes);
  await app.register(dashboardRoutes);
  await app.register(docsRoutes);
  for (const plugin of apiV4) await app.register(plugin, { prefix: '/api/v4' });
}
