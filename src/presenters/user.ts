import type { User } from '../generated/prisma/client.js';

// GitLab's user entities, keys in GitLab's order. Each one extends the one
// before it: UserBasic < User < UserPublic < UserWithAdmin < UserDetailsWithAdmin
// (lib/api/entities/user_*.rb). Profile fields this server does not keep
// carry GitLab's defaults for a fresh account.

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Entities::UserBasic: list items, member entries, runner `created_by`. */
export function presentUserBasic(user: Pick<User, 'id' | 'username' | 'name' | 'state'>, base: string) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: user.state,
    locked: false,
    avatar_url: null,
    web_url: `${base}/${user.username}`,
  };
}

/** Entities::User: GET /users/:id for non-admins. */
export function presentUser(user: User, base: string) {
  return {
    ...presentUserBasic(user, base),
    created_at: iso(user.created_at),
    bio: '',
    location: '',
    public_email: null,
    skype: '',
    linkedin: '',
    twitter: '',
    discord: '',
    website_url: '',
    organization: '',
    job_title: '',
    pronouns: null,
    bot: false,
    work_information: null,
    followers: 0,
    following: 0,
    is_followed: false,
    local_time: null,
  };
}

/** Entities::UserPublic: GET /user for non-admins. */
export function presentUserPublic(user: User, base: string) {
  return {
    ...presentUser(user, base),
    last_sign_in_at: null,
    // No e-mail confirmation exists here: every account counts as confirmed at creation.
    confirmed_at: iso(user.created_at),
    last_activity_on: null,
    email: user.email,
    theme_id: 3,
    color_scheme_id: 1,
    projects_limit: 100000,
    current_sign_in_at: null,
    identities: [],
    can_create_group: true,
    can_create_project: true,
    two_factor_enabled: false,
    external: false,
    private_profile: false,
    commit_email: user.email,
  };
}

/** Entities::UserWithAdmin: GET /user for admins, GET /users for admins, POST /users. */
export function presentUserWithAdmin(user: User, base: string, namespaceId: number | null) {
  return {
    ...presentUserPublic(user, base),
    is_admin: user.admin,
    note: null,
    namespace_id: namespaceId,
    created_by: null,
  };
}

/** Entities::UserDetailsWithAdmin: GET /users/:id for admins. */
export function presentUserDetailsWithAdmin(user: User, base: string, namespaceId: number | null, highestRole: number) {
  return {
    ...presentUserWithAdmin(user, base, namespaceId),
    highest_role: highestRole,
    current_sign_in_ip: null,
    last_sign_in_ip: null,
    sign_in_count: 0,
  };
}
