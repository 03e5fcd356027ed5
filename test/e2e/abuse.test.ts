/**
 * Hostile and broken clients against the real server process on 127.0.0.1: garbage
 * bytes, lying Content-Length headers, bodies cut off mid-way, oversized bodies, floods of
 * concurrent bad requests. The process must stay up, keep answering good clients, and its
 * stored log must stay exactly what good clients submitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { checkServedLog } from '../helpers/check-log.js';

/** Sends raw bytes on a fresh connection, optionally closing early; resolves with what came back. */
function raw(url: string, data: string | Buffer, closeAfterWrite = false): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let got = '';
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
    sock.write(data, () => {
      if (closeAfterWrite) sock.destroy();
      else sock.end();
    });
  });
}

describe('hostile clients', () => {
  let dir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-abuse-'));
    // Every client here, good or hostile, is 127.0.0.1 and the flood opens hundreds of
    // connections at once: the per-address cap is lifted (test/e2e/http-limits.test.ts
    // tests it, with clients on several addresses).
    server = await startServerProcess(dir, ['--origin', 'abuse.example/log', '--max-connections-per-ip', '0']);
  });
  afterAll(async () => {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('survives garbage, truncation and floods, and logs only what good clients sent', async () => {
    const url = server.url;
    const good: string[] = [];
    const submitGood = async (i: number): Promise<void> => {
      const body = `good entry ${i}`;
      const res = await fetch(`${url}/v1/entries`, { method: 'POST', body });
      expect(res.status).toBe(200);
      good.push(body);
    };
    await submitGood(0);

    const attacks: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      attacks.push(raw(url, '\x00\x01\x02 garbage that is not HTTP\r\n\r\n'));
      // Content-Length promises more than is sent, then the client vanishes.
      attacks.push(raw(url, 'POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial', true));
      // A chunked body that is cut off mid-chunk.
      attacks.push(raw(url, 'POST /v1/entries HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\nabc', true));
      // A body far beyond the entry limit, announced honestly.
      attacks.push(fetch(`${url}/v1/entries`, { method: 'POST', body: Buffer.alloc(200_000, 1) }).then((r) => expect(r.status).toBe(413)));
      // The same, but streamed without a length.
      attacks.push(
        fetch(`${url}/v1/entries`, {
          method: 'POST',
          body: new ReadableStream({
            start(c) {
              for (let k = 0; k < 10; k++) c.enqueue(new Uint8Array(10_000));
              c.close();
            },
          }),
          duplex: 'half',
        } as RequestInit).then((r) => expect(r.status).toBe(413))
      );
      attacks.push(fetch(`${url}/v1/entries`, { method: 'POST' }).then((r) => expect(r.status).toBe(400)));
      attacks.push(fetch(`${url}/tile/0/${'x999/'.repeat(200)}000`).then((r) => expect(r.status).toBe(400)));
      attacks.push(fetch(`${url}/v1/proof/inclusion?index=${'9'.repeat(500)}&size=1`).then((r) => expect(r.status).toBe(400)));
      attacks.push(fetch(`${url}/v1/entries/batch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"entries": [' }).then((r) => expect(r.status).toBe(400)));
      attacks.push(fetch(`${url}/%zz%`).then((r) => expect(r.status).toBeGreaterThanOrEqual(400)));
      attacks.push(submitGood(i + 1));
    }
    await Promise.all(attacks);

    // Still healthy, and the log holds exactly the good entries.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const log = await checkServedLog((p) => fetch(url + p), server.verifierKey);
    expect(new Set(log.entries.map((e) => Buffer.from(e).toString()))).toEqual(new Set(good));
    expect(log.size).toBe(good.length);
  });
});
