import pg from 'pg';

// Work that needs a real PostgreSQL session of its own (advisory locks held
// across statements, LISTEN) cannot go through a transaction-pooling proxy
// such as PgBouncer. This is the one function that opens such a session;
// it is where a direct URL (bypassing a pooler) is chosen.

let defaultUrl: string | undefined;

/** Sets the URL sessions connect to when their caller names none (buildApp does, from the database it uses). */
export function setSessionConnectionUrl(url: string): void {
  defaultUrl = url;
}

/** A connected session of its own; the caller ends it. */
export async function openSessionConnection(url: string | undefined = defaultUrl): Promise<pg.Client> {
  if (!url) throw new Error('no database URL for session connections');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  // A session lost with the server must not crash the process; its owner notices on the next query.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
