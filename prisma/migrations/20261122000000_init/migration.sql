-- CreateTable
CREATE TABLE "users" (
    "id" SERIAL NOT NULL,
    "username" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "state" TEXT NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "personal_access_tokens" (
    "id" SERIAL NOT NULL,
    "user_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "token_digest" TEXT NOT NULL,
    "scopes" TEXT[],
    "expires_at" DATE,
    "revoked" BOOLEAN NOT NULL DEFAULT false,
    "last_used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "personal_access_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "namespaces" (
    "id" SERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "full_path" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "parent_id" INTEGER,
    "traversal_ids" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "owner_id" INTEGER,
    "visibility" TEXT NOT NULL DEFAULT 'private',
    "shared_runners_enabled" BOOLEAN NOT NULL DEFAULT true,
    "allow_descendants_override_disabled_shared_runners" BOOLEAN NOT NULL DEFAULT false,
    "allow_runner_registration_token" BOOLEAN NOT NULL DEFAULT true,
    "runner_registration_enabled" BOOLEAN NOT NULL DEFAULT true,
    "runners_token_encrypted" TEXT,
    "runners_token_digest" TEXT,
    "runner_token_expiration_interval" INTEGER,
    "subgroup_runner_token_expiration_interval" INTEGER,
    "project_runner_token_expiration_interval" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "namespaces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "projects" (
    "id" SERIAL NOT NULL,
    "namespace_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "path_with_namespace" TEXT NOT NULL,
    "description" TEXT,
    "visibility" TEXT NOT NULL DEFAULT 'private',
    "default_branch" TEXT NOT NULL DEFAULT 'main',
    "shared_runners_enabled" BOOLEAN NOT NULL DEFAULT true,
    "group_runners_enabled" BOOLEAN NOT NULL DEFAULT true,
    "runner_registration_enabled" BOOLEAN NOT NULL DEFAULT true,
    "runners_token_encrypted" TEXT,
    "runners_token_digest" TEXT,
    "runner_token_expiration_interval" INTEGER,
    "build_timeout" INTEGER NOT NULL DEFAULT 3600,
    "archived" BOOLEAN NOT NULL DEFAULT false,
    "creator_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "group_members" (
    "id" SERIAL NOT NULL,
    "group_id" INTEGER NOT NULL,
    "user_id" INTEGER NOT NULL,
    "access_level" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_members_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "project_members" (
    "id" SERIAL NOT NULL,
    "project_id" INTEGER NOT NULL,
    "user_id" INTEGER NOT NULL,
    "access_level" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "project_members_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "application_settings" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "allow_runner_registration_token" BOOLEAN NOT NULL DEFAULT true,
    "valid_runner_registrars" TEXT[] DEFAULT ARRAY['project', 'group']::TEXT[],
    "runner_token_expiration_interval" INTEGER,
    "group_runner_token_expiration_interval" INTEGER,
    "project_runner_token_expiration_interval" INTEGER,
    "runners_registration_token_encrypted" TEXT,
    "runners_registration_token_digest" TEXT,
    "generated_secret_key" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "application_settings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runners" (
    "id" SERIAL NOT NULL,
    "runner_type" INTEGER NOT NULL,
    "description" TEXT,
    "name" TEXT,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "locked" BOOLEAN NOT NULL DEFAULT false,
    "run_untagged" BOOLEAN NOT NULL DEFAULT true,
    "access_level" INTEGER NOT NULL DEFAULT 0,
    "maximum_timeout" INTEGER,
    "maintenance_note" TEXT,
    "tag_list" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "registration_type" INTEGER NOT NULL DEFAULT 0,
    "creator_id" INTEGER,
    "sharding_key_id" INTEGER,
    "token_digest" TEXT NOT NULL,
    "token_expires_at" TIMESTAMPTZ(3),
    "contacted_at" TIMESTAMPTZ(3),
    "creation_state" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "runners_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runner_projects" (
    "id" SERIAL NOT NULL,
    "runner_id" INTEGER NOT NULL,
    "project_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "runner_projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runner_namespaces" (
    "id" SERIAL NOT NULL,
    "runner_id" INTEGER NOT NULL,
    "namespace_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "runner_namespaces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runner_managers" (
    "id" SERIAL NOT NULL,
    "runner_id" INTEGER NOT NULL,
    "system_xid" TEXT NOT NULL,
    "version" TEXT,
    "revision" TEXT,
    "platform" TEXT,
    "architecture" TEXT,
    "executor_type" TEXT,
    "ip_address" TEXT,
    "config" JSONB,
    "runtime_features" JSONB,
    "labels" JSONB,
    "contacted_at" TIMESTAMPTZ(3),
    "creation_state" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "runner_managers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pipelines" (
    "id" SERIAL NOT NULL,
    "iid" INTEGER NOT NULL,
    "project_id" INTEGER NOT NULL,
    "ref" TEXT NOT NULL,
    "sha" TEXT NOT NULL,
    "before_sha" TEXT NOT NULL,
    "tag" BOOLEAN NOT NULL DEFAULT false,
    "protected" BOOLEAN NOT NULL DEFAULT false,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "source" TEXT NOT NULL DEFAULT 'api',
    "user_id" INTEGER,
    "config" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "pipelines_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "jobs" (
    "id" SERIAL NOT NULL,
    "project_id" INTEGER NOT NULL,
    "pipeline_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "stage_idx" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'created',
    "ref" TEXT NOT NULL,
    "tag" BOOLEAN NOT NULL DEFAULT false,
    "protected" BOOLEAN NOT NULL DEFAULT false,
    "tag_list" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "allow_failure" BOOLEAN NOT NULL DEFAULT false,
    "options" JSONB,
    "timeout" INTEGER,
    "user_id" INTEGER,
    "runner_id" INTEGER,
    "runner_manager_id" INTEGER,
    "token_digest" TEXT,
    "failure_reason" TEXT,
    "exit_code" INTEGER,
    "coverage" DOUBLE PRECISION,
    "trace" BYTEA,
    "trace_checksum" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "queued_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "erased_at" TIMESTAMPTZ(3),

    CONSTRAINT "jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "protected_branches" (
    "id" SERIAL NOT NULL,
    "project_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "protected_branches_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");
CREATE UNIQUE INDEX "personal_access_tokens_token_digest_key" ON "personal_access_tokens"("token_digest");
CREATE INDEX "personal_access_tokens_user_id_idx" ON "personal_access_tokens"("user_id");
CREATE UNIQUE INDEX "namespaces_full_path_key" ON "namespaces"("full_path");
CREATE UNIQUE INDEX "namespaces_owner_id_key" ON "namespaces"("owner_id");
CREATE UNIQUE INDEX "namespaces_runners_token_digest_key" ON "namespaces"("runners_token_digest");
CREATE INDEX "namespaces_parent_id_idx" ON "namespaces"("parent_id");
CREATE INDEX "namespaces_traversal_ids_idx" ON "namespaces" USING GIN ("traversal_ids");
CREATE UNIQUE INDEX "namespaces_parent_id_path_key" ON "namespaces"("parent_id", "path");
CREATE UNIQUE INDEX "projects_path_with_namespace_key" ON "projects"("path_with_namespace");
CREATE UNIQUE INDEX "projects_runners_token_digest_key" ON "projects"("runners_token_digest");
CREATE UNIQUE INDEX "projects_namespace_id_path_key" ON "projects"("namespace_id", "path");
CREATE INDEX "group_members_user_id_idx" ON "group_members"("user_id");
CREATE UNIQUE INDEX "group_members_group_id_user_id_key" ON "group_members"("group_id", "user_id");
CREATE INDEX "project_members_user_id_idx" ON "project_members"("user_id");
CREATE UNIQUE INDEX "project_members_project_id_user_id_key" ON "project_members"("project_id", "user_id");
CREATE UNIQUE INDEX "runners_token_digest_key" ON "runners"("token_digest");
CREATE INDEX "runners_runner_type_id_idx" ON "runners"("runner_type", "id");
CREATE INDEX "runners_contacted_at_idx" ON "runners"("contacted_at");
CREATE INDEX "runners_created_at_idx" ON "runners"("created_at");
CREATE INDEX "runners_active_id_idx" ON "runners"("active", "id");
CREATE INDEX "runners_tag_list_idx" ON "runners" USING GIN ("tag_list");
CREATE INDEX "runner_projects_project_id_runner_id_idx" ON "runner_projects"("project_id", "runner_id");
CREATE UNIQUE INDEX "runner_projects_runner_id_project_id_key" ON "runner_projects"("runner_id", "project_id");
CREATE UNIQUE INDEX "runner_namespaces_runner_id_key" ON "runner_namespaces"("runner_id");
CREATE INDEX "runner_namespaces_namespace_id_runner_id_idx" ON "runner_namespaces"("namespace_id", "runner_id");
CREATE INDEX "runner_managers_version_idx" ON "runner_managers"("version");
CREATE UNIQUE INDEX "runner_managers_runner_id_system_xid_key" ON "runner_managers"("runner_id", "system_xid");
CREATE UNIQUE INDEX "pipelines_project_id_iid_key" ON "pipelines"("project_id", "iid");
CREATE UNIQUE INDEX "jobs_token_digest_key" ON "jobs"("token_digest");
CREATE INDEX "jobs_status_id_idx" ON "jobs"("status", "id");
CREATE INDEX "jobs_runner_id_id_idx" ON "jobs"("runner_id", "id");
CREATE INDEX "jobs_runner_manager_id_id_idx" ON "jobs"("runner_manager_id", "id");
CREATE INDEX "jobs_pipeline_id_idx" ON "jobs"("pipeline_id");
CREATE INDEX "jobs_project_id_id_idx" ON "jobs"("project_id", "id");
CREATE UNIQUE INDEX "protected_branches_project_id_name_key" ON "protected_branches"("project_id", "name");

-- AddForeignKey
ALTER TABLE "personal_access_tokens" ADD CONSTRAINT "personal_access_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "namespaces" ADD CONSTRAINT "namespaces_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "namespaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "namespaces" ADD CONSTRAINT "namespaces_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "projects" ADD CONSTRAINT "projects_namespace_id_fkey" FOREIGN KEY ("namespace_id") REFERENCES "namespaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "namespaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "project_members" ADD CONSTRAINT "project_members_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "project_members" ADD CONSTRAINT "project_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runners" ADD CONSTRAINT "runners_creator_id_fkey" FOREIGN KEY ("creator_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "runner_projects" ADD CONSTRAINT "runner_projects_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_projects" ADD CONSTRAINT "runner_projects_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_namespaces" ADD CONSTRAINT "runner_namespaces_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_namespaces" ADD CONSTRAINT "runner_namespaces_namespace_id_fkey" FOREIGN KEY ("namespace_id") REFERENCES "namespaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "runner_managers" ADD CONSTRAINT "runner_managers_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_pipeline_id_fkey" FOREIGN KEY ("pipeline_id") REFERENCES "pipelines"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_runner_id_fkey" FOREIGN KEY ("runner_id") REFERENCES "runners"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_runner_manager_id_fkey" FOREIGN KEY ("runner_manager_id") REFERENCES "runner_managers"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "protected_branches" ADD CONSTRAINT "protected_branches_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
