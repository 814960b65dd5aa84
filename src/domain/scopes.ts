// The personal access token scopes this server knows (GitLab's
// Gitlab::Auth scopes for the API, runners and sudo). A domain fact shared
// by the auth hook, the token service, input schemas and the first-boot
// seed, so that none of them imports another for it.

export type Scope = 'api' | 'read_api' | 'read_user' | 'manage_runner' | 'create_runner' | 'sudo';
export const ALL_SCOPES: Scope[] = ['api', 'read_api', 'read_user', 'manage_runner', 'create_runner', 'sudo'];
