import { describe, expect, it } from 'vitest';
import { CiConfigError, parseCiConfig } from '../../src/services/ci-config/ci-config-service.js';
import { parseDuration } from '../../src/services/ci-config/duration.js';

const errorOf = (content: string): string => {
  try {
    parseCiConfig(content);
  } catch (err) {
    expect(err).toBeInstanceOf(CiConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
};

describe('parseCiConfig', () => {
  it('reads stages, defaults, variables and jobs, ordered by stage then by position', () => {
    const config = parseCiConfig(`
stages: [build, test, deploy]
default:
  image: alpine:3
  before_script: [echo setup]
  tags: [docker]
variables:
  GLOBAL: one
  NUMBER: 42
deploy:
  stage: deploy
  script: ./deploy.sh
  image:
    name: debian:12
    entrypoint: [""]
  tags: []
unit:
  script:
    - echo unit
    - [echo nested, echo deeper]
  after_script: echo after
  variables:
    LOCAL: two
    RAW:
      value: $NOT_EXPANDED
      expand: false
  timeout: 1h 30m
  allow_failure: true
  services:
    - postgres:16
    - name: redis:7
      alias: cache
compile:
  stage: build
  before_script: []
  script: make
`);
    expect(config.stages).toEqual(['.pre', 'build', 'test', 'deploy', '.post']);
    expect(config.variables).toEqual([
      { key: 'GLOBAL', value: 'one' },
      { key: 'NUMBER', value: '42' },
    ]);
    expect(config.jobs.map((j) => [j.name, j.stage, j.stageIdx])).toEqual([
      ['compile', 'build', 1],
      ['unit', 'test', 2],
      ['deploy', 'deploy', 3],
    ]);
    const [compile, unit, deploy] = config.jobs;
    expect(compile).toMatchObject({ script: ['make'], beforeScript: [], image: { name: 'alpine:3' }, tags: ['docker'], timeout: null });
    expect(unit).toMatchObject({
      script: ['echo unit', 'echo nested', 'echo deeper'],
      beforeScript: ['echo setup'],
      afterScript: ['echo after'],
      variables: [
        { key: 'LOCAL', value: 'two' },
        { key: 'RAW', value: '$NOT_EXPANDED', raw: true },
      ],
      timeout: 5400,
      allowFailure: true,
    });
    expect(unit!.services.map((s) => [s.name, s.alias])).toEqual([
      ['postgres:16', null],
      ['redis:7', 'cache'],
    ]);
    expect(deploy).toMatchObject({ image: { name: 'debian:12', entrypoint: [''], pull_policy: null }, tags: [], allowFailure: false });
  });

  it('uses GitLab defaults: stages build, test, deploy and stage test', () => {
    const config = parseCiConfig('job:\n  script: echo hi\n');
    expect(config.stages).toEqual(['.pre', 'build', 'test', 'deploy', '.post']);
    expect(config.jobs).toHaveLength(1);
    expect(config.jobs[0]).toMatchObject({ name: 'job', stage: 'test', stageIdx: 2, image: null, services: [], tags: [] });
  });

  it('ignores hidden jobs and expands anchors and merge keys', () => {
    const config = parseCiConfig(`
.template: &template
  script: [echo from template]
  tags: [linux]
real:
  <<: *template
  stage: build
`);
    expect(config.jobs.map((j) => j.name)).toEqual(['real']);
    expect(config.jobs[0]).toMatchObject({ script: ['echo from template'], tags: ['linux'], stage: 'build' });
  });

  it('accepts top-level image and before_script as GitLab older default spelling', () => {
    const config = parseCiConfig('image: ruby:3\nbefore_script: [bundle]\njob:\n  script: rake\n');
    expect(config.jobs[0]).toMatchObject({ image: { name: 'ruby:3' }, beforeScript: ['bundle'] });
  });

  it('lets a repeated key win, as GitLab YAML reader does', () => {
    const config = parseCiConfig('job:\n  script: echo first\n  script: echo second\n');
    expect(config.jobs[0]!.script).toEqual(['echo second']);
  });

  it.each([
    ['job: [unclosed', /^\(<unknown>\): /],
    ['', /^Please provide content of \.gitlab-ci\.yml$/],
    ['just a string', /^Invalid configuration format$/],
    ['.hidden:\n  script: x\n', /^jobs config should contain at least one visible job$/],
    ['job:\n  script: x\n  foo: bar\n', /^jobs:job config contains unknown keys: foo$/],
    ['job:\n  script: x\n  rules:\n    - when: always\n', /^jobs:job config contains keys this server does not support: rules$/],
    ['include: other.yml\njob:\n  script: x\n', /^root config contains keys this server does not support: include$/],
    ['job:\n  stage: build\n', /^jobs:job config should implement the script:, run:, or trigger: keyword$/],
    ['job:\n  script: []\n', /^jobs:job:script config can't be blank$/],
    ['job:\n  script: x\n  stage: release\n', /^job job: chosen stage release does not exist; available stages are \.pre, build, test, deploy, \.post$/],
    ['job:\n  script: x\n  tags: docker\n', /^jobs:job:tags config should be an array of strings$/],
    ['job:\n  script: x\n  timeout: soon\n', /^jobs:job:timeout config should be a duration$/],
    ['job:\n  script: x\n  allow_failure:\n    exit_codes: [1]\n', /^jobs:job:allow_failure config contains keys this server does not support: exit_codes$/],
    ['job:\n  script: x\n  variables: [A]\n', /^jobs:job:variables config should be a hash of key value pairs, value can be a hash$/],
    ['job:\n  script: [1, 2]\n', /^jobs:job:script config should be a string or a nested array of strings up to 10 levels deep$/],
    ['default:\n  cache: {}\njob:\n  script: x\n', /^default config contains keys this server does not support: cache$/],
    ['job:\n  script: x\n  image:\n    tag: latest\n', /^jobs:job:image config contains unknown keys: tag$/],
    ['stages: build\njob:\n  script: x\n', /^stages config should be an array of strings$/],
  ])('rejects %j naming the problem', (content, message) => {
    expect(errorOf(content)).toMatch(message);
  });
});

describe('parseDuration', () => {
  it.each([
    [3600, 3600],
    ['3600', 3600],
    ['90s', 90],
    ['10 minutes', 600],
    ['1h 30m', 5400],
    ['1h30m', 5400],
    ['2 hours and 15 minutes', 8100],
    ['1.5h', 5400],
    ['1 day', 86400],
    ['1 week', 604800],
  ])('reads %j as %i seconds', (value, seconds) => {
    expect(parseDuration(value)).toBe(seconds);
  });

  it.each(['', 'soon', '10 parsecs', '-5', 0, true, '1h and then some'])('rejects %j', (value) => {
    expect(parseDuration(value)).toBeUndefined();
  });
});
