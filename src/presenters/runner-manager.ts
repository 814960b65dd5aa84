import type { RunnerManager } from '../generated/prisma/client.js';
import { managerStatus } from '../domain/runner.js';
import { iso } from './runner.js';

/** Entities::Ci::RunnerManager (GitLab's lib/api/entities/ci/runner_manager.rb); `executing`: the manager runs a job right now. */
export function presentRunnerManager(m: RunnerManager, executing: boolean, now: number) {
  return {
    id: m.id,
    system_id: m.system_xid,
    version: m.version,
    revision: m.revision,
    platform: m.platform,
    architecture: m.architecture,
    created_at: iso(m.created_at),
    contacted_at: iso(m.contacted_at),
    ip_address: m.ip_address,
    status: managerStatus(m, now),
    job_execution_status: executing ? 'active' : 'idle',
  };
}
