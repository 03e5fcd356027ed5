/**
 * `candor monitor`: follows a log, verifies every checkpoint (policy: log signature and
 * witness quorum; consistency with the last one) and every new entry (against authenticated
 * tiles), prints each new entry as one JSON line, and raises alerts with evidence.
 *
 *   candor monitor --policy FILE --state DIR [--url URL] [--origin ORIGIN]
 *                  [--once] [--interval S] [--json-alerts]
 *   candor monitor reset --state DIR [--keep-checkpoint]
 *
 * Without --once it polls every --interval seconds (default 60) until SIGINT or SIGTERM,
 * then exits 0. With --once it polls once (retrying network errors) and exits with
 * MONITOR_EXIT: 0 ok, 1 error, 2 usage, 3 unreachable, 4 bad signature, 5 quorum not met,
 * 6 bad tiles, 7 rollback, 8 inconsistent. docs/monitor.md has the formats.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePolicy, type Policy } from '../client/policy.js';
import type { FetchFn } from '../client/tile-reader.js';
import { MONITOR_EXIT } from '../monitor/alerts.js';
import { Monitor } from '../monitor/monitor.js';
import type { ProgressSink } from '../monitor/options.js';
import { ProgressBar } from '../monitor/progress.js';
import { FileStateStore } from '../monitor/state.js';
import { useNodeCrypto } from '../server/node-crypto.js';

/** The synopsis of `candor monitor`. */
export const MONITOR_SYNOPSIS =
  'candor monitor --policy FILE --state DIR [--url URL] [--origin ORIGIN] [--once]\n' +
  '               [--interval S] [--json-alerts]\n' +
  '       candor monitor reset --state DIR [--keep-checkpoint]';

/** The lines for `candor monitor` in the dispatcher's command list (indented like it). */
export const MONITOR_USAGE =
  '  monitor     follow a log, verify every checkpoint and entry, print each new entry as\n' +
  '              a JSON line, alert with evidence (docs/monitor.md):\n' +
  '              --policy FILE --state DIR [--url URL] [--origin ORIGIN] [--once]\n' +
  '              [--interval S (default 60)] [--json-alerts (alerts on stdout too)]\n' +
  '              after an alert: candor monitor reset --state DIR [--keep-checkpoint]\n' +
  '              (--once exit 0 ok, 3 unreachable, 4 bad signature, 5 quorum not met,\n' +
  '              6 bad tiles, 7 rollback, 8 inconsistent, 1 error, 2 usage)\n';

/** How monitorCommand talks to the world (replaceable in tests). */
export interface MonitorIo {
  /** Standard output; resolves once the text was handed to the OS. */
  out(text: string): Promise<void>;
  err(text: string): void;
  readFile(path: string): Promise<Uint8Array>;
  now(): number;
  fetch?: FetchFn;
  /** Catch-up progress; default a bar on stderr when it is a terminal. */
  progress?: ProgressSink;
  /** Calls `stop` on SIGINT/SIGTERM; returns a function that removes the handlers. */
  onSignal(stop: () => void): () => void;
  /** Delay between retries after network errors (first one); default 1000 ms. */
  backoffMs?: number;
}

function nodeIo(): MonitorIo {
  const bar = new ProgressBar(process.stderr);
  process.stdout.on('error', () => {}); // a closed pipe fails the write, reported below
  return {
    out: (text) =>
      new Promise((resolve, reject) => {
        process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
      }),
    err: (text) => {
      bar.clear();
      process.stderr.write(text);
    },
    readFile: async (p) => new Uint8Array(await readFile(p)),
    now: Date.now,
    progress: bar,
    onSignal: (stop) => {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return () => {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      };
    },
  };
}

class Usage extends Error {}

function parseInterval(text: string | undefined): number {
  if (text === undefined) return 60_000;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0 || Number(text) > 86_400) {
    throw new Usage(`--interval must be a number of seconds above 0 (at most 86400), got "${text}"`);
  }
  return Math.max(1, Math.round(Number(text) * 1000));
}

