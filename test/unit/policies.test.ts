import { describe, expect, it } from 'vitest';
import { AccessLevel, type PolicyActor } from '../../src/policies/access-levels.js';
import { instanceAbilities } from '../../src/policies/instance-policy.js';
import { groupAbilities, projectAbilities, type GroupFacts, type ProjectFacts } from '../../src/policies/namespace-policy.js';
import { canUnassignRunner, runnerAbilities, type RunnerAbility, type RunnerFacts, type RunnerProjectFacts } from '../../src/policies/runner-policy.js';

// Table tests of GitLab's runner, namespace and global policies (app/policies): one row per rule.

const { NO_ACCESS, GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER } = AccessLevel;
const anonymous = null;
const admin: PolicyActor = { id: 1, admin: true };
const user: PolicyActor = { id: 2, admin: false };
const sorted = (s: Set<string>) => [...s].sort();

const ALL: RunnerAbility[] = ['assign_runner', 'delete_runner', 'read_builds', 'read_runner', 'update_runner'];
const without = (...drop: RunnerAbility[]) => ALL.filter((a) => !drop.includes(a));

const runner = (over: Partial<RunnerFacts>): RunnerFacts => ({
  type: 'project_type',
  locked: false,
  projectCount: 1,
  ownerGroupAccess: NO_ACCESS,
  ownerProjectAccess: NO_ACCESS,
  maxAssignedProjectAccess: NO_ACCESS,
  maintainerOfProjectUsingGroup: false,
  ...over,
});

describe('Ci::RunnerPolicy (runnerAbilities)', () => {
  const rows: Array<[string, PolicyActor | null, Partial<RunnerFacts>, RunnerAbility[]]> = [
    // anonymous users get nothing
    ['anonymous, instance runner', anonymous, { type: 'instance_type' }, []],
    ['anonymous, group runner', anonymous, { type: 'group_type', ownerGroupAccess: OWNER }, []],
    ['anonymous, project runner', anonymous, { ownerProjectAccess: MAINTAINER, maxAssignedProjectAccess: MAINTAINER }, []],
    // admin: everything, never prevented by locked or several projects
    ['admin, instance runner', admin, { type: 'instance_type' }, ALL],
    ['admin, group runner', admin, { type: 'group_type' }, ALL],
    ['admin, locked project runner on two projects', admin, { locked: true, projectCount: 2 }, ALL],
    // instance runner: read_runner for every authenticated user, admins only for the rest
    ['user, instance runner', user, { type: 'instance_type' }, ['read_runner']],
    ['user, locked instance runner', user, { type: 'instance_type', locked: true }, ['read_runner']],
    // group runner: Owner of the owning group administers it
    ['group Owner, group runner', user, { type: 'group_type', ownerGroupAccess: OWNER }, ALL],
    ['group Owner, locked group runner', user, { type: 'group_type', ownerGroupAccess: OWNER, locked: true }, without('assign_runner')],
    // group runner: Maintainer+ of its group reads it and its jobs
    ['group Maintainer, group runner', user, { type: 'group_type', ownerGroupAccess: MAINTAINER }, ['read_builds', 'read_runner']],
    ['group Developer, group runner', user, { type: 'group_type', ownerGroupAccess: DEVELOPER }, []],
    // group runner: Maintainer+ of a project in the group that uses group runners reads it
    [
      'Maintainer of a project using group runners',
      user,
      { type: 'group_type', ownerGroupAccess: REPORTER, maintainerOfProjectUsingGroup: true },
      ['read_runner'],
    ],
    // project runner: Maintainer+ of the owner project administers it
    ['owner-project Maintainer, project runner', user, { ownerProjectAccess: MAINTAINER, maxAssignedProjectAccess: MAINTAINER }, ALL],
    ['owner-project Owner, project runner', user, { ownerProjectAccess: OWNER, maxAssignedProjectAccess: OWNER }, ALL],
    ['owner-project Developer, project runner', user, { ownerProjectAccess: DEVELOPER, maxAssignedProjectAccess: DEVELOPER }, []],
    ['owner-project Guest, project runner', user, { ownerProjectAccess: GUEST, maxAssignedProjectAccess: GUEST }, []],
    // project runner: Maintainer+ of any assigned project reads it
    [
      'Maintainer of an assigned project only (one project would be the owner; two projects)',
      user,
      { projectCount: 2, ownerProjectAccess: NO_ACCESS, maxAssignedProjectAccess: MAINTAINER },
      ['assign_runner', 'read_builds', 'read_runner', 'update_runner'],
    ],
    // project runner with >1 projects: delete prevented for non-admins
    [
      'owner-project Maintainer, runner on two projects',
      user,
      { projectCount: 2, ownerProjectAccess: MAINTAINER, maxAssignedProjectAccess: MAINTAINER },
      without('delete_runner'),
    ],
    // locked prevents assign for non-admins
    ['owner-project Maintainer, locked runner', user, { locked: true, ownerProjectAccess: MAINTAINER, maxAssignedProjectAccess: MAINTAINER }, without('assign_runner')],
    [
      'assigned-project Maintainer, locked runner on two projects',
      user,
      { locked: true, projectCount: 2, maxAssignedProjectAccess: MAINTAINER },
      ['read_builds', 'read_runner', 'update_runner'],
    ],
    [
      'assigned-project Developer, runner on two projects',
      user,
      { projectCount: 2, maxAssignedProjectAccess: DEVELOPER },
      [],
    ],
    // an archived owner project takes admin_runners away: only the plain Maintainer rules remain
    [
      'owner-project Maintainer, archived owner project',
      user,
      { ownerArchived: true, ownerProjectAccess: MAINTAINER, maxAssignedProjectAccess: MAINTAINER },
      ['read_runner', 'update_runner'],
    ],
    ['admin, archived owner project', admin, { ownerArchived: true }, ALL],
  ];

  it.each(rows)('%s', (_name, actor, facts, expected) => {
    expect(sorted(runnerAbilities(actor, runner(facts)))).toEqual([...expected].sort());
  });
});

