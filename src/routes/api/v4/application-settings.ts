import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../../../lib/route-contract/index.js';
import { requireActor } from '../../../plugins/auth.js';
import { presentApplicationSettings } from '../../../presenters/application-settings.js';
import { updateApplicationSettingsParams } from '../../../schemas/application-settings.js';
import * as res from '../../../schemas/responses.js';
import { authorizeSettings, readSettingsFor, updateSettings } from '../../../services/settings/settings-service.js';

// GET/PUT /application/settings (admins): the runner settings of docs.gitlab.com/api/settings.

const tags = ['settings'];
const responses = { 200: { description: 'The runner settings', schema: res.applicationSettings } };

export default async function applicationSettingsRoutes(app: FastifyInstance) {
  const { ctx } = app;

  defineRoute(app, { method: 'GET', path: '/application/settings', summary: 'Runner settings of the instance', tags, auth: 'user', responses }, async (_input, request) => {
    const { settings, runnersRegistrationToken } = await readSettingsFor(ctx, requireActor(request).user);
    return presentApplicationSettings(settings, runnersRegistrationToken);
  });

  defineRoute(
    app,
    {
      method: 'PUT', path: '/application/settings', summary: 'Change runner settings of the instance', tags, auth: 'user',
      params: updateApplicationSettingsParams,
      // GitLab checks admin in a `before` block, ahead of parameter validation.
      before: async (request) => authorizeSettings(requireActor(request).user),
      responses,
    },
    async (input, request) => {
      const { settings, runnersRegistrationToken } = await updateSettings(ctx, requireActor(request).user, input);
      return presentApplicationSettings(settings, runnersRegistrationToken);
    },
  );
}
