import type { ProtectedBranch } from '../generated/prisma/client.js';

// Entities::ProtectedBranch. Access levels are not modelled by this server:
// every protected branch allows Maintainers to push and merge, which is what
// GitLab creates when none are given.

const MAINTAINERS = 40;

function accessLevel(branch: ProtectedBranch) {
  return {
    id: branch.id,
    access_level: MAINTAINERS,
    access_level_description: 'Maintainers',
    deploy_key_id: null,
    user_id: null,
    group_id: null,
  };
}

export function presentProtectedBranch(branch: ProtectedBranch) {
  return {
    id: branch.id,
    name: branch.name,
    push_access_levels: [accessLevel(branch)],
    merge_access_levels: [accessLevel(branch)],
    allow_force_push: false,
    code_owner_approval_required: false,
  };
}
