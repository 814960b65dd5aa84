// The Prisma CLI loads @prisma/streams-local only for `prisma dev` (a local
// development database), which this project does not use: its migrations are
// applied by the server and its PostgreSQL is embedded or external. The real
// package requires Node 22, and installing it made `npm ci` warn on the Node
// versions this project supports (docs/troubleshooting.md, "npm ci warnings").
export async function startLocalDurableStreamsServer() {
  throw new Error('`prisma dev` is not supported in this project (see docs/troubleshooting.md)');
}
