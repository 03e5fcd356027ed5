/**
 * Shared pieces for the monitor tests: in-process candor logs (all signed with the one test
 * key, so two of them are two histories under the same key) behind an injected fetch that
 * records every request and can go down, lie or serve another log; output capture; and
 * monitors over real state directories.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import type { Log } from '../../src/log/log.js';
import { Monitor, type MonitorOptions } from '../../src/monitor/monitor.js';
import { FileStateStore, parseState, type MonitorState, type StateStore } from '../../src/monitor/state.js';
import type { MonitorAlert } from '../../src/monitor/alerts.js';
import { openTestLog, makeEntry, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { now } from '../client/fixtures.js';

export { now, TEST_VERIFIER_KEY, makeEntry };
export const BASE = 'http://log.test';
export const POLICY = `log ${TEST_VERIFIER_KEY} ${BASE}\nquorum none\n`;

/** A log with entries `make(0..count-1)` and its app. */
export async function servedLog(
  count: number,
  make: (i: number) => Uint8Array = makeEntry
): Promise<{ log: Log; app: Hono; entries: Uint8Array[] }> {
  const { log } = await openTestLog();
  const entries: Uint8Array[] = [];
  await grow(log, entries, count, make);
  return { log, app: createApp({ log, verifierKey: TEST_VERIFIER_KEY }), entries };
}

/** Appends entries make(entries.length …) until the log has `size`, in one batch. */
export async function grow(
  log: Log,
  entries: Uint8Array[],
  size: number,
  make: (i: number) => Uint8Array = makeEntry
): Promise<void> {
  const more = Array.from({ length: size - entries.length }, (_, k) => make(entries.length + k));
  if (more.length > 0) await log.addMany(more);
  entries.push(...more);
}

type Tamper = (path: string, body: Uint8Array) => Uint8Array | string | undefined;

/** The network between monitor and log: records paths, fails or lies on demand. */
export class Net {
  requests: string[] = [];
  /** The next `down` requests fail like a refused connection. */
  down = 0;
  /** The next `busy` requests answer 503. */
  busy = 0;
  tamper: Tamper | undefined;
  /** Requests for which this says true fail like a refused connection. */
  unreachable: ((path: string) => boolean) | undefined;

  constructor(public app: Hono) {}

  readonly fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    const path = url.slice(BASE.length);
    this.requests.push(path);
    if (this.down > 0 || this.unreachable?.(path) === true) {
      if (this.down > 0) this.down--;
      throw new TypeError('fetch failed: connect ECONNREFUSED');
    }
    if (this.busy > 0) {
      this.busy--;
      return new Response('busy', { status: 503 });
    }
    const res = await this.app.request(url, init);
    if (this.tamper === undefined || res.status !== 200) return res;
    const body = new Uint8Array(await res.arrayBuffer());
    const changed = this.tamper(path, body);
    const out = typeof changed === 'string' ? changed : new Uint8Array(changed ?? body);
    return new Response(out, { status: 200, headers: res.headers });
  };

  /** Requests since the last reset whose path starts with `prefix`. */
  count(prefix: string): number {
    return this.requests.filter((p) => p.startsWith(prefix)).length;
  }

  reset(): void {
    this.requests = [];
  }
}

/** Everything a monitor wrote. */
export class Output {
  out: string[] = [];
  err: string[] = [];
  readonly sinks = {
    out: (t: string): void => void this.out.push(t),
    err: (t: string): void => void this.err.push(t),
  };

  private lines(which: string[]): Record<string, unknown>[] {
    return which
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Entry lines on stdout, parsed. */
  entries(): { index: number; entry: string; leafHash: string; checkpointSize: number; json?: unknown }[] {
    return this.lines(this.out).filter((o) => o.type === 'entry') as never;
  }

  checkpoints(): { size: number; rootHash: string; note: string }[] {
    return this.lines(this.out).filter((o) => o.type === 'checkpoint') as never;
  }

  /** Alert lines on stderr, parsed. */
  alerts(): MonitorAlert[] {
    return this.lines(this.err) as unknown as MonitorAlert[];
  }

  warnings(): string[] {
    return this.err.filter((l) => l.startsWith('candor monitor: warning:'));
  }

  clear(): void {
    this.out = [];
    this.err = [];
  }
}

/** A temporary state directory, removed by the returned cleanup. */
export async function stateDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'candor-monitor-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A monitor over `dir` talking to `net`; sleeps are recorded, not waited. */
export async function openMonitor(
  net: Net,
  dir: string,
  extra: Partial<MonitorOptions> & { wrapStore?: (s: StateStore) => StateStore } = {}
): Promise<{ monitor: Monitor; output: Output; sleeps: number[] }> {
  const output = new Output();
  const sleeps: number[] = [];
  const { wrapStore, ...options } = extra;
  const store = await FileStateStore.open(dir);
  const monitor = await Monitor.open({
    policy: POLICY,
    store: wrapStore === undefined ? store : wrapStore(store),
    fetch: net.fetch,
    now,
    sleep: async (ms) => void sleeps.push(ms),
    ...output.sinks,
    ...options,
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  return { monitor, output, sleeps };
}

/** The saved state.json of `dir` (read directly: the monitor may hold the lock). */
export async function savedState(dir: string): Promise<MonitorState | undefined> {
  try {
    return parseState(await readFile(join(dir, 'state.json'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
