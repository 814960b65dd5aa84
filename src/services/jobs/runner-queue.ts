import type { AppContext } from '../../context.js';
import { jobsMayBeAvailable, runnerCache } from '../runner-cache/runner-cache.js';

// GitLab's "runner queue" ticks (GitLab's lib/api/ci/runner.rb) for the code that
// queues jobs. The queue values themselves are the runner cache's "idle"
// answers (src/services/runner-cache/runner-token-cache.ts): a tick bumps the
// pending-job epoch here at once and on every other instance through NOTIFY,
// so every runner's next poll looks at the database again.

export interface RunnerQueues {
  /** A job was queued (call after the commit): every runner must look at the database again. */
  tickAll(): void;
  /** Releases held long polls (server shutdown). */
  releaseAll(): void;
}

export function runnerQueues(ctx: AppContext): RunnerQueues {
  return {
    tickAll: () => void jobsMayBeAvailable(ctx),
    releaseAll: () => runnerCache(ctx).runners.shutdown(),
  };
}
