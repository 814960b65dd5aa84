import pg from 'pg';

// The database check behind /-/readiness, on a connection of its own: a
// probe never waits behind a full pool (a backlog of polls holding every
// pooled connection must not make a load balancer or Kubernetes take a
// working instance out of service). One connection, opened on first use and
// again after it broke or hung; concurrent probes share it.

export class DatabaseProbe {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private closed = false;

  constructor(private readonly config: pg.ClientConfig) {}

  /** Resolves once the database answered `SELECT 1` within `timeoutMs`, else rejects. */
  async check(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let client: pg.Client | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A database that hangs (rather than refusing): the next probe starts over on a new connection.
        if (client) this.drop(client);
        reject(new Error('database check timed out'));
      }, timeoutMs);
    });
    const query = this.connection(timeoutMs).then((c) => {
      client = c;
      return c.query('SELECT 1');
    });
    query.catch(() => undefined);
    try {
      await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private connection(timeoutMs: number): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('database connections are closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ ...this.config, connectionTimeoutMillis: timeoutMs });
      client.on('error', () => this.drop(client));
      client.on('end', () => this.drop(client));
      try {
        await client.connect();
      } catch (err) {
        client.end().catch(() => undefined);
        throw err;
      } finally {
        this.connecting = null;
      }
      if (this.closed) {
        client.end().catch(() => undefined);
        throw new Error('database connections are closed');
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    client.end().catch(() => undefined);
  }
}
