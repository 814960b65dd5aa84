-- A job queue whose cost does not grow with its backlog (issue 14), after
-- GitLab's ci_pending_builds and ci_running_builds
-- (app/models/ci/pending_build.rb, app/models/ci/running_build.rb,
-- app/services/ci/queue/pending_builds_strategy.rb).
--
-- ci_pending_builds: one row per job that is pending and not yet given to a
-- runner, with the facts matching needs copied in, so a hand-out reads no
-- other table: the job's protected flag and tags, the project's namespace,
-- its traversal ids (empty when the project turned group runners off) and
-- whether instance runners may take it (the project's shared runners).
--
-- ci_running_builds: one row per running job with the type of the runner
-- that runs it (kept even if that runner is deleted meanwhile).
--
-- ci_instance_queues: one row per project with what fair scheduling orders
-- instance runners' candidates by: the project's jobs running on instance
-- runners, and its oldest pending job instance runners may take (NULL: none).
-- The partial index on (instance_running, instance_head) hands instance
-- runners the projects in fair order without counting or sorting anything:
-- a hand-out walks it and stops at the first project with a job for the
-- runner (src/services/jobs/job-matching.ts).
--
-- All three are kept in step with jobs by the triggers below, whoever
-- writes a job's status: hand-out, job updates, pipeline processing, sweepers,
-- cancellation, cascading deletes.

-- CreateTable
CREATE TABLE "ci_pending_builds" (
    "build_id" INTEGER NOT NULL,
    "project_id" INTEGER NOT NULL,
    "protected" BOOLEAN NOT NULL DEFAULT false,
    "tag_list" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "namespace_id" INTEGER NOT NULL,
    "namespace_traversal_ids" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "instance_runners_enabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ci_pending_builds_pkey" PRIMARY KEY ("build_id")
);

-- CreateTable
CREATE TABLE "ci_running_builds" (
    "build_id" INTEGER NOT NULL,
    "project_id" INTEGER NOT NULL,
    "runner_type" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ci_running_builds_pkey" PRIMARY KEY ("build_id")
);

-- CreateTable
CREATE TABLE "ci_instance_queues" (
    "project_id" INTEGER NOT NULL,
    "instance_running" INTEGER NOT NULL DEFAULT 0,
    "instance_head" INTEGER,

    CONSTRAINT "ci_instance_queues_pkey" PRIMARY KEY ("project_id")
);

-- CreateIndex
CREATE INDEX "ci_pending_builds_project_id_build_id_idx" ON "ci_pending_builds"("project_id", "build_id");
CREATE INDEX "ci_pending_builds_namespace_id_idx" ON "ci_pending_builds"("namespace_id");
CREATE INDEX "ci_pending_builds_namespace_traversal_ids_idx" ON "ci_pending_builds" USING GIN ("namespace_traversal_ids");
CREATE INDEX "ci_running_builds_project_id_idx" ON "ci_running_builds"("project_id");
-- Only projects with something for instance runners: the fair walk never
-- steps over idle projects.
CREATE INDEX "ci_instance_queues_fair_order_idx" ON "ci_instance_queues"("instance_running", "instance_head") WHERE "instance_head" IS NOT NULL;

-- AddForeignKey
ALTER TABLE "ci_pending_builds" ADD CONSTRAINT "ci_pending_builds_build_id_fkey" FOREIGN KEY ("build_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ci_pending_builds" ADD CONSTRAINT "ci_pending_builds_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ci_running_builds" ADD CONSTRAINT "ci_running_builds_build_id_fkey" FOREIGN KEY ("build_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ci_running_builds" ADD CONSTRAINT "ci_running_builds_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ci_instance_queues" ADD CONSTRAINT "ci_instance_queues_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The jobs already pending or running when this migration runs.
INSERT INTO "ci_pending_builds" (build_id, project_id, protected, tag_list, namespace_id, namespace_traversal_ids, instance_runners_enabled, created_at)
SELECT j.id, j.project_id, j.protected, COALESCE(j.tag_list, '{}'), p.namespace_id,
       CASE WHEN p.group_runners_enabled THEN COALESCE(n.traversal_ids, '{}') ELSE '{}' END,
       p.shared_runners_enabled, COALESCE(j.queued_at, j.created_at)
FROM jobs j JOIN projects p ON p.id = j.project_id JOIN namespaces n ON n.id = p.namespace_id
WHERE j.status = 'pending' AND j.runner_id IS NULL;

INSERT INTO "ci_running_builds" (build_id, project_id, runner_type, created_at)
SELECT j.id, j.project_id, r.runner_type, COALESCE(j.started_at, j.updated_at)
FROM jobs j JOIN runners r ON r.id = j.runner_id
WHERE j.status = 'running';

INSERT INTO "ci_instance_queues" (project_id, instance_running, instance_head)
SELECT project_id, sum(running)::int, min(head)
FROM (
  SELECT project_id, 0 AS running, min(build_id) FILTER (WHERE instance_runners_enabled) AS head FROM ci_pending_builds GROUP BY project_id
  UNION ALL
  SELECT project_id, count(*) FILTER (WHERE runner_type = 1), NULL FROM ci_running_builds GROUP BY project_id
) facts
GROUP BY project_id;

-- A job's place in the queue tables follows its status (and, for pending
-- jobs, the facts copied from it).
CREATE FUNCTION ci_sync_job_queue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_pending boolean := TG_OP = 'UPDATE' AND OLD.status = 'pending' AND OLD.runner_id IS NULL;
  is_pending boolean := NEW.status = 'pending' AND NEW.runner_id IS NULL;
  was_running boolean := TG_OP = 'UPDATE' AND OLD.status = 'running';
  is_running boolean := NEW.status = 'running';
BEGIN
  IF was_pending AND (NOT is_pending OR OLD.project_id <> NEW.project_id) THEN
    DELETE FROM ci_pending_builds WHERE build_id = OLD.id;
    was_pending := false;
  END IF;
  IF is_pending AND NOT was_pending THEN
    INSERT INTO ci_pending_builds (build_id, project_id, protected, tag_list, namespace_id, namespace_traversal_ids, instance_runners_enabled)
    SELECT NEW.id, p.id, NEW.protected, COALESCE(NEW.tag_list, '{}'), p.namespace_id,
           CASE WHEN p.group_runners_enabled THEN COALESCE(n.traversal_ids, '{}') ELSE '{}' END,
           p.shared_runners_enabled
    FROM projects p JOIN namespaces n ON n.id = p.namespace_id
    WHERE p.id = NEW.project_id
    ON CONFLICT (build_id) DO NOTHING;
  ELSIF is_pending AND (OLD.protected IS DISTINCT FROM NEW.protected OR OLD.tag_list IS DISTINCT FROM NEW.tag_list) THEN
    UPDATE ci_pending_builds SET protected = NEW.protected, tag_list = COALESCE(NEW.tag_list, '{}') WHERE build_id = NEW.id;
  END IF;
  IF was_running AND NOT is_running THEN
    DELETE FROM ci_running_builds WHERE build_id = OLD.id;
  ELSIF is_running AND NOT was_running THEN
    INSERT INTO ci_running_builds (build_id, project_id, runner_type)
    VALUES (NEW.id, NEW.project_id, COALESCE((SELECT runner_type FROM runners WHERE id = NEW.runner_id), 0))
    ON CONFLICT (build_id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER ci_sync_job_queue_on_insert AFTER INSERT ON jobs
  FOR EACH ROW WHEN (NEW.status IN ('pending', 'running')) EXECUTE FUNCTION ci_sync_job_queue();
CREATE TRIGGER ci_sync_job_queue_on_update AFTER UPDATE ON jobs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.runner_id IS DISTINCT FROM NEW.runner_id
                     OR OLD.project_id IS DISTINCT FROM NEW.project_id
                     OR (NEW.status = 'pending' AND (OLD.protected IS DISTINCT FROM NEW.protected OR OLD.tag_list IS DISTINCT FROM NEW.tag_list)))
  EXECUTE FUNCTION ci_sync_job_queue();

-- The project's oldest pending job for instance runners. The row is locked
-- first and the oldest job read in a statement of its own: in READ
-- COMMITTED every statement of a trigger function sees what was committed
-- before it started, so the answer includes jobs queued by transactions
-- that held the lock before us.
CREATE FUNCTION ci_instance_queue_refresh_head(project integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM ci_instance_queues WHERE project_id = project FOR UPDATE;
  UPDATE ci_instance_queues
  SET instance_head = (SELECT min(build_id) FROM ci_pending_builds WHERE project_id = project AND instance_runners_enabled)
  WHERE project_id = project;
END $$;

CREATE FUNCTION ci_pending_builds_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ci_instance_queues AS q (project_id, instance_head)
    VALUES (NEW.project_id, CASE WHEN NEW.instance_runners_enabled THEN NEW.build_id END)
    ON CONFLICT (project_id) DO UPDATE SET instance_head = LEAST(q.instance_head, EXCLUDED.instance_head)
      WHERE EXCLUDED.instance_head IS NOT NULL AND (q.instance_head IS NULL OR q.instance_head > EXCLUDED.instance_head);
  ELSIF TG_OP = 'DELETE' THEN
    -- Only when the job was the head: checked under the row's lock, so a
    -- head recomputed meanwhile by a transaction that still saw this job
    -- is corrected here.
    IF OLD.instance_runners_enabled THEN
      PERFORM 1 FROM ci_instance_queues WHERE project_id = OLD.project_id FOR UPDATE;
      IF EXISTS (SELECT 1 FROM ci_instance_queues WHERE project_id = OLD.project_id AND instance_head = OLD.build_id) THEN
        PERFORM ci_instance_queue_refresh_head(OLD.project_id);
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- Deferred to the commit: the per-project row is locked for the moment of
-- the commit only, not for the rest of a hand-out transaction, so runners
-- taking jobs of the same project at once do not queue behind each other.
CREATE CONSTRAINT TRIGGER ci_pending_builds_changed AFTER INSERT OR DELETE ON ci_pending_builds
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ci_pending_builds_changed();

CREATE FUNCTION ci_running_builds_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' AND NEW.runner_type = 1 THEN
    INSERT INTO ci_instance_queues AS q (project_id, instance_running) VALUES (NEW.project_id, 1)
    ON CONFLICT (project_id) DO UPDATE SET instance_running = q.instance_running + 1;
  ELSIF TG_OP = 'DELETE' AND OLD.runner_type = 1 THEN
    UPDATE ci_instance_queues SET instance_running = greatest(instance_running - 1, 0) WHERE project_id = OLD.project_id;
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ci_running_builds_changed AFTER INSERT OR DELETE ON ci_running_builds
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ci_running_builds_changed();

-- A project's runner settings or namespace changed: its pending jobs' copied
-- facts follow.
CREATE FUNCTION ci_project_queue_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ci_pending_builds pb
  SET namespace_id = NEW.namespace_id,
      namespace_traversal_ids = CASE WHEN NEW.group_runners_enabled THEN COALESCE(n.traversal_ids, '{}') ELSE '{}' END,
      instance_runners_enabled = NEW.shared_runners_enabled
  FROM namespaces n
  WHERE pb.project_id = NEW.id AND n.id = NEW.namespace_id;
  IF OLD.shared_runners_enabled IS DISTINCT FROM NEW.shared_runners_enabled THEN
    PERFORM ci_instance_queue_refresh_head(NEW.id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER ci_project_queue_facts_changed AFTER UPDATE OF shared_runners_enabled, group_runners_enabled, namespace_id ON projects
  FOR EACH ROW WHEN (OLD.shared_runners_enabled IS DISTINCT FROM NEW.shared_runners_enabled
                     OR OLD.group_runners_enabled IS DISTINCT FROM NEW.group_runners_enabled
                     OR OLD.namespace_id IS DISTINCT FROM NEW.namespace_id)
  EXECUTE FUNCTION ci_project_queue_facts_changed();

-- A group moved: the traversal ids copied into its projects' pending jobs follow.
CREATE FUNCTION ci_namespace_queue_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ci_pending_builds pb
  SET namespace_traversal_ids = COALESCE(NEW.traversal_ids, '{}')
  FROM projects p
  WHERE pb.namespace_id = NEW.id AND p.id = pb.project_id AND p.group_runners_enabled;
  RETURN NULL;
END $$;

CREATE TRIGGER ci_namespace_queue_facts_changed AFTER UPDATE OF traversal_ids ON namespaces
  FOR EACH ROW WHEN (OLD.traversal_ids IS DISTINCT FROM NEW.traversal_ids)
  EXECUTE FUNCTION ci_namespace_queue_facts_changed();
