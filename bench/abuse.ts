/**
 * `npm run abuse`: the abuse findings of issue 10 (item 3) reproduced at full size against
 * a real `candor serve` process on 127.0.0.1 with its default limits, one fresh server per
 * finding. For each it prints the server's RSS before, at its peak during and 3 s after the
 * attack, its open file descriptors at their peak, and whether other clients were served
 * meanwhile: a /checkpoint every 200 ms on a new connection each, and one on a keep-alive
 * connection opened before the attack. Never part of `npm test`.
 *
 * Every attack is bounded: a fixed number of connections (at most 1,100), a fixed size, and
 * a fixed duration of a few seconds each; about two minutes in all. Needs Linux (/proc, and
 * 127.0.0.0/8 all on the loopback for several client addresses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..'); // dist-bench/bench -> repository
const cli = join(root, 'dist-bench', 'src', 'cli', 'main.js');

interface Server {
  proc: ChildProcess;
  port: number;
  dir: string;
}

async function startServer(): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'candor-abuse-'));
  const proc = spawn(process.execPath, [cli, 'serve', '--data', dir, '--port', '0', '--origin', 'abuse.example/log'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 15_000);
    const check = (): void => {
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
  });
  return { proc, port, dir };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  await rm(s.dir, { recursive: true, force: true });
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Math.round(Number(m[1]) / 1024);
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One request, on a connection of its own unless `agent` (a keep-alive one) is given;
 * resolves with the status, or 0 on a failure.
 */
function get(
  port: number,
  path: string,
  opts: { method?: string; body?: Buffer; type?: string; localAddress?: string; agent?: Agent } = {}
): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        agent: opts.agent ?? false,
        timeout: 3000,
        headers: opts.type === undefined ? {} : { 'Content-Type': opts.type },
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolveStatus(res.statusCode ?? 0));
        res.on('error', () => resolveStatus(0));
      }
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(0));
    req.end(opts.body);
  });
}

/** Fills the log with one full entry bundle of 256 entries of 65,535 bytes (16 MiB). */
async function populate(port: number): Promise<void> {
  for (let half = 0; half < 2; half++) {
    const parts: Buffer[] = [];
    for (let i = 0; i < 128; i++) {
      const entry = Buffer.alloc(65_537, (half * 128 + i) % 251);
      entry.writeUInt16BE(65_535, 0);
      entry.write(`entry ${half * 128 + i} `, 2);
      parts.push(entry);
    }
    const status = await get(port, '/v1/entries/batch', { method: 'POST', body: Buffer.concat(parts), type: 'application/octet-stream' });
    if (status !== 200) throw new Error(`populating failed: HTTP ${status}`);
  }
}

function raw(port: number, localAddress?: string): Socket {
  const s = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) });
  s.on('error', () => {});
  return s;
}

interface Row {
  finding: string;
  before: number;
  peak: number;
  after: number;
  peakFds: number;
  served: string;
  kept: string;
  note: string;
}

/**
 * Runs `attack` against a fresh server for `seconds`, sampling RSS and descriptors every
 * 100 ms and a good client's /checkpoint every 200 ms, then `cleanup`, and RSS 3 s later.
 */
async function scenario(
  finding: string,
  seconds: number,
  attack: (s: Server) => Promise<{ cleanup: () => void; note: () => Promise<string> }>,
  goodClient: (port: number) => Promise<number> = (port) => get(port, '/checkpoint')
): Promise<Row> {
  const s = await startServer();
  try {
    await populate(s.port);
    await sleep(1000);
    const pid = s.proc.pid!;
    const before = rssMb(pid);
    let peak = before;
    let peakFds = fds(pid);
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        peak = Math.max(peak, rssMb(pid));
        peakFds = Math.max(peakFds, fds(pid));
        await sleep(100);
      }
    })();
    let ok = 0;
    let failed = 0;
    // A client whose keep-alive connection was open before the attack began.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let keptOk = 0;
    let keptFailed = 0;
    if ((await get(s.port, '/checkpoint', { agent })) !== 200) throw new Error('the keep-alive client failed');
    const { cleanup, note } = await attack(s);
    const good = (async () => {
      while (!stop) {
        if ((await goodClient(s.port)) === 200) ok++;
        else failed++;
        if ((await get(s.port, '/checkpoint', { agent })) === 200) keptOk++;
        else keptFailed++;
        await sleep(200);
      }
    })();
    await sleep(seconds * 1000);
    const text = await note();
    stop = true;
    await Promise.all([sampler, good]);
    cleanup();
    agent.destroy();
    await sleep(3000);
    const after = rssMb(pid);
    return { finding, before, peak, after, peakFds, served: `${ok} ok, ${failed} failed`, kept: `${keptOk} ok, ${keptFailed} failed`, note: text };
  } finally {
    await stopServer(s);
  }
}

