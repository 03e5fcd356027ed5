/**
 * Connection handling for candor's HTTP servers (the log and the witness): bounded memory
 * and sockets whatever clients do. One module so that both daemons get the same rules.
 *
 * What it enforces, and with what:
 * - Header and request deadlines (Node's own, exact): complete headers within
 *   `headerTimeoutMs` of a connection's or request's first byte, the whole request, body
 *   included, within `requestTimeoutMs`; otherwise Node answers 408 and closes. Node checks
 *   them every `connectionsCheckingInterval`, which is set well below the deadlines.
 * - Keep-alive idle timeout (Node's `keepAliveTimeout`): an idle connection closes after
 *   `idleTimeoutMs`.
 * - One request at a time per connection: a pipelined request waits, unparsed work only,
 *   until the answer before it has been handed to the kernel ('finish'), and the socket
 *   stops being read meanwhile. More than `maxPipelined` waiting requests close the
 *   connection. So a client that sends 100 requests and never reads holds one answer.
 * - Slow readers dropped: an answer with bytes waiting for the kernel that makes no
 *   progress for `writeTimeoutMs` closes its connection (progress counted per byte, as
 *   nginx's send_timeout does: a slow but reading client is not cut off). And all answers'
 *   bytes waiting in sockets are held to `writeBudgetBytes`: over it, new requests wait and
 *   the connections stalled longest are closed, so many clients that request 16 MiB
 *   bundles and never read cannot hold 16 MiB each until their timeouts.
 * - Connection caps: `maxConnections` overall (Node's `server.maxConnections`, which closes
 *   a new connection at once) and `maxConnectionsPerIp` per client address (IPv6 grouped
 *   by /64, which one client usually holds whole); over a cap a new connection is closed at
 *   once and existing clients go on being served.
 * - Upload budget: request bodies are reserved, before a byte of them is read, against
 *   `uploadBudgetBytes` (their declared length, or their route's largest body when they
 *   are chunked); a request the budget cannot take gets 503 PUSHBACK with Retry-After and
 *   its connection closes, its body unread. Node delivers a body in chunks as they arrive,
 *   so nothing is allocated by a declared length.
 * - Client aborts: a request whose connection closes before its answer is complete is
 *   counted as aborted, never as a response (see aborted.ts).
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { errorBody, RETRY_AFTER_SECONDS } from './errors.js';
import type { HttpLimits } from './http-limits-config.js';

export { defaultHttpLimits, resolveHttpLimits, type HttpLimits } from './http-limits-config.js';

/** Counters of what the guard refused or cut off, for /metrics. */
export interface HttpLimitStats {
  open: number;
  uploadBytesReserved: number;
  rejectedGlobal: number;
  rejectedPerIp: number;
  writeTimeouts: number;
  writeBudgetDrops: number;
  pipelineOverflows: number;
  uploadPushbacks: number;
  aborted: number;
}

/** What `createLimitedServer` needs besides the limits. */
export interface LimitedServerOptions {
  /**
   * The largest body the request's route accepts (its own limit answers 413 beyond it):
   * what a chunked body reserves from the upload budget, and the most a declared length
   * reserves.
   */
  maxBodyBytes: (req: IncomingMessage) => number;
  /** Called for each answer the guard itself sends (503 PUSHBACK). */
  countResponse?: (status: number) => void;
}

/** An http.Server with the guard in place, and its counters. */
export interface LimitedServer {
  server: Server;
  limits: HttpLimits;
  stats(): HttpLimitStats;
  /** The counters in the Prometheus text format (candor_http_* lines). */
  renderMetrics(): string;
}

interface Connection {
  socket: Socket;
  key: string;
  /** The answer being produced or written; undefined when the connection is between requests. */
  busy: ServerResponse | undefined;
  waiting: Array<[IncomingMessage, ServerResponse]>;
  /** What the write watchdog saw last: bytes waiting, libuv's queue, and since when. */
  lastPending: number;
  lastQueue: number;
  stalledSince: number;
  /** Reading stopped here for waiting requests (resumed only then: resume() is not free). */
  paused: boolean;
}

/**
 * Creates (does not listen) an http.Server that answers with `listener` under `limits`
 * (see the module comment). Listen with `server.listen()`; `server.close()` stops the
 * watchdog timer with the server.
 */
