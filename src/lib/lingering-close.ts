import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

// After an early answer (413 for a body that is too large), the client may
// still be writing the body: closing the socket with unread data makes the
// kernel send a reset, and a client that writes the whole body before it
// reads (node's http module, curl without Expect) sees EPIPE/ECONNRESET
// instead of the answer. Like nginx's lingering close, the server sends its
// answer and FIN, then keeps reading and discarding for a bounded time and
// size before it closes the socket.

/** Most bytes read and thrown away after the answer. */
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;
/** Longest time spent discarding after the answer. */
export const LINGER_MAX_MS = 5_000;
/** Close once the client has been silent this long. */
export const LINGER_IDLE_MS = 1_000;

/** Makes the server's close-after-response on the request's socket a lingering close. */
export function lingerOnClose(req: IncomingMessage): void {
  const s = req.socket as Socket & { destroySoon?: () => void; lingering?: boolean };
  if (s.lingering || s.destroyed) return;
  s.lingering = true;
  s.destroySoon = () => {
    // Our answer is written; FIN after it (the server socket is half-open capable).
    s.end();
    let discarded = 0;
    let idle: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(total);
      clearTimeout(idle);
      s.destroy();
    };
    const total = setTimeout(done, LINGER_MAX_MS);
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(done, LINGER_IDLE_MS);
    };
    touch();
    // The HTTP parser reads the socket itself; the rest of the body arrives
    // (and is thrown away) through the request stream.
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_MAX_BYTES) done();
      else touch();
    });
    // The client finished sending (or went away): nothing left to drain.
    if (req.complete) done();
    req.once('end', done);
    s.once('end', done);
    s.once('close', () => {
      clearTimeout(total);
      clearTimeout(idle);
    });
    req.resume();
  };
}