async function metrics(port: number, names: string[]): Promise<string> {
  const text = await new Promise<string>((resolveText) => {
    // From an address of its own: the attacks may hold 127.0.0.1's per-address share.
    request({ host: '127.0.0.1', port, path: '/metrics', agent: false, localAddress: '127.0.0.99' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolveText(body));
    })
      .on('error', () => resolveText(''))
      .end();
  });
  return text
    .split('\n')
    .filter((l) => names.some((n) => l.startsWith(n)))
    .map((l) => l.replace('candor_http_', ''))
    .join(', ');
}

const rows: Row[] = [];
const log = (line: string): void => {
  process.stderr.write(`abuse: ${line}\n`);
};

log('1/6 100 pipelined GET /tile/entries/000 on one socket that never reads');
rows.push(
  await scenario('100 pipelined bundle GETs, never read', 6, async (s) => {
    const sock = raw(s.port);
    sock.pause();
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(100));
    return {
      cleanup: () => sock.destroy(),
      note: () => metrics(s.port, ['candor_http_pipeline_overflows_total', 'candor_http_write_timeouts_total']),
    };
  })
);

log('2/6 100 connections each sending a 16 MiB batch body minus one byte');
rows.push(
  await scenario('100 × 16 MiB batch bodies minus 1 byte', 8, async (s) => {
    const socks: Socket[] = [];
    const length = 16 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 100; i++) {
      const sock = raw(s.port);
      socks.push(sock);
      sock.on('data', () => {});
      sock.once('connect', () => {
        sock.write(`POST /v1/entries/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
        for (let k = 0; k < 15; k++) sock.write(chunk);
        sock.write(chunk.subarray(0, chunk.length - 1));
      });
    }
    return {
      cleanup: () => socks.forEach((k) => k.destroy()),
      note: async () => {
        const open = socks.filter((k) => !k.destroyed).length;
        return `${open} of 100 still open after 8 s; ` + (await metrics(s.port, ['candor_http_upload_pushbacks_total']));
      },
    };
  })
);

log('3/6 50 clients each requesting the 16 MiB bundle and never reading');
rows.push(
  await scenario('50 × 16 MiB bundle GET, never read', 14, async (s) => {
    const socks: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const sock = raw(s.port);
      sock.pause();
      socks.push(sock);
      sock.once('connect', () => sock.write('GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n'));
    }
    return {
      cleanup: () => socks.forEach((k) => k.destroy()),
      note: () => metrics(s.port, ['candor_http_write_timeouts_total', 'candor_http_write_budget_drops_total', 'candor_http_connections ']),
    };
  })
);

log('4/6 1,100 idle connections from 11 addresses (127.0.0.2-12), good clients on new connections');
rows.push(
  await scenario(
    '1,100 idle connections (11 addresses)',
    8,
    async (s) => {
      const socks: Socket[] = [];
      for (let i = 0; i < 1100; i++) socks.push(raw(s.port, `127.0.0.${2 + (i % 11)}`));
      await sleep(500);
      return {
        cleanup: () => socks.forEach((k) => k.destroy()),
        note: () => metrics(s.port, ['candor_http_connections_rejected_total']),
      };
    },
    (port) => get(port, '/checkpoint', { localAddress: '127.0.0.1' })
  )
);

log('5/6 1,100 idle connections from 127.0.0.1, a good client from 127.0.0.20');
rows.push(
  await scenario(
    '1,100 idle connections (1 address)',
    4,
    async (s) => {
      const socks: Socket[] = [];
      for (let i = 0; i < 1100; i++) socks.push(raw(s.port, '127.0.0.1'));
      await sleep(500);
      return {
        cleanup: () => socks.forEach((k) => k.destroy()),
        note: () => metrics(s.port, ['candor_http_connections_rejected_total']),
      };
    },
    (port) => get(port, '/checkpoint', { localAddress: '127.0.0.20' })
  )
);

log('6/6 400 single-entry POSTs declaring 65,535 bytes and sending none, from 4 addresses');
rows.push(
  await scenario('400 × Content-Length 65,535, no body', 4, async (s) => {
    const socks: Socket[] = [];
    for (let i = 0; i < 400; i++) {
      const sock = raw(s.port, `127.0.0.${30 + (i % 4)}`);
      socks.push(sock);
      sock.once('connect', () => sock.write('POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 65535\r\n\r\n'));
    }
    return {
      cleanup: () => socks.forEach((k) => k.destroy()),
      note: () => metrics(s.port, ['candor_http_connections ']),
    };
  })
);

const table = [
  '| finding | RSS before | peak | after | peak fds | others, new connections | others, kept-alive | notes |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.finding} | ${r.before} MB | ${r.peak} MB | ${r.after} MB | ${r.peakFds} | ${r.served} | ${r.kept} | ${r.note} |`
  ),
];
process.stdout.write(table.join('\n') + '\n');