/**
 * Runs `candor monitor` with the arguments after `monitor`; resolves with the exit code (see
 * the module comment). Never exits the process.
 */
export async function monitorCommand(args: string[], io: MonitorIo = nodeIo()): Promise<number> {
  try {
    if (args.includes('--help') || args.includes('-h')) {
      await io.out(`usage: ${MONITOR_SYNOPSIS}\n(see docs/monitor.md)\n`);
      return MONITOR_EXIT.OK;
    }
    if (args[0] === 'reset') return await resetCommand(args.slice(1), io);
    return await follow(args, io);
  } catch (err) {
    if (err instanceof Usage || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`candor monitor: ${(err as Error).message}\nusage: ${MONITOR_SYNOPSIS}\n`);
      return MONITOR_EXIT.USAGE;
    }
    io.err(`candor monitor: ${err instanceof Error ? err.message : String(err)}\n`);
    return MONITOR_EXIT.ERROR;
  }
}

async function follow(args: string[], io: MonitorIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      policy: { type: 'string' },
      state: { type: 'string' },
      url: { type: 'string' },
      origin: { type: 'string' },
      once: { type: 'boolean' },
      interval: { type: 'string' },
      'json-alerts': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Usage(`unexpected argument "${positionals[0]}"`);
  if (values.policy === undefined || values.state === undefined) {
    throw new Usage('--policy and --state are required');
  }
  const intervalMs = parseInterval(values.interval);
  let policy: Policy;
  try {
    policy = parsePolicy(await io.readFile(values.policy));
  } catch (err) {
    throw new Error(`${values.policy}: ${(err as Error).message}`);
  }
  const url = values.url;
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) throw new Usage(`--url must be an http(s) URL`);
  useNodeCrypto();
  const store = await FileStateStore.open(values.state);
  const stop = new AbortController();
  const removeHandlers = io.onSignal(() => stop.abort());
  try {
    let monitor: Monitor;
    try {
      monitor = await Monitor.open({
        policy,
        store,
        out: io.out,
        err: io.err,
        now: io.now,
        intervalMs,
        jsonAlerts: values['json-alerts'] === true,
        ...(io.progress === undefined ? {} : { progress: io.progress }),
        ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
        ...(io.backoffMs === undefined ? {} : { backoffMs: io.backoffMs }),
        ...(url === undefined ? {} : { url }),
        ...(values.origin === undefined ? {} : { origin: values.origin }),
      });
    } catch (err) {
      if (err instanceof TypeError) throw new Usage(err.message);
      throw err;
    }
    if (values.once === true) {
      const code = await monitor.once(stop.signal);
      if (stop.signal.aborted) io.err('candor monitor: interrupted; progress saved\n');
      return code;
    }
    await monitor.run(stop.signal);
    return MONITOR_EXIT.OK;
  } finally {
    removeHandlers();
    await store.close();
  }
}

async function resetCommand(args: string[], io: MonitorIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { state: { type: 'string' }, 'keep-checkpoint': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Usage(`unexpected argument "${positionals[0]}"`);
  if (values.state === undefined) throw new Usage('reset needs --state DIR');
  const store = await FileStateStore.open(values.state);
  try {
    const keep = values['keep-checkpoint'] === true;
    const archived = await store.reset(keep, io.now());
    if (archived === undefined) {
      io.err(`candor monitor: ${values.state} holds no state; nothing to reset\n`);
    } else if (keep) {
      io.err(
        `candor monitor: alerts cleared; the trusted checkpoint is kept (the old state is in ` +
          `${archived})\n`
      );
    } else {
      io.err(
        `candor monitor: state reset; the next run starts from entry 0 of the log as it is ` +
          `then (the old state, with its evidence, is in ${archived})\n`
      );
    }
    return MONITOR_EXIT.OK;
  } finally {
    await store.close();
  }
}