export function createLimitedServer(
  listener: RequestListener,
  limits: HttpLimits,
  options: LimitedServerOptions
): LimitedServer {
  // Node's header and request deadlines are checked every `check` ms; the watchdog (write
  // progress and budget) runs every 100 ms, a loop over at most maxConnections entries.
  const check = Math.max(50, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4)));
  const tick = Math.min(100, check);
  const server = createServer(
    {
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      connectionsCheckingInterval: check,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => onRequest(req, res)
  );
  server.maxHeadersCount = 100;
  server.maxConnections = limits.maxConnections;
  server.timeout = 0; // the deadlines above and the write watchdog replace the socket timeout

  const stats: HttpLimitStats = {
    open: 0,
    uploadBytesReserved: 0,
    rejectedGlobal: 0,
    rejectedPerIp: 0,
    writeTimeouts: 0,
    writeBudgetDrops: 0,
    pipelineOverflows: 0,
    uploadPushbacks: 0,
    aborted: 0,
  };
  const connections = new Map<Socket, Connection>();
  const perKey = new Map<string, number>();

  // Node closes connections over maxConnections before 'connection'; count them.
  server.on('drop', () => stats.rejectedGlobal++);
  // Prepended, so that a refused socket is closed before node:http sets it up.
  server.prependListener('connection', (socket: Socket) => {
    const key = clientKey(socket.remoteAddress ?? '');
    const count = perKey.get(key) ?? 0;
    if (limits.maxConnectionsPerIp > 0 && count >= limits.maxConnectionsPerIp) {
      stats.rejectedPerIp++;
      socket.destroy();
      return;
    }
    perKey.set(key, count + 1);
    stats.open++;
    const conn: Connection = {
      socket,
      key,
      busy: undefined,
      waiting: [],
      lastPending: 0,
      lastQueue: 0,
      stalledSince: 0,
      paused: false,
    };
    connections.set(socket, conn);
    socket.once('close', () => {
      connections.delete(socket);
      stats.open--;
      const left = (perKey.get(key) ?? 1) - 1;
      if (left === 0) perKey.delete(key);
      else perKey.set(key, left);
      // Requests that waited behind a dead connection are never answered, nor counted.
      conn.waiting.length = 0;
    });
  });

  // Answer bytes waiting in sockets at the latest tick; over the write budget, requests wait
  // in `held` (one at a time per connection already) until a tick finds room.
  let pendingTotal = 0;
  const held: Array<() => void> = [];

  // One timer for every connection: cheap at the connection cap, and unref'd.
  const watchdog = setInterval(() => watch(Date.now()), tick);
  watchdog.unref();
  server.once('close', () => clearInterval(watchdog));

  function watch(now: number): void {
    let total = 0;
    const stalled: Connection[] = [];
    for (const conn of connections.values()) {
      const { socket } = conn;
      const pending = socket.writableLength;
      if (conn.busy === undefined || pending === 0 || socket.destroyed) {
        conn.stalledSince = 0;
        continue;
      }
      // libuv's queue shrinks with every partial write; writableLength with each completed one.
      const handle = (socket as unknown as { _handle?: { writeQueueSize?: number } })._handle;
      const queue = handle?.writeQueueSize ?? 0;
      if (conn.stalledSince === 0 || pending !== conn.lastPending || queue !== conn.lastQueue) {
        conn.lastPending = pending;
        conn.lastQueue = queue;
        conn.stalledSince = now;
      } else if (now - conn.stalledSince >= limits.writeTimeoutMs) {
        stats.writeTimeouts++;
        socket.destroy();
        continue;
      } else {
        stalled.push(conn);
      }
      total += pending;
    }
    if (total > limits.writeBudgetBytes) {
      // Over the budget: close the connections stalled longest until it holds. Clients that
      // read, however slowly, are not among them (their stall clock restarts).
      stalled.sort((a, b) => a.stalledSince - b.stalledSince);
      for (const conn of stalled) {
        if (total <= limits.writeBudgetBytes) break;
        total -= conn.socket.writableLength;
        stats.writeBudgetDrops++;
        conn.socket.destroy();
      }
    }
    pendingTotal = total;
    while (pendingTotal <= limits.writeBudgetBytes && held.length > 0) held.shift()!();
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const conn = connections.get(req.socket);
    if (conn === undefined || conn.socket.destroyed) {
      // Refused or already closed: nothing can be answered on it.
      req.socket.destroy();
      return;
    }
    if (conn.busy !== undefined) {
      if (conn.waiting.length >= limits.maxPipelined) {
        stats.pipelineOverflows++;
        conn.socket.destroy();
        return;
      }
      // Read no further requests until the answers before this one are out.
      conn.waiting.push([req, res]);
      conn.paused = true;
      conn.socket.pause();
      return;
    }
    start(conn, req, res);
  }

  /** Runs a request now, or once the write budget has room (the next tick that finds it). */
  function start(conn: Connection, req: IncomingMessage, res: ServerResponse): void {
    if (pendingTotal <= limits.writeBudgetBytes) {
      run(conn, req, res);
      return;
    }
    conn.busy = res; // later requests on this connection queue behind it meanwhile
    held.push(() => {
      if (!conn.socket.destroyed) run(conn, req, res);
    });
  }

  function run(conn: Connection, req: IncomingMessage, res: ServerResponse): void {
    conn.busy = res;
    let done = false;
    // 'finish' on a live socket: the whole answer is in the kernel's hands. Node also
    // emits 'finish' when a socket is destroyed under a pending write, and writableFinished
    // turns true for an ended answer once its dead socket is detached: neither tells.
    let delivered = false;
    const finished = (): void => {
      if (done) return;
      done = true;
      if (!delivered) stats.aborted++;
      conn.busy = undefined;
      const next = conn.waiting.shift();
      if (conn.socket.destroyed) return;
      if (next !== undefined) {
        // Unwind first: the next answer starts on a fresh stack.
        conn.busy = next[1]; // its turn: nothing may start before it
        setImmediate(() => {
          if (conn.socket.destroyed) return;
          start(conn, next[0], next[1]);
        });
      } else if (conn.paused) {
        conn.paused = false;
        conn.socket.resume();
      }
    };
    // Plain listeners: each answer is used once, and `once` wrappers cost on every request.
    res.on('finish', () => {
      delivered = !conn.socket.destroyed;
      finished();
    });
    res.on('close', finished);
    // An ended answer's bytes count against the write budget at once, not at the next tick
    // (which recomputes the total), so that a burst of large answers shuts the gate sooner.
    res.on('prefinish', () => {
      if (!conn.socket.destroyed) pendingTotal += conn.socket.writableLength;
    });
    const reserve = reservation(req);
    if (reserve > 0) {
      if (stats.uploadBytesReserved + reserve > limits.uploadBudgetBytes) {
        pushback(req, res);
        return;
      }
      stats.uploadBytesReserved += reserve;
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        stats.uploadBytesReserved -= reserve;
      };
      // The body is in memory once read; what the handler keeps of it is its own business.
      req.once('end', release);
      req.once('close', release);
      res.once('close', release);
    }
    listener(req, res);
  }

  /** Bytes a request's body reserves: its declared length, or its route's largest body. */
  function reservation(req: IncomingMessage): number {
    const { headers } = req;
    if (headers['transfer-encoding'] !== undefined) return options.maxBodyBytes(req);
    const declared = headers['content-length'];
    if (declared === undefined) return 0;
    const length = Number(declared);
    return Number.isFinite(length) && length > 0 ? Math.min(length, options.maxBodyBytes(req)) : 0;
  }

  function pushback(req: IncomingMessage, res: ServerResponse): void {
    stats.uploadPushbacks++;
    const body = JSON.stringify(
      errorBody('PUSHBACK', 'too many uploads in progress; retry after the time in Retry-After')
    );
    res.shouldKeepAlive = false;
    res.writeHead(503, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Retry-After': String(RETRY_AFTER_SECONDS),
      Connection: 'close',
    });
    res.end(body);
    options.countResponse?.(503);
    // The body stays unread; whatever of it arrives before the close is discarded, not
    // kept. A short linger lets the client read the 503 before the close (closing with
    // unread input sends a reset, which can discard the answer on the client's side).
    req.resume();
    const linger = setTimeout(() => req.socket.destroy(), 1000);
    linger.unref();
    req.socket.once('close', () => clearTimeout(linger));
  }

  return {
    server,
    limits,
    stats: () => ({ ...stats }),
    renderMetrics: () => renderLimitMetrics(stats),
  };
}