describe('Ci::RunnerProjectPolicy#unassign_runner (canUnassignRunner)', () => {
  const base: RunnerProjectFacts = { projectAccess: MAINTAINER, locked: false, isOwnerProject: false };
  const rows: Array<[string, PolicyActor | null, Partial<RunnerProjectFacts>, boolean]> = [
    ['anonymous', anonymous, {}, false],
    ['project Maintainer', user, {}, true],
    ['project Owner', user, { projectAccess: OWNER }, true],
    ['project Developer', user, { projectAccess: DEVELOPER }, false],
    ['non-member', user, { projectAccess: NO_ACCESS }, false],
    ['project Maintainer, locked runner', user, { locked: true }, false],
    ['admin, locked runner', admin, { locked: true, projectAccess: NO_ACCESS }, true],
    ['project Maintainer, the owner project', user, { isOwnerProject: true }, false],
    ['admin, the owner project', admin, { isOwnerProject: true }, false],
    ['project Maintainer, archived project', user, { projectArchived: true }, false],
    ['admin, archived project', admin, { projectArchived: true }, false],
  ];

  it.each(rows)('%s', (_name, actor, facts, expected) => {
    expect(canUnassignRunner(actor, { ...base, ...facts })).toBe(expected);
  });
});

const VISIBLE = ['read', 'read_members'];
const GROUP_MAINTAINER = [...VISIBLE, 'create_project', 'create_subgroup', 'read_runners', 'read_audit_events'];
const GROUP_OWNER = [
  ...GROUP_MAINTAINER,
  'admin',
  'admin_members',
  'admin_runners',
  'create_runners',
  'read_runners_registration_token',
  'update_runners_registration_token',
];

describe('GroupPolicy (groupAbilities)', () => {
  const group = (over: Partial<GroupFacts>): GroupFacts => ({
    visibility: 'private',
    accessLevel: NO_ACCESS,
    registrationTokenAllowed: true,
    runnerRegistrationEnabled: true,
    ...over,
  });
  const rows: Array<[string, PolicyActor | null, Partial<GroupFacts>, string[]]> = [
    ['anonymous, private group', anonymous, {}, []],
    ['anonymous, internal group', anonymous, { visibility: 'internal' }, []],
    ['anonymous, public group', anonymous, { visibility: 'public' }, VISIBLE],
    ['non-member, private group', user, {}, []],
    ['non-member, internal group', user, { visibility: 'internal' }, VISIBLE],
    ['Guest', user, { accessLevel: GUEST }, VISIBLE],
    ['Reporter', user, { accessLevel: REPORTER }, VISIBLE],
    // read_group_audit_events: Developer+ (GitLab EE's group_policy.rb)
    ['Developer', user, { accessLevel: DEVELOPER }, [...VISIBLE, 'create_project', 'read_audit_events']],
    // read_runners: Maintainer+
    ['Maintainer', user, { accessLevel: MAINTAINER }, GROUP_MAINTAINER],
    // admin_runners, create_runners, update_runners_registration_token: Owner
    ['Owner', user, { accessLevel: OWNER }, GROUP_OWNER],
    ['admin, private group, not a member', admin, {}, GROUP_OWNER],
    // create_runners prevented for non-admins when runner registration is off
    ['Owner, runner registration off', user, { accessLevel: OWNER, runnerRegistrationEnabled: false }, GROUP_OWNER.filter((a) => a !== 'create_runners')],
    ['admin, runner registration off', admin, { runnerRegistrationEnabled: false }, GROUP_OWNER],
    // registration-token abilities prevented (for everyone) when registration tokens are not allowed
    [
      'Owner, registration tokens not allowed',
      user,
      { accessLevel: OWNER, registrationTokenAllowed: false },
      GROUP_OWNER.filter((a) => !a.endsWith('registration_token')),
    ],
    ['admin, registration tokens not allowed', admin, { registrationTokenAllowed: false }, GROUP_OWNER.filter((a) => !a.endsWith('registration_token'))],
  ];

  it.each(rows)('%s', (_name, actor, facts, expected) => {
    expect(sorted(groupAbilities(actor, group(facts)))).toEqual([...expected].sort());
  });
});

