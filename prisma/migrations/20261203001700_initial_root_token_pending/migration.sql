-- A generated initial root token waits here, encrypted with the server key,
-- until a boot that is listening has shown it (then it is cleared). A first
-- boot that fails before listening thus never loses the token.
-- AlterTable
ALTER TABLE "application_settings" ADD COLUMN "initial_root_token_encrypted" TEXT;
