/**
 * The fast lane (src/server/fast-lane.ts) must be invisible: two identical logs (same key,
 * same clock), one served through the fast lane and one by the Hono app alone, answer the
 * same sequence of requests with the same status, headers and bytes, errors included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../src/server/app.js';
import { fastLane } from '../../src/server/fast-lane.js';
import type { Log } from '../../src/log/log.js';
import { openTestLog, TEST_VERIFIER_KEY } from '../helpers/test-log.js';

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

const HEADERS = ['content-type', 'content-length', 'cache-control', 'retry-after', 'allow'];

async function serve(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('fast lane', () => {
  const servers: Server[] = [];
  let plain = '';
  let fast = '';
  let plainSlow = '';
  let fastSlow = '';
  /** Requests the fast lane handed to the app, as "METHOD path". */
  const handedOver: string[] = [];

  beforeAll(async () => {
    // Two pairs of identical logs (same key, same clock): one pair with a small queue and
    // a long batch age, for pushback.
    const pair = async (opts: { queueMax?: number; batchAgeMs?: number }): Promise<[string, string]> => {
      const open = async (): Promise<Log> => (await openTestLog(undefined, { now: () => 1_700_000_000_000, ...opts })).log;
      const [a, b] = [await open(), await open()];
      const s1 = await serve(getRequestListener(createApp({ log: a, verifierKey: TEST_VERIFIER_KEY }).fetch));
      const app = getRequestListener(createApp({ log: b, verifierKey: TEST_VERIFIER_KEY }).fetch);
      const s2 = await serve(
        fastLane({ log: b }, (req, res) => {
          handedOver.push(`${req.method} ${req.url}`);
          void app(req, res);
        })
      );
      servers.push(s1.server, s2.server);
      return [s1.url, s2.url];
    };
    [plain, fast] = await pair({});
    [plainSlow, fastSlow] = await pair({ queueMax: 2, batchAgeMs: 300 });
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  async function ask(base: string, path: string, init?: RequestInit): Promise<Answer> {
    const res = await fetch(base + path, init);
    const headers: Record<string, string | null> = {};
    for (const h of HEADERS) headers[h] = res.headers.get(h);
    return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()).toString('base64') };
  }
  const both = async (path: string, init?: () => RequestInit): Promise<Answer> => {
    const a = await ask(plain, path, init?.());
    const b = await ask(fast, path, init?.());
    expect(b, `${init?.().method ?? 'GET'} ${path}`).toEqual(a);
    return a;
  };
  const post = (body: Uint8Array<ArrayBuffer> | string) => (): RequestInit => ({ method: 'POST', body });

  it('answers every kind of request exactly as the app does', async () => {
    expect((await both('/checkpoint')).status).toBe(200);
    expect((await both('/v1/entries', post('first entry'))).status).toBe(200);
    expect((await both('/v1/entries', post('first entry'))).status).toBe(200); // duplicate
    for (let i = 0; i < 5; i++) await both('/v1/entries', post(`entry ${i}`));
    expect((await both('/v1/entries', post(''))).status).toBe(400);
    expect((await both('/v1/entries', post(new Uint8Array(65536)))).status).toBe(413);
    expect((await both('/v1/entries', post(new Uint8Array(65535).fill(7)))).status).toBe(200);
    expect((await both('/v1/entries?wait=sequenced', post('with a query'))).status).toBe(200);
    expect((await both('/v1/entries?wait=witnessed', post('no witnesses'))).status).toBe(400);
    const chunked = (): RequestInit => ({
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('sent in chunks'));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect((await both('/v1/entries', chunked)).status).toBe(200);
    expect((await both('/checkpoint')).body).not.toBe('');
    for (const path of [
      '/tile/0/000.p/9',
      '/tile/entries/000.p/9',
      '/tile/entries/000.p/3',
      '/tile/0/000',
      '/tile/1/000.p/1',
      '/tile/0/x001',
      '/tile/0/000.p/0',
      '/tile/entries/000.p/10',
      '/tile/0/001.p/1',
      '/v1/proof/inclusion?index=0&size=9',
      '/v1/proof/inclusion?size=9&index=8',
      '/v1/proof/inclusion?index=3&size=3',
      '/v1/proof/inclusion?index=0&size=1',
      '/v1/proof/inclusion?index=01&size=9',
      '/v1/proof/inclusion?index=0&size=99',
      '/v1/proof/inclusion?index=0&size=9&x=1',
      '/v1/proof/inclusion?index=-1&size=9',
      '/v1/proof/inclusion?index=99999999999999999&size=9',
      '/v1/proof/inclusion?index=0',
    ]) {
      await both(path);
    }
    expect((await both('/checkpoint', () => ({ method: 'HEAD' }))).status).toBe(200);
    expect((await both('/checkpoint', () => ({ method: 'DELETE' }))).status).toBe(405);
    expect((await both('/v1/entries', () => ({ method: 'GET' }))).status).toBe(405);
    // The fast lane answered the plain requests itself and handed over the rest, errors of
    // GETs included.
    expect(handedOver).toEqual([
      'POST /v1/entries?wait=sequenced',
      'POST /v1/entries?wait=witnessed',
      'POST /v1/entries',
      'GET /tile/0/000',
      'GET /tile/1/000.p/1',
      'GET /tile/0/x001',
      'GET /tile/0/000.p/0',
      'GET /tile/entries/000.p/10',
      'GET /tile/0/001.p/1',
      'GET /v1/proof/inclusion?index=3&size=3',
      'GET /v1/proof/inclusion?index=01&size=9',
      'GET /v1/proof/inclusion?index=0&size=99',
      'GET /v1/proof/inclusion?index=0&size=9&x=1',
      'GET /v1/proof/inclusion?index=-1&size=9',
      'GET /v1/proof/inclusion?index=99999999999999999&size=9',
      'GET /v1/proof/inclusion?index=0',
      'HEAD /checkpoint',
      'DELETE /checkpoint',
      'GET /v1/entries',
    ]);
  });

  it('pushes back the same way when the queue is full', async () => {
    // queueMax 2 and a 300 ms batch age: the third of three concurrent entries is refused.
    const burst = async (base: string): Promise<Answer[]> =>
      Promise.all(['q1', 'q2', 'q3'].map((e) => ask(base, '/v1/entries', { method: 'POST', body: e })));
    const a = await burst(plainSlow);
    const b = await burst(fastSlow);
    expect(a.map((x) => x.status).sort()).toEqual([200, 200, 503]);
    expect(b).toEqual(a);
    expect(a.find((x) => x.status === 503)!.headers['retry-after']).toBe('1');
  });
});
