/**
 * Bounded memory and sockets under abuse (issue 10, item 3), against real `candor serve`
 * and `candor witness` processes on 127.0.0.1 with raw sockets, one test per finding:
 * pipelined requests on a socket that never reads, a client that never reads a large
 * bundle, unfinished and trickling bodies, concurrent large uploads, idle connections,
 * the per-address and overall connection caps, and client aborts (not a 500). Timeouts
 * are configured small so that the tests are quick; the RSS figures at full size come
 * from `npm run abuse` (scripts/abuse.ts), not from here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCandor, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { makeWitnessIdentity, startWitnessProcess, type WitnessIdentity, type WitnessProcess } from '../helpers/witness-process.js';
import { metric, openRaw, send, serverConnectionsAtMost, sleep, within, type RawConnection } from '../helpers/raw-socket.js';
import { generateSignerKey } from '../../src/note/keys.js';

/** A batch body (application/octet-stream: uint16 length, bytes) of `count` entries of `size` bytes. */
function bundleBatch(count: number, size: number, tag: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const entry = Buffer.alloc(size, i % 251);
    entry.write(`${tag} ${i} `);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(size);
    parts.push(length, entry);
  }
  return Buffer.concat(parts);
}

const BATCH_HEAD = (length: number): string =>
  `POST /v1/entries/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

/** Other clients keep being answered while `hostile` is open: a /checkpoint every 100 ms. */
async function othersServed(url: string, until: Promise<unknown>): Promise<number> {
  let served = 0;
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const answer = await send(url, '/checkpoint');
    expect(answer.status).toBe(200);
    served++;
    await sleep(100);
  }
  return served;
}

describe('the log server under abuse (small configured limits)', () => {
  let dir: string;
  let server: ServerProcess;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-limits-'));
    server = await startServerProcess(dir, [
      '--origin', 'limits.example/log',
      '--header-timeout', '1000',
      '--request-timeout', '2000',
      '--idle-timeout', '1000',
      '--write-timeout', '1000',
      '--upload-budget', String(20 * 1024 * 1024),
      '--max-pipelined', '16',
    ]);
    url = server.url;
    // One full entry bundle of about 15 MiB: 256 entries of 60,000 bytes.
    const answer = await send(url, '/v1/entries/batch', {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bundleBatch(256, 60_000, 'big'),
    });
    expect(answer.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes at once a socket that pipelines more requests than allowed, and serves others', async () => {
    const before = await metric(url, 'candor_http_pipeline_overflows_total');
    await serverConnectionsAtMost(url, 0, 3000);
    const hostile = openRaw(url, { read: false });
    await hostile.connected;
    hostile.socket.write('GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100));
    await serverConnectionsAtMost(url, 0, 1000);
    expect(await metric(url, 'candor_http_pipeline_overflows_total')).toBe(before + 1);
    expect((await send(url, '/checkpoint')).status).toBe(200);
    // Reading now, the client finds its connection closed.
    hostile.socket.resume();
    await within(3000, hostile.closed, 'the pipelining socket closed');
  });

  it('drops a client that asks for a 15 MiB bundle and never reads, within the write timeout', async () => {
    const before = await metric(url, 'candor_http_write_timeouts_total');
    await serverConnectionsAtMost(url, 0, 3000);
    const hostile = openRaw(url, { read: false });
    await hostile.connected;
    // A few pipelined requests (within the limit): answered one at a time, so only the
    // first answer is ever produced while the client does not read.
    hostile.socket.write('GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(5));
    await sleep(200);
    expect(await metric(url, 'candor_http_connections')).toBe(2); // the hostile one and this one
    const served = await othersServed(url, serverConnectionsAtMost(url, 0, 6000));
    expect(served).toBeGreaterThan(0);
    expect(await metric(url, 'candor_http_write_timeouts_total')).toBe(before + 1);
    hostile.socket.resume();
    await within(3000, hostile.closed, 'the non-reading socket closed');
    // What it got before the close: a part of the first answer, none of the others.
    expect([...hostile.received().matchAll(/HTTP\/1\.1 200 /g)].length).toBeLessThanOrEqual(1);
  });

  it('answers pipelined requests of a reading client in order, one after the other', async () => {
    const client = openRaw(url);
    await client.connected;
    client.socket.write(
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /checkpoint HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    );
    await within(10_000, client.closed, 'the pipelined answers');
    const text = client.received();
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '200', '200', '200']);
    const types = [...text.matchAll(/Content-Type: ([^\r;]+)/gi)].map((m) => m[1]);
    expect(types).toEqual(['application/json', 'application/octet-stream', 'text/plain', 'application/octet-stream']);
    const bundle = (await send(url, '/tile/entries/000')).body.length;
    expect(bundle).toBe(256 * 60_002);
    expect(text.length).toBeGreaterThan(2 * bundle);
  });

  it('closes unfinished and trickling batch bodies at the request timeout, serving others', async () => {
    const hostile: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = openRaw(url);
      await c.connected;
      c.socket.write(BATCH_HEAD(1_000_000) + 'x'.repeat(1000));
      hostile.push(c);
    }
    // One more trickles a byte every 200 ms: still cut off at the request deadline.
    const trickle = openRaw(url);
    await trickle.connected;
    trickle.socket.write(BATCH_HEAD(1_000_000));
    const timer = setInterval(() => trickle.socket.write('x'), 200);
    try {
      const all = Promise.all([...hostile, trickle].map((c) => c.closed));
      await othersServed(url, within(6000, all, 'the unfinished bodies closed'));
    } finally {
      clearInterval(timer);
    }
    for (const c of [...hostile, trickle]) expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(await metric(url, 'candor_http_upload_bytes_reserved')).toBe(0);
  });

  it('refuses an upload beyond the budget with 503 PUSHBACK before reading its body', async () => {
    const holder = openRaw(url);
    await holder.connected;
    holder.socket.write(BATCH_HEAD(12 * 1024 * 1024) + 'x'.repeat(1000));
    for (let i = 0; i < 50 && (await metric(url, 'candor_http_upload_bytes_reserved')) === 0; i++) await sleep(20);
    expect(await metric(url, 'candor_http_upload_bytes_reserved')).toBe(12 * 1024 * 1024);
    const refused = openRaw(url);
    await refused.connected;
    refused.socket.write(BATCH_HEAD(12 * 1024 * 1024));
    await within(1500, refused.closed, 'the refused upload closed');
    const text = refused.received();
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(text).toContain('"code":"PUSHBACK"');
    // Small uploads still fit beside the one holding most of the budget.
    const small = await send(url, '/v1/entries/batch', {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bundleBatch(4, 100, 'small'),
    });
    expect(small.status).toBe(200);
    holder.socket.destroy();
    await holder.closed;
    for (let i = 0; i < 50 && (await metric(url, 'candor_http_upload_bytes_reserved')) !== 0; i++) await sleep(20);
    expect(await metric(url, 'candor_http_upload_bytes_reserved')).toBe(0);
  });

  it('closes a silent connection at the header timeout and an idle keep-alive one at the idle timeout', async () => {
    const silent = openRaw(url);
    await silent.connected;
    const idle = openRaw(url);
    await idle.connected;
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(4000, Promise.all([silent.closed, idle.closed]), 'the idle connections closed');
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('counts a client that hangs up mid-request as aborted, not as a 500, and logs no error', async () => {
    const before = await metric(url, 'candor_http_requests_aborted_total');
    const before400 = await metric(url, 'candor_http_responses_total{status="400"}');
    // A batch body (the Hono app) cut off half way.
    const batch = openRaw(url);
    await batch.connected;
    batch.socket.write(BATCH_HEAD(200_000) + 'x'.repeat(100_000));
    // A single entry (the fast lane) cut off half way.
    const entry = openRaw(url);
    await entry.connected;
    entry.socket.write('POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' + 'y'.repeat(500));
    // A bundle download broken off mid-way: the client reads nothing, so the kernel's
    // buffers take in the first 15 MiB answer whole but the second stalls; then it hangs up.
    const download = openRaw(url, { read: false });
    await download.connected;
    download.socket.write('GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2));
    await sleep(500);
    for (const c of [batch, entry, download]) c.socket.destroy();
    await Promise.all([batch.closed, entry.closed, download.closed]);
    for (let i = 0; i < 50 && (await metric(url, 'candor_http_requests_aborted_total')) < before + 3; i++) await sleep(20);
    expect(await metric(url, 'candor_http_requests_aborted_total')).toBe(before + 3);
    // Counted as aborted, and as no response at all: no 500, nor any other status.
    expect(await metric(url, 'candor_http_responses_total{status="500"}')).toBe(0);
    expect(await metric(url, 'candor_http_responses_total{status="400"}')).toBe(before400);
    expect(server.output()).not.toMatch(/unexpected error|prematurely closed|aborted a request|\n\s+at /);
  });
});

describe('the write budget (log server)', () => {
  let dir: string;
  let server: ServerProcess;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-wbudget-'));
    server = await startServerProcess(dir, [
      '--origin', 'wbudget.example/log',
      '--write-timeout', '60000',
      '--write-budget', String(1024 * 1024),
    ]);
    url = server.url;
    const answer = await send(url, '/v1/entries/batch', {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bundleBatch(256, 60_000, 'budget'),
    });
    expect(answer.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes the longest-stalled non-reading clients once their answers exceed it, long before the write timeout', async () => {
    const hostile: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = openRaw(url, { read: false });
      await c.connected;
      // The kernel's buffers may take in a first 15 MiB answer whole; the second stalls.
      c.socket.write('GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3));
      hostile.push(c);
    }
    await othersServed(url, serverConnectionsAtMost(url, 0, 10_000));
    expect(await metric(url, 'candor_http_write_budget_drops_total')).toBeGreaterThanOrEqual(1);
    expect(await metric(url, 'candor_http_write_timeouts_total')).toBe(0);
    expect((await send(url, '/tile/entries/000')).body.length).toBe(256 * 60_002);
  });
});

describe('connection caps (log server)', () => {
  let dir: string;
  let server: ServerProcess;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-caps-'));
    server = await startServerProcess(dir, [
      '--origin', 'caps.example/log',
      '--max-connections', '12',
      '--max-connections-per-ip', '4',
      '--header-timeout', '20000',
      '--request-timeout', '20000',
      '--idle-timeout', '20000',
    ]);
    url = server.url;
  }, 30_000);
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes connections over the per-address cap at once while other addresses are served', async () => {
    const held: RawConnection[] = [];
    for (let i = 0; i < 4; i++) {
      const c = openRaw(url, { localAddress: '127.0.0.2' });
      await c.connected;
      held.push(c);
    }
    const over = openRaw(url, { localAddress: '127.0.0.2' });
    await within(1000, over.closed, 'the fifth connection from 127.0.0.2 closed');
    expect(over.received()).toBe('');
    expect((await send(url, '/checkpoint', { localAddress: '127.0.0.1' })).status).toBe(200);
    // The held ones still work.
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 50 && !held[0]!.received().includes('"ok"'); i++) await sleep(20);
    expect(held[0]!.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(await metric(url, 'candor_http_connections_rejected_total{cap="per_ip"}')).toBe(1);
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
  });

  it('closes connections over the overall cap at once while existing clients keep being served', async () => {
    const mine = openRaw(url, { localAddress: '127.0.0.1' });
    await mine.connected;
    const held: RawConnection[] = [mine];
    for (let i = 0; held.length < 12; i++) {
      const c = openRaw(url, { localAddress: `127.0.0.${10 + (i % 4)}` });
      await c.connected;
      held.push(c);
    }
    await sleep(200); // every earlier connection of this test file is gone
    const over = openRaw(url, { localAddress: '127.0.0.20' });
    await within(1000, over.closed, 'the connection over the cap closed');
    expect(over.received()).toBe('');
    // An existing keep-alive connection is still answered, more than once.
    for (const path of ['/checkpoint', '/healthz']) {
      const at = mine.received().length;
      mine.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      for (let i = 0; i < 100 && !/\r\n\r\n[\s\S]+/.test(mine.received().slice(at)); i++) await sleep(20);
      expect(mine.received().slice(at)).toMatch(/^HTTP\/1\.1 200 /);
    }
    for (const c of held.slice(1)) c.socket.destroy();
    await Promise.all(held.slice(1).map((c) => c.closed));
    await sleep(100);
    expect((await send(url, '/checkpoint', { localAddress: '127.0.0.20' })).status).toBe(200);
    expect(await metric(url, 'candor_http_connections_rejected_total{cap="global"}')).toBeGreaterThanOrEqual(1);
    mine.socket.destroy();
  });
});

describe('the witness under abuse', () => {
  let root: string;
  let id: WitnessIdentity;
  let witness: WitnessProcess;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-wlimits-'));
    id = await makeWitnessIdentity(root, 'limits.example/witness');
    const log = generateSignerKey('limits.example/log');
    witness = await startWitnessProcess(id, [
      '--log', `limits.example/log=${log.verifierKey}`,
      '--poll', '0',
      '--gossip', '0',
      '--header-timeout', '1000',
      '--request-timeout', '2000',
      '--idle-timeout', '1000',
      '--max-connections-per-ip', '3',
      '--upload-budget', '100000',
    ]);
  }, 30_000);
  afterAll(async () => {
    await witness.stop();
    await rm(root, { recursive: true, force: true });
  });

  const ADD = (length: number): string =>
    `POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`;

  it('times out silent connections and unfinished bodies, and refuses uploads beyond its budget', async () => {
    const silent = openRaw(id.url);
    const holder = openRaw(id.url);
    await Promise.all([silent.connected, holder.connected]);
    holder.socket.write(ADD(65_536) + 'old 0\n');
    await sleep(200);
    const refused = openRaw(id.url);
    await refused.connected;
    refused.socket.write(ADD(65_536));
    await within(1500, refused.closed, 'the refused upload closed');
    expect(refused.received()).toMatch(/^HTTP\/1\.1 503 [\s\S]*Retry-After: 1[\s\S]*"PUSHBACK"/i);
    expect((await send(id.url, '/healthz')).status).toBe(200);
    await within(5000, Promise.all([silent.closed, holder.closed]), 'the silent and unfinished requests closed');
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(holder.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('caps connections per address and logs no error for a client that hangs up', async () => {
    const held: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = openRaw(id.url, { localAddress: '127.0.0.3' });
      await c.connected;
      held.push(c);
    }
    const over = openRaw(id.url, { localAddress: '127.0.0.3' });
    await within(1000, over.closed, 'the fourth connection from 127.0.0.3 closed');
    expect((await send(id.url, '/v1/status')).status).toBe(200);
    // Hang up half way through an add-checkpoint body.
    held[0]!.socket.write(ADD(2000) + 'old 0\n' + 'z'.repeat(500));
    await sleep(200);
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await sleep(200);
    expect(witness.output()).not.toMatch(/unexpected error|prematurely closed|aborted a request|\n\s+at /);
    expect((await send(id.url, '/healthz')).status).toBe(200);
  });
});

describe('limit flags', () => {
  it('refuses bad limit values with exit 2 and a message naming the flag, for serve and witness', async () => {
    const bad = await runCandor(['serve', '--data', '/nonexistent/never-created', '--write-timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--write-timeout must be a non-negative whole number, got "soon"');
    const order = await runCandor(['serve', '--header-timeout', '9000', '--request-timeout', '1000']);
    expect(order.code).toBe(2);
    expect(order.stderr).toContain('--header-timeout must not exceed --request-timeout');
    const env = await runCandor(['serve', '--data', '/nonexistent/never-created'], { CANDOR_MAX_CONNECTIONS: '0' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('--max-connections must be a whole number of at least 1');
    const log = generateSignerKey('flags.example/log');
    const witness = await runCandor([
      'witness', '--data', '/nonexistent/never-created', '--name', 'flags.example/w',
      '--log', `flags.example/log=${log.verifierKey}`, '--max-connections-per-ip=-1',
    ]);
    expect(witness.code).toBe(2);
    expect(witness.stderr).toContain('--max-connections-per-ip must be a non-negative whole number');
  });
});
