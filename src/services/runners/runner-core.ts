import type { AppContext } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { newRunnerToken, type RunnerTypeName } from '../../lib/tokens.js';
import { getSettings } from '../settings/settings-service.js';
import { MAX_TAGS } from '../../domain/runner.js';

// The runner facts in domain/runner.ts, re-exported for the services that already import them from here.
export {
  RUNNER_TYPE_IDS,
  RUNNER_TYPE_NAMES,
  ACCESS_LEVEL_IDS,
  ACCESS_LEVEL_NAMES,
  REGISTRATION_TYPE,
  CREATION_STATE,
  ONLINE_CONTACT_TIMEOUT_MS,
  STALE_TIMEOUT_MS,
  MAX_TAGS,
  isStale,
  isOnline,
  runnerStatus,
  managerStatus,
  EXECUTING_JOB_STATUSES,
  type RunnerStatus,
  type ManagerStatus,
} from '../../domain/runner.js';

// What both the management API and the runner-token endpoints need to know
// about a runner: type codes, token issue and expiry, model validations.

export interface IssuedToken {
  token: string;
  digest: string;
}

export function issueRunnerToken(ctx: AppContext, type: RunnerTypeName, createdByUser: boolean): IssuedToken {
  const token = newRunnerToken(type, createdByUser);
  return { token, digest: ctx.secrets.digest(token) };
}

const minDefined = (...values: (number | null | undefined)[]) => {
  const defined = values.filter((v): v is number => typeof v === 'number' && v > 0);
  return defined.length ? Math.min(...defined) : undefined;
};

/**
 * compute_token_expiration (GitLab's app/models/ci/runner.rb): the instance interval for
 * instance runners; for group and project runners the smallest effective
 * interval over the runner's groups or projects, where the effective value is
 * min(instance setting for that type, ancestors' settings, own setting).
 */
export async function computeTokenExpiry(
  ctx: AppContext,
  type: RunnerTypeName,
  scope: { groupIds?: number[]; projectIds?: number[] },
  now = new Date(),
): Promise<Date | null> {
  const settings = await getSettings(ctx);
  let seconds: number | undefined;
  if (type === 'instance_type') {
    seconds = minDefined(settings.runner_token_expiration_interval);
  } else if (type === 'group_type') {
    const groups = await ctx.prisma.namespace.findMany({ where: { id: { in: scope.groupIds ?? [] } } });
    const perGroup = await Promise.all(
      groups.map(async (g) => {
        const ancestors = await ctx.prisma.namespace.findMany({ where: { id: { in: g.traversal_ids.filter((id) => id !== g.id) } } });
        return minDefined(
          settings.group_runner_token_expiration_interval,
          ...ancestors.map((a) => a.subgroup_runner_token_expiration_interval),
          g.runner_token_expiration_interval,
        );
      }),
    );
    seconds = minDefined(...perGroup);
  } else {
    const projects = await ctx.prisma.project.findMany({ where: { id: { in: scope.projectIds ?? [] } }, include: { namespace: true } });
    const perProject = await Promise.all(
      projects.map(async (p) => {
        const ancestors = p.namespace.kind === 'group' ? await ctx.prisma.namespace.findMany({ where: { id: { in: p.namespace.traversal_ids } } }) : [];
        return minDefined(
          settings.project_runner_token_expiration_interval,
          ...ancestors.map((a) => a.project_runner_token_expiration_interval),
          p.runner_token_expiration_interval,
        );
      }),
    );
    seconds = minDefined(...perProject);
  }
  return seconds === undefined ? null : new Date(now.getTime() + seconds * 1000);
}

export interface RunnerAttributes {
  description?: string | null;
  name?: string | null;
  maintenance_note?: string | null;
  maximum_timeout?: number | null;
  run_untagged?: boolean;
  tag_list?: string[];
}

/**
 * Ci::Runner validations (GitLab's app/models/ci/runner.rb), returned in GitLab's
 * errors.messages shape ({} when valid). `changed` limits the checks that
 * GitLab runs only when an attribute changed.
 */
export function validateRunner(attrs: Required<Pick<RunnerAttributes, 'run_untagged' | 'tag_list'>> & RunnerAttributes, changed: { tags: boolean; description: boolean }): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  const add = (key: string, msg: string) => (errors[key] ??= []).push(msg);
  if (changed.description && attrs.description && attrs.description.length > 1024) add('description', 'is too long (maximum is 1024 characters)');
  if (attrs.name && attrs.name.length > 256) add('name', 'is too long (maximum is 256 characters)');
  if (attrs.maintenance_note && attrs.maintenance_note.length > 1024) add('maintenance_note', 'is too long (maximum is 1024 characters)');
  if (attrs.maximum_timeout !== undefined && attrs.maximum_timeout !== null && attrs.maximum_timeout < 600) add('maximum_timeout', 'needs to be at least 10 minutes');
  if (attrs.tag_list.length === 0 && !attrs.run_untagged) add('tags_list', 'can not be empty when runner is not allowed to pick untagged jobs');
  if (changed.tags && attrs.tag_list.length > MAX_TAGS) add('tags_list', `Too many tags specified. Please limit the number of tags to ${MAX_TAGS}`);
  if (changed.tags && attrs.tag_list.some((t) => t.length > 255)) add('tags_list', 'tag name is too long (maximum is 255 characters)');
  return errors;
}

/** GitLab stores tags as unique names; keep the first occurrence's order. */
export const normalizeTags = (tags: string[]) => [...new Set(tags.filter((t) => t !== ''))];

/** "Tags list can not be empty …" — errors.full_messages joined by to_sentence. */
export function fullMessagesSentence(errors: Record<string, string[]>): string {
  const humanize = (attr: string) => {
    const s = attr.replace(/[._]/g, ' ');
    return attr === 'base' ? '' : s.charAt(0).toUpperCase() + s.slice(1) + ' ';
  };
  const msgs = Object.entries(errors).flatMap(([attr, list]) => list.map((m) => `${humanize(attr)}${m}`));
  if (msgs.length <= 1) return msgs.join('');
  return `${msgs.slice(0, -1).join(', ')} and ${msgs[msgs.length - 1]}`;
}

export type RunnerCreateData = Prisma.RunnerUncheckedCreateInput;
