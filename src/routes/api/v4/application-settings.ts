import type { FastifyInstance } from 'fastify';
import { requireActor } from '../../../plugins/auth.js';
import { presentApplicationSettings } from '../../../presenters/application-settings.js';
import { parseInput } from '../../../schemas/common.js';
import { updateApplicationSettingsBody } from '../../../schemas/application-settings.js';
import { authorizeSettings, readSettingsFor, updateSettings } from '../../../services/settings/settings-service.js';

// GET/PUT /application/settings (admins): the runner settings of docs.gitlab.com/api/settings.

export default async function applicationSettingsRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/application/settings', async (request) => {
    const { settings, runnersRegistrationToken } = await readSettingsFor(ctx, requireActor(request).user);
    return presentApplicationSettings(settings, runnersRegistrationToken);
  });

  app.put('/application/settings', async (request) => {
    const actor = requireActor(request).user;
    authorizeSettings(actor);
    const input = parseInput(updateApplicationSettingsBody, request.body);
    const { settings, runnersRegistrationToken } = await updateSettings(ctx, actor, input);
    return presentApplicationSettings(settings, runnersRegistrationToken);
  });
}
