/**
 * The load generator for the witness benchmark (child process), on raw keep-alive sockets
 * so that it needs little CPU on a machine it shares with the witness. Connection i takes
 * origin i of `--bodies` (bench/witness-setup.ts) and sends that origin's add-checkpoint
 * bodies one after another, each waiting for the previous answer: a witness cosigns a log's
 * checkpoints in order, so one connection per log is how logs push in practice.
 *
 * Bounded by `--amount` requests in all and `--duration` seconds, to 127.0.0.1 only. Prints
 * one JSON line: {requests, ok, non2xx, errors, timeouts, seconds, okPerSecond, p50, p90,
 * p99, max} (latencies in ms), like bench/peers/load.mjs.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { flags, num } from './common.js';

const f = flags(process.argv.slice(2));
const url = f.get('url') ?? '';
const m = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(url);
if (m === null) throw new Error('--url must be http://127.0.0.1:<port>: load tests target this machine only');
const port = Number(m[1]);
const bodiesFile = f.get('bodies');
if (bodiesFile === undefined) throw new Error('--bodies is required');
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8')) as string[][];
const connections = num(f, 'connections', 64);
const amount = num(f, 'amount', 10_000);
const deadline = performance.now() + num(f, 'duration', 10) * 1000;

const latencies: number[] = [];
let sent = 0;
let ok = 0;
let non2xx = 0;
let errors = 0;
let last = 0;
const t0 = performance.now();

function request(body: string): Buffer {
  const b = Buffer.from(body);
  const head = `POST /add-checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${b.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), b]);
}

/** Sends one origin's bodies in order over one socket; resolves when done or bounded. */
function drive(origin: number): Promise<void> {
  const queue = bodies[origin % bodies.length]!.map(request);
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let k = 0;
    let started = 0;
    let buf: Buffer = Buffer.alloc(0);
    const next = (): void => {
      if (k >= queue.length || sent >= amount || performance.now() >= deadline) {
        socket.end();
        resolve();
        return;
      }
      sent++;
      started = performance.now();
      socket.write(queue[k++]!);
    };
    socket.on('connect', next);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      buf = buf.subarray(end + 4 + length);
      const now = performance.now();
      latencies.push(now - started);
      last = now;
      if (head.startsWith('HTTP/1.1 2')) ok++;
      else non2xx++;
      next();
    });
    socket.on('error', () => {
      errors++;
      resolve();
    });
  });
}

await Promise.all(Array.from({ length: connections }, (_, i) => drive(i)));
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const seconds = (last - t0) / 1000;
console.log(
  JSON.stringify({
    generator: 'raw sockets (bench/witness-load.ts)',
    requests: latencies.length,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    seconds,
    okPerSecond: ok / seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: latencies[latencies.length - 1] ?? 0,
  })
);
