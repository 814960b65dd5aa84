import type { AppContext } from '../../context.js';
import type { ApplicationSetting } from '../../generated/prisma/client.js';

/** The single application_settings row (created at bootstrap). */
export async function getSettings(ctx: AppContext): Promise<ApplicationSetting> {
  const row = await ctx.prisma.applicationSetting.findUnique({ where: { id: 1 } });
  if (row) return row;
  return ctx.prisma.applicationSetting.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
}
