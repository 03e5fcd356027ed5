/**
 * The HTTP ceilings: a trivial POST handler that reads the body and answers a small JSON
 * object, on the Hono stack (Hono on @hono/node-server, the reference) or, with
 * `--raw`, on node:http alone (the stack candor's fast lane answers its busiest requests
 * on). Prints its URL, then serves until SIGTERM.
 */
import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

const raw = process.argv.includes('--raw');
const say = (port: number): void => console.log(`trivial server on http://127.0.0.1:${port}`);
let close: (done: () => void) => void;
if (raw) {
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      const body = JSON.stringify({ ok: true, bytes });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => say((server.address() as AddressInfo).port));
  close = (done) => server.close(done);
} else {
  const app = new Hono();
  app.post('/v1/entries', async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    return c.json({ ok: true, bytes: body.length });
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => say(info.port));
  close = (done) => server.close(() => done());
}
process.once('SIGTERM', () => close(() => process.exit(0)));
