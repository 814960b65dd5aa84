import autocannon from 'autocannon';

// One measurement = autocannon at fixed concurrency against one base URL,
// with every request built by the scenario (so tokens, ids and pages vary).
// Latency percentiles are computed here from autocannon's per-response
// timings (sub-millisecond, 2xx responses only) instead of its histogram,
// which rounds to whole milliseconds: a p99 < 4 × p50 check needs better
// resolution than that when p50 is a few milliseconds.

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export type RequestFactory = () => RequestSpec;

export interface LoadResult {
  durationSec: number;
  /** Responses received, any status. */
  responses: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts (no response at all). */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** 2xx responses per second: error responses do not count as throughput. */
  reqPerSec: number;
  /** Percentiles of 2xx latencies in ms; null when there was no 2xx response. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[idx]! * 100) / 100;
}

class LatencyRecorder {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  record(ms: number) {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = ms;
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }
}

export async function runLoad(opts: {
  baseUrl: string;
  next: RequestFactory;
  connections: number;
  durationSec: number;
  /** Stop after this many requests instead of after durationSec (warm-ups). */
  amount?: number;
  /** Seconds before a request without a response counts as a timeout. */
  timeoutSec?: number;
}): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  const first = opts.next();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.baseUrl,
        connections: opts.connections,
        ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.durationSec }),
        timeout: opts.timeoutSec ?? 10,
        pipelining: 1,
        requests: [
          {
            method: first.method,
            path: first.path,
            setupRequest: (req) => {
              const spec = opts.next();
              return { ...req, method: spec.method, path: spec.path, headers: spec.headers ?? {}, body: spec.body ?? '' };
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.record(responseTime);
    });
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (stat as { count: number }).count;
  const responses = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);
  const sorted = latencies.sorted();
  const durationSec = result.duration || opts.durationSec;
  return {
    durationSec,
    responses,
    ok,
    non2xx: responses - ok,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    reqPerSec: Math.round((ok / durationSec) * 10) / 10,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
  };
}

export interface Probe {
  status: number | null;
  /** The start of the body, to show why a scenario fails (e.g. a 404 route). */
  body: string;
}

/** One request made before a scenario, to report what the endpoint answers. */
export async function probe(baseUrl: string, spec: RequestSpec): Promise<Probe> {
  try {
    const res = await fetch(`${baseUrl}${spec.path}`, {
      method: spec.method,
      headers: spec.headers,
      body: spec.body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: text.length > 300 ? `${text.slice(0, 300)}…` : text };
  } catch (err) {
    return { status: null, body: (err as Error).message };
  }
}