/**
 * The address that connection caps count per: the IPv4 address (IPv4-mapped IPv6 as
 * IPv4), or an IPv6 address's /64 prefix.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = address.includes('::')
    ? [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':') + '::/64';
}

function renderLimitMetrics(s: HttpLimitStats): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: string[]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const one = (name: string, type: string, help: string, value: number): void =>
    metric(name, type, help, [`${name} ${value}`]);
  one('candor_http_connections', 'gauge', 'Open HTTP connections.', s.open);
  one(
    'candor_http_upload_bytes_reserved',
    'gauge',
    'Request body bytes reserved from the upload budget.',
    s.uploadBytesReserved
  );
  metric('candor_http_connections_rejected_total', 'counter', 'Connections closed at once over a cap.', [
    `candor_http_connections_rejected_total{cap="global"} ${s.rejectedGlobal}`,
    `candor_http_connections_rejected_total{cap="per_ip"} ${s.rejectedPerIp}`,
  ]);
  const timeouts = 'Connections closed because their answer stopped draining.';
  one('candor_http_write_timeouts_total', 'counter', timeouts, s.writeTimeouts);
  const drops = 'Stalled connections closed over the write budget.';
  one('candor_http_write_budget_drops_total', 'counter', drops, s.writeBudgetDrops);
  const overflows = 'Connections closed for pipelining too many requests.';
  one('candor_http_pipeline_overflows_total', 'counter', overflows, s.pipelineOverflows);
  const pushbacks = 'Requests refused 503 because the upload budget was full.';
  one('candor_http_upload_pushbacks_total', 'counter', pushbacks, s.uploadPushbacks);
  const aborted = 'Requests whose answer was never completed: the client disconnected or timed out.';
  one('candor_http_requests_aborted_total', 'counter', aborted, s.aborted);
  return lines.join('\n') + '\n';
}