const PROJECT_MAINTAINER = [
  ...VISIBLE,
  'read_build',
  'read_code',
  'read_audit_events',
  'create_pipeline',
  'update_build',
  'read_runners',
  'admin',
  'admin_members',
  'admin_protected_branches',
  'admin_runners',
  'create_runners',
  'read_runners_registration_token',
  'update_runners_registration_token',
];

describe('ProjectPolicy (projectAbilities)', () => {
  const project = (over: Partial<ProjectFacts>): ProjectFacts => ({
    visibility: 'private',
    accessLevel: NO_ACCESS,
    registrationTokenAllowed: true,
    runnerRegistrationEnabled: true,
    archived: false,
    ...over,
  });
  const archivedPrevented = ['admin_runners', 'create_runners', 'update_runners_registration_token', 'read_runners_registration_token', 'create_pipeline', 'update_build'];
  const rows: Array<[string, PolicyActor | null, Partial<ProjectFacts>, string[]]> = [
    ['anonymous, private project', anonymous, {}, []],
    ['anonymous, public project', anonymous, { visibility: 'public' }, VISIBLE],
    ['non-member, private project', user, {}, []],
    // read_build (read_pipeline too): every signed-in user who sees the project, as "Public pipelines" is on by default
    ['non-member, internal project', user, { visibility: 'internal' }, [...VISIBLE, 'read_build']],
    ['Guest', user, { accessLevel: GUEST }, [...VISIBLE, 'read_build']],
    // read_code: Reporter+ of a private project
    ['Reporter', user, { accessLevel: REPORTER }, [...VISIBLE, 'read_build', 'read_code']],
    // read_project_audit_events: Developer+ (GitLab EE's project_policy.rb)
    ['Developer', user, { accessLevel: DEVELOPER }, [...VISIBLE, 'read_build', 'read_code', 'read_audit_events', 'create_pipeline', 'update_build']],
    // read_runners, admin_runners, create_runners, update_runners_registration_token: Maintainer+
    ['Maintainer', user, { accessLevel: MAINTAINER }, PROJECT_MAINTAINER],
    ['Owner', user, { accessLevel: OWNER }, PROJECT_MAINTAINER],
    ['admin, not a member', admin, {}, PROJECT_MAINTAINER],
    // create_runners prevented for non-admins when runner registration is off
    ['Maintainer, runner registration off', user, { accessLevel: MAINTAINER, runnerRegistrationEnabled: false }, PROJECT_MAINTAINER.filter((a) => a !== 'create_runners')],
    ['admin, runner registration off', admin, { runnerRegistrationEnabled: false }, PROJECT_MAINTAINER],
    // registration-token abilities prevented when registration tokens are not allowed
    [
      'Maintainer, registration tokens not allowed',
      user,
      { accessLevel: MAINTAINER, registrationTokenAllowed: false },
      PROJECT_MAINTAINER.filter((a) => !a.endsWith('registration_token')),
    ],
    // archived prevents admin_runners, create_runners, update_runners_registration_token
    ['Maintainer, archived project', user, { accessLevel: MAINTAINER, archived: true }, PROJECT_MAINTAINER.filter((a) => !archivedPrevented.includes(a))],
    ['admin, archived project', admin, { archived: true }, PROJECT_MAINTAINER.filter((a) => !archivedPrevented.includes(a))],
  ];

  it.each(rows)('%s', (_name, actor, facts, expected) => {
    expect(sorted(projectAbilities(actor, project(facts)))).toEqual([...expected].sort());
  });
});

describe('GlobalPolicy + ApplicationSettingPolicy (instanceAbilities)', () => {
  const everything = [
    'admin_users',
    'create_instance_runner',
    'read_all_runners',
    'read_application_settings',
    'read_runners_registration_token',
    'update_application_settings',
    'update_runners_registration_token',
  ];
  const rows: Array<[string, PolicyActor | null, boolean, string[]]> = [
    ['anonymous', anonymous, true, []],
    ['non-admin', user, true, []],
    ['admin', admin, true, everything],
    ['admin, registration tokens not allowed', admin, false, everything.filter((a) => !a.endsWith('registration_token'))],
  ];

  it.each(rows)('%s', (_name, actor, allowed, expected) => {
    expect(sorted(instanceAbilities(actor, { allowRunnerRegistrationToken: allowed }))).toEqual([...expected].sort());
  });
});
