-- How many runners each block of 1,000 ids holds (issue 14), so that a deep
-- page of the instance-wide runner list (GET /runners/all?page=5000) and its
-- count cost the same at one million runners as at one thousand: the page's
-- first id is found by summing the blocks before it (a thousand rows at a
-- million runners) and skipping at most 1,000 ids inside its block, where
-- OFFSET would read every id before it; the total is the sum of the blocks.
--
-- Kept by the triggers below, whoever inserts or deletes runners (the API, the
-- pruner, a plain SQL DELETE, TRUNCATE). Rows are deltas: an insert appends
-- its own row for its block instead of updating a shared one, so concurrent
-- registrations (whose ids fall in the same block) never wait for each other's
-- row lock. A block's rows are merged into one when the ids move on to the
-- next block and whenever runners of it are deleted, so the table stays near
-- one row per block. Readers sum the rows of each block.

-- CreateTable
CREATE TABLE "runner_id_blocks" (
    "id" SERIAL NOT NULL,
    "block" INTEGER NOT NULL,
    "runners" INTEGER NOT NULL,

    CONSTRAINT "runner_id_blocks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "runner_id_blocks_block_idx" ON "runner_id_blocks"("block");

-- Merges the rows of the given blocks into one each (rows of transactions
-- still in flight are not visible and stay as they are, to be merged later).
CREATE FUNCTION runner_id_blocks_merge(blocks integer[]) RETURNS void LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM runner_id_blocks WHERE block = ANY(blocks) RETURNING block, runners)
  INSERT INTO runner_id_blocks (block, runners)
  SELECT block, sum(runners) FROM gone GROUP BY block HAVING sum(runners) <> 0;
$$;

CREATE FUNCTION runner_id_blocks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO runner_id_blocks (block, runners)
  SELECT n.id / 1000, count(*) FROM new_runners n GROUP BY 1;
  -- The first id of a block was inserted: the block before it is complete.
  PERFORM runner_id_blocks_merge(ARRAY(SELECT DISTINCT n.id / 1000 - 1 FROM new_runners n WHERE n.id % 1000 = 0));
  RETURN NULL;
END $$;

CREATE FUNCTION runner_id_blocks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO runner_id_blocks (block, runners)
  SELECT o.id / 1000, -count(*) FROM old_runners o GROUP BY 1;
  PERFORM runner_id_blocks_merge(ARRAY(SELECT DISTINCT o.id / 1000 FROM old_runners o));
  RETURN NULL;
END $$;

CREATE FUNCTION runner_id_blocks_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM runner_id_blocks;
  RETURN NULL;
END $$;

CREATE TRIGGER runner_id_blocks_insert AFTER INSERT ON "runners"
  REFERENCING NEW TABLE AS new_runners FOR EACH STATEMENT EXECUTE FUNCTION runner_id_blocks_inserted();
CREATE TRIGGER runner_id_blocks_delete AFTER DELETE ON "runners"
  REFERENCING OLD TABLE AS old_runners FOR EACH STATEMENT EXECUTE FUNCTION runner_id_blocks_deleted();
CREATE TRIGGER runner_id_blocks_truncate AFTER TRUNCATE ON "runners"
  FOR EACH STATEMENT EXECUTE FUNCTION runner_id_blocks_truncated();

-- The runners that exist already.
INSERT INTO runner_id_blocks (block, runners) SELECT id / 1000, count(*) FROM runners GROUP BY 1;
