/**
 * The HTTP ceiling: a trivial Hono POST handler on @hono/node-server, the same stack candor
 * serves with, that reads the body and answers a small JSON object. Prints its URL, then
 * serves until SIGTERM.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

const app = new Hono();
app.post('/v1/entries', async (c) => {
  const body = new Uint8Array(await c.req.arrayBuffer());
  return c.json({ ok: true, bytes: body.length });
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
  console.log(`trivial server on http://127.0.0.1:${info.port}`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
