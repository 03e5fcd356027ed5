/**
 * Raw TCP clients for connection-limit tests: a socket that sends exactly the bytes it is
 * given and reads (or does not read) its answers, and a /metrics reader.
 */
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';

/** A raw connection and what has happened on it. */
export interface RawConnection {
  socket: Socket;
  /** The bytes received so far, as latin1 text. */
  received(): string;
  /** Resolves when the connection closes: after how many ms from its opening. */
  closed: Promise<number>;
  /** Resolves once the connection is established. */
  connected: Promise<void>;
}

/**
 * Opens a connection to `url`'s host and port, from `localAddress` when given (any of
 * 127.0.0.0/8 is this machine on Linux, so tests can be several clients). With
 * `read: false` nothing is read from it until `socket.resume()`: answers pile up unread.
 */
export function openRaw(url: string, opts: { localAddress?: string; read?: boolean } = {}): RawConnection {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  const socket = connect({ port: Number(port), host: hostname, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  // Not reading (until socket.resume()): the kernel's receive buffer fills and the
  // server's writes stall. Such a client sees no close either until it reads.
  if (opts.read === false) socket.pause();
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  connected.catch(() => {});
  return { socket, received: () => got, closed, connected };
}

/** Resolves with `promise`'s value, or rejects after `ms` with `what` in the message. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    );
  });
}

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on a connection of its own, closed after the answer (no pooled keep-alive). */
export function send(
  url: string,
  path: string,
  init: { method?: string; body?: Buffer; localAddress?: string; headers?: Record<string, string> } = {}
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = {
      method: init.method ?? 'GET',
      agent: false,
      headers: init.headers ?? {},
      ...(init.localAddress ? { localAddress: init.localAddress } : {}),
    };
    const req = request(`${url}${path}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The value of one sample of the server's /metrics (`name` with its labels), or 0. */
export async function metric(url: string, sample: string): Promise<number> {
  const text = (await send(url, '/metrics')).body.toString();
  for (const line of text.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/**
 * Resolves once the server holds at most `count` connections besides the one asking
 * (candor_http_connections), polling every 50 ms; rejects after `ms`. A client that does
 * not read cannot see its connection close, but the server's count can.
 */
export async function serverConnectionsAtMost(url: string, count: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = (await metric(url, 'candor_http_connections')) - 1;
    if (open <= count) return;
    if (Date.now() > deadline) throw new Error(`the server still holds ${open} connections after ${ms} ms`);
    await sleep(50);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
