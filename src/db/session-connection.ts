import pg from 'pg';

// Work that needs a real PostgreSQL session of its own (advisory locks held
// across statements, LISTEN) cannot go through a transaction-pooling proxy
// such as PgBouncer. This is the one function that opens such a session;
// the settings come from Database.session (src/db/client.ts), which is where
// DATABASE_DIRECT_URL is chosen over a pooled DATABASE_URL.

let defaultConfig: pg.ClientConfig | undefined;

/** Sets what sessions connect with when their caller names nothing (buildApp does, from the database it uses). */
export function setSessionConnectionConfig(config: pg.ClientConfig): void {
  defaultConfig = config;
}

/** A connected session of its own; the caller ends it. */
export async function openSessionConnection(config: pg.ClientConfig | undefined = defaultConfig): Promise<pg.Client> {
  if (!config) throw new Error('no database configured for session connections');
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  // A session lost with the server must not crash the process; its owner notices on the next query.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
