/**
 * Request forms that one reader could take one way and another reader another way are
 * refused (src/server/request-guard.ts, src/server/batch.ts): a batch body with two
 * "entries" keys or a byte-order mark, a repeated query parameter, and a percent-encoded
 * or dot-segment path that the URL layers would normalise into a tile or entry path. Checked
 * in process (app.request) and over real sockets with raw request targets, through the
 * fast lane as `candor serve` runs it, and on the witness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import { fastLane } from '../../src/server/fast-lane.js';
import { checkRequestTarget } from '../../src/server/request-guard.js';
import { parseBatchBody } from '../../src/server/batch.js';
import { isLogError } from '../../src/util/errors.js';
import type { Log } from '../../src/log/log.js';
import { openTestLog, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { LOG_ORIGIN, openTestWitness, tempDir, writeWitnessKey } from '../witness/helpers.js';

const json = { 'Content-Type': 'application/json' };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

/** A GET with the request target sent byte for byte as given (no URL normalisation). */
function rawGet(url: string, target: string): Promise<{ status: number; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: target, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('request forms that normalise or repeat are refused', () => {
  let log: Log;
  let app: Hono;
  let server: Server;
  let url = '';

  beforeAll(async () => {
    ({ log } = await openTestLog());
    app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    const res = await app.request('/v1/entries/batch', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ entries: Array.from({ length: 3 }, (_, i) => b64(`entry ${i}`)) }),
    });
    expect(res.status).toBe(200);
    // As `candor serve` runs it: the fast lane in front of the app, on a real socket.
    server = createServer(fastLane({ log }, getRequestListener(app.fetch)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await log.drain();
  });

  it('refuses a batch with two "entries" keys, naming the key, and logs nothing', async () => {
    const body = `{"entries":["${b64('first')}"],"entries":["${b64('second')}"]}`;
    const res = await app.request('/v1/entries/batch', { method: 'POST', headers: json, body });
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.code).toBe('MALFORMED');
    expect(err.message).toMatch(/duplicate key "entries"/);
    expect(log.size).toBe(3);
  });

  it('refuses a batch body that starts with a byte-order mark', async () => {
    const text = JSON.stringify({ entries: [b64('bom')] });
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(text)]);
    const res = await app.request('/v1/entries/batch', { method: 'POST', headers: json, body });
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.code).toBe('MALFORMED');
    expect(err.message).toMatch(/byte-order mark/);
    // The same body without the mark is a good batch.
    expect(parseBatchBody(Buffer.from(text), 'application/json')).toHaveLength(1);
    expect(log.size).toBe(3);
  });

  it('refuses a repeated query parameter, in process and through the fast lane', async () => {
    const targets = [
      '/v1/proof/inclusion?index=1&index=2&size=3',
      '/v1/proof/inclusion?index=1&size=3&size=2',
      '/v1/proof/inclusion?size=3&leafHash=AA&leafHash=BB',
      '/v1/proof/consistency?from=1&to=3&from=2',
      '/v1/proof/bundle?index=1&size=3&index=0',
      '/v1/entries/0?x=1&x=1',
      '/checkpoint?a&a',
      '/v1/proof/inclusion?index=1&size=3&%69ndex=2', // "%69" is "i": the same name
    ];
    for (const t of targets) {
      const res = await app.request(t);
      expect(res.status, t).toBe(400);
      const err = await errorOf(res);
      expect(err.code, t).toBe('MALFORMED');
      expect(err.message, t).toMatch(/given twice or more/);
      const raw = await rawGet(url, t);
      expect(raw.status, t).toBe(400);
      expect(JSON.parse(raw.body.toString()).error.code, t).toBe('MALFORMED');
    }
    for (const wait of ['?wait=a&wait=b', '?wait=sequenced&wait=witnessed']) {
      const res = await app.request(`/v1/entries${wait}`, { method: 'POST', body: 'never logged' });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toMatch(/"wait" is given twice or more/);
    }
    expect(log.size).toBe(3);
    // Given once each, the same parameters answer.
    expect((await app.request('/v1/proof/inclusion?index=1&size=3')).status).toBe(200);
    expect((await rawGet(url, '/v1/proof/inclusion?size=3&index=1')).status).toBe(200);
  });

  it('serves tiles and entries only at their raw canonical paths', async () => {
    const good = await rawGet(url, '/tile/0/000.p/3');
    expect(good.status).toBe(200);
    expect(good.body.length).toBe(96);
    expect((await rawGet(url, '/tile/entries/000.p/3')).status).toBe(200);
    const aliases = [
      '/tile/0/%30%30%30.p/3',
      '/tile/%30/000.p/3',
      '/tile/0/000.p%2F3',
      '/tile/entries/%30%30%30.p/3',
      '/tile/0/x/../000.p/3',
      '/tile/./0/000.p/3',
      '/v1/entries/%31',
      '/%63heckpoint',
    ];
    for (const t of aliases) {
      // In process, Request's URL parser resolves dot segments before the app sees them
      // (only a real socket delivers them); percent-encoding it keeps.
      if (!t.includes('.')) {
        const inProcess = await app.request(t);
        expect(inProcess.status, t).toBe(404);
        expect((await errorOf(inProcess)).code, t).toBe('NOT_FOUND');
      }
      const raw = await rawGet(url, t);
      expect(raw.status, t).toBe(404);
      expect(JSON.parse(raw.body.toString()).error.code, t).toBe('NOT_FOUND');
    }
  });

  it('checkRequestTarget: the rules on their own', () => {
    const code = (t: string): string | undefined => {
      try {
        checkRequestTarget(t);
        return undefined;
      } catch (err) {
        return isLogError(err) ? err.code : 'OTHER';
      }
    };
    expect(code('/tile/0/000')).toBeUndefined();
    expect(code('/v1/search?model=a&env=b')).toBeUndefined();
    expect(code('/v1/proof/inclusion?index=1&size=2#index=3')).toBeUndefined();
    expect(code('/tile/0/000%')).toBe('NOT_FOUND');
    expect(code('/a/../b')).toBe('NOT_FOUND');
    expect(code('/x?a=1&b=2&a=3')).toBe('MALFORMED');
    expect(code('/x?a+b=1&a%20b=2')).toBe('MALFORMED');
    expect(code('/x?%E0%A4%A=1')).toBe('MALFORMED');
  });

  it('the witness matches its paths raw too and refuses repeated parameters', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeWitnessKey(dir);
      const w = await openTestWitness(dir);
      try {
        const hash = Buffer.from(
          await crypto.subtle.digest('SHA-256', new TextEncoder().encode(LOG_ORIGIN))
        ).toString('hex');
        // Nothing cosigned yet: the plain path is a 404 of the handler, saying so.
        const plain = await w.app.request(`/${hash}/checkpoint`);
        expect(plain.status).toBe(404);
        expect((await errorOf(plain)).message).toMatch(/cosigned no checkpoint/);
        const server = createServer(getRequestListener(w.app.fetch));
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
        const wurl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        try {
          for (const t of [`/${hash}/%63heckpoint`, `/${hash}/x/../checkpoint`, '/v1/%73tatus', '/%68ealthz']) {
            const res = await rawGet(wurl, t);
            expect(res.status, t).toBe(404);
            expect(JSON.parse(res.body.toString()).error.message, t).toMatch(/matched as sent/);
          }
          expect((await rawGet(wurl, '/healthz')).status).toBe(200);
        } finally {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
        }
        const twice = await w.app.request('/v1/status?a=1&a=2');
        expect(twice.status).toBe(400);
        expect((await errorOf(twice)).code).toBe('MALFORMED');
        expect((await w.app.request('/v1/status?a=1')).status).toBe(200);
      } finally {
        await w.close();
      }
    } finally {
      await cleanup();
    }
  });
});
