-- Fleet management (issue 16): audit events in GitLab's Audit Events API
-- shape, and the switches of scheduled stale-runner pruning.

-- CreateTable
CREATE TABLE "audit_events" (
    "id" SERIAL NOT NULL,
    "author_id" INTEGER NOT NULL,
    "author_name" TEXT NOT NULL,
    "entity_id" INTEGER NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_path" TEXT NOT NULL,
    "event_name" TEXT NOT NULL,
    "target_id" INTEGER,
    "target_type" TEXT,
    "target_details" TEXT,
    "custom_message" TEXT NOT NULL,
    "ip_address" TEXT,
    "details" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- The group and project lists read one entity's events newest first.
-- CreateIndex
CREATE INDEX "audit_events_entity_type_entity_id_id_idx" ON "audit_events"("entity_type", "entity_id", "id");

-- CreateIndex
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at");

-- AlterTable
ALTER TABLE "application_settings" ADD COLUMN "stale_runner_pruning_enabled" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "namespaces" ADD COLUMN "allow_stale_runner_pruning" BOOLEAN NOT NULL DEFAULT false;
