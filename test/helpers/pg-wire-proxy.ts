import net from 'node:net';

// A TCP proxy in front of PostgreSQL that reads what clients send (the
// frontend half of the wire protocol, https://www.postgresql.org/docs/current/protocol-message-formats.html)
// and passes every byte on unchanged. Tests use it to see what a pooler would
// be asked to carry: statement names in Parse messages, startup parameters,
// simple-query texts.

export interface WireLog {
  /** The statement name of every Parse message ('' = the unnamed statement). */
  parseNames: string[];
  /** The SQL of every Parse message. */
  parseTexts: string[];
  /** Simple-protocol query texts (Query messages). */
  queries: string[];
  /** Startup parameters of every connection. */
  startups: Record<string, string>[];
  /** How many Parse messages went through (all of them, whatever `keep` says). */
  parseCount: number;
}

export interface WireProxy {
  port: number;
  log: WireLog;
  close: () => Promise<void>;
}

const cstring = (buf: Buffer, at: number): [string, number] => {
  const end = buf.indexOf(0, at);
  return [buf.toString('utf8', at, end), end + 1];
};

/**
 * `keep: 'named'` (for a whole test run through the proxy) keeps only the
 * Parse messages that name their statement, and no query texts: the rest is
 * counted, not stored.
 */
export async function startWireProxy(target: { host: string; port: number }, opts: { keep?: 'all' | 'named' } = {}): Promise<WireProxy> {
  const keepAll = (opts.keep ?? 'all') === 'all';
  const log: WireLog = { parseNames: [], parseTexts: [], queries: [], startups: [], parseCount: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    for (const s of [client, upstream]) s.on('close', () => sockets.delete(s));
    let pending = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (!started) {
          if (pending.length < 8) return;
          const len = pending.readInt32BE(0);
          if (pending.length < len) return;
          const code = pending.readInt32BE(4);
          if (code === 196608) {
            // StartupMessage (protocol 3.0): name/value pairs.
            const params: Record<string, string> = {};
            let at = 8;
            while (at < len - 1) {
              const [k, next] = cstring(pending, at);
              const [v, after] = cstring(pending, next);
              params[k] = v;
              at = after;
            }
            log.startups.push(params);
            started = true;
          }
          // SSLRequest / GSSENCRequest are answered 'N' and followed by a StartupMessage.
          pending = pending.subarray(len);
          continue;
        }
        if (pending.length < 5) return;
        const type = String.fromCharCode(pending[0]!);
        const len = pending.readInt32BE(1);
        if (pending.length < len + 1) return;
        const body = pending.subarray(5, len + 1);
        if (type === 'P') {
          log.parseCount++;
          const [name, next] = cstring(body, 0);
          if (keepAll || name !== '') {
            log.parseNames.push(name);
            log.parseTexts.push(cstring(body, next)[0]);
          }
        } else if (type === 'Q' && keepAll) {
          log.queries.push(cstring(body, 0)[0]);
        }
        pending = pending.subarray(len + 1);
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    log,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
