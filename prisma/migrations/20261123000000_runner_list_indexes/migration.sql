-- Runner lists at 100,000 runners (issue 5).
-- version_prefix reads (version, runner_id) pairs from the index alone; it
-- replaces the single-column version index, which it covers.
DROP INDEX "runner_managers_version_idx";

-- CreateIndex
CREATE INDEX "runner_managers_version_runner_id_idx" ON "runner_managers"("version", "runner_id");

-- job_execution_status of a list page: one index probe per runner, however
-- many finished jobs the runner has.
-- CreateIndex
CREATE INDEX "jobs_runner_id_status_idx" ON "jobs"("runner_id", "status");
