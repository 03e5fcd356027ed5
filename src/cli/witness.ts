/**
 * `candor witness`: run a witness daemon, make or show its key, or clear its alerts.
 *
 *   candor witness --data DIR --name NAME --log ORIGIN=VKEY[@URL] ... [--peer VKEY@URL ...]
 *                  [--host H] [--port N] [--poll MS] [--gossip MS] [--on-alert CMD]
 *   candor witness keygen --data DIR --name NAME
 *   candor witness key --data DIR
 *   candor witness clear-alert --data DIR --origin ORIGIN [--url URL]
 *
 * keygen creates DIR/witness.key before the first start and prints its verifier key on
 * stdout; key prints the verifier key of an existing DIR/witness.key. So witnesses that
 * gossip with each other, and the log that uses them, can be configured before any starts.
 *
 * On start it prints `witness verifier key: <vkey>` and
 * `candor witness "<name>" serving on http://host:port`; SIGINT or SIGTERM stops it
 * cleanly. Exit codes: 0 success, 1 the operation failed, 2 bad usage.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { validateKeyName } from '../note/keys.js';
import { parseLogSpec, parsePeerSpec, parseUrlPrefix, type LogConfig, type PeerConfig } from '../witness/config.js';
import {
  createWitnessKey,
  loadAdminToken,
  readUrlFile,
  readWitnessKey,
  witnessPaths,
  witnessVerifierKey,
} from '../witness/files.js';
import { startWitness } from '../witness/main.js';
import { HTTP_LIMIT_OPTIONS, httpLimitFlags, httpLimitUsage } from './http-limit-flags.js';
import { WitnessStore, WitnessStoreLocked } from '../witness/witness-store.js';

/** Usage text of `candor witness`. */
export const WITNESS_USAGE = `usage: candor witness --data DIR --name NAME --log ORIGIN=VKEY[@URL] ... [flags]
       candor witness keygen --data DIR --name NAME
       candor witness key --data DIR
       candor witness clear-alert --data DIR --origin ORIGIN [--url URL]

  --data DIR          data directory: witness.key, admin.token, db/ (created on first start)
  --name NAME         the witness's key name, e.g. witness.example/w1
  --log ORIGIN=VKEY[@URL]
                      a log to witness: its origin, its Ed25519 verifier key and, for pull
                      mode and gossip checks, its tlog-tiles URL; repeatable
  --peer VKEY@URL     a peer witness (its cosignature verifier key) to gossip with; repeatable
  --host H            listen address (default 127.0.0.1)
  --port N            listen port (default 8081; 0 picks a free one)
  --poll MS           pull each log every MS milliseconds (default 1000; 0: never)
  --gossip MS         gossip with peers every MS milliseconds (default 2000; 0: never)
  --on-alert CMD      run /bin/sh -c CMD on each alert, with the alert JSON on stdin and
                      CANDOR_ALERT_ORIGIN, CANDOR_ALERT_KIND in the environment
  connection limits, as for candor serve (docs/http-limits.md):
${httpLimitUsage(2, false)}
keygen creates DIR/witness.key (mode 0600; never replaces one) before the first start and
prints its verifier key; key prints the verifier key of DIR/witness.key. Give each witness
the others' keys (--peer) and the log all of them (candor serve --witness) before starting.
clear-alert lifts the halt on ORIGIN after an alert, with the token in DIR/admin.token:
over HTTP at --url (or the URL the running witness recorded), or directly in DIR/db when
the witness is not running.
`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

/** Runs `candor witness ARGS`; resolves with the exit code (after a signal, for the daemon). */
export async function witnessCommand(args: string[]): Promise<number> {
  try {
    if (args[0] === 'clear-alert') return await clearAlertCommand(args.slice(1));
    if (args[0] === 'keygen') return await keygenCommand(args.slice(1));
    if (args[0] === 'key') return await keyCommand(args.slice(1));
    if (args[0] === 'help' || args.includes('--help') || args.includes('-h')) {
      process.stdout.write(WITNESS_USAGE);
      return 0;
    }
    return await runCommand(args);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`candor witness: ${(err as Error).message}\n\n${WITNESS_USAGE}`);
      return EXIT_USAGE;
    }
    const message = isLogError(err) || err instanceof Error ? err.message : String(err);
    console.error(`candor witness: ${message}`);
    return EXIT_FAILED;
  }
}

function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDecimal(value, name);
  } catch {
    throw new UsageError(`${name} must be a non-negative whole number, got "${value}"`);
  }
}

function usage<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
}

/** The parseArgs options of `candor witness`. */
export const WITNESS_OPTIONS = {
  data: { type: 'string' },
  name: { type: 'string' },
  log: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  poll: { type: 'string' },
  gossip: { type: 'string' },
  'on-alert': { type: 'string' },
  ...HTTP_LIMIT_OPTIONS,
} as const;

async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: WITNESS_OPTIONS,
    strict: true,
  });
  const httpLimits = httpLimitFlags(values, undefined, (message) => new UsageError(message));
  if (values.data === undefined || values.name === undefined) throw new UsageError('--data and --name are required');
  usage('--name', () => validateKeyName(values.name!));
  if (values.log === undefined || values.log.length === 0) throw new UsageError('at least one --log is required');
  const logs: LogConfig[] = values.log.map((spec) => usage('--log', () => parseLogSpec(spec)));
  const peers: PeerConfig[] = (values.peer ?? []).map((spec) => usage('--peer', () => parsePeerSpec(spec)));
  const port = intFlag(values.port, '--port', 8081);
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  const running = await startWitness({
    dataDir: values.data,
    name: values.name,
    logs,
    peers,
    host: values.host ?? '127.0.0.1',
    port,
    pollMs: intFlag(values.poll, '--poll', 1000),
    gossipMs: intFlag(values.gossip, '--gossip', 2000),
    ...(values['on-alert'] === undefined ? {} : { onAlert: values['on-alert'] }),
    httpLimits,
    say: (line) => console.log(line),
    warn: (line) => console.error(line),
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      console.log(`candor witness: ${signal}: closing`);
      running.close().then(resolve, (err: unknown) => {
        console.error('candor witness: error while closing:', err);
        process.exitCode = EXIT_FAILED;
        resolve();
      });
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
  return 0;
}

function wantsHelp(args: string[]): boolean {
  if (!args.includes('--help') && !args.includes('-h')) return false;
  process.stdout.write(WITNESS_USAGE);
  return true;
}

/** The parseArgs options of `candor witness keygen`. */
export const WITNESS_KEYGEN_OPTIONS = { data: { type: 'string' }, name: { type: 'string' } } as const;

async function keygenCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) return 0;
  const { values, positionals } = parseArgs({
    args,
    options: WITNESS_KEYGEN_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.data === undefined || values.name === undefined) throw new UsageError('keygen needs --data DIR and --name NAME');
  usage('--name', () => validateKeyName(values.name!));
  const signerKey = await createWitnessKey(values.data, values.name);
  console.error(`created witness key ${witnessPaths(values.data).key} (mode 0600); keep it secret and back it up`);
  console.log(witnessVerifierKey(signerKey));
  return 0;
}

/** The parseArgs options of `candor witness key`. */
export const WITNESS_KEY_OPTIONS = { data: { type: 'string' } } as const;

async function keyCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) return 0;
  const { values, positionals } = parseArgs({
    args,
    options: WITNESS_KEY_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.data === undefined) throw new UsageError('key needs --data DIR');
  console.log(witnessVerifierKey(await readWitnessKey(values.data)));
  return 0;
}

/** The parseArgs options of `candor witness clear-alert`. */
export const WITNESS_CLEAR_ALERT_OPTIONS = { data: { type: 'string' }, origin: { type: 'string' }, url: { type: 'string' } } as const;

async function clearAlertCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: WITNESS_CLEAR_ALERT_OPTIONS,
    strict: true,
  });
  if (values.data === undefined || values.origin === undefined) {
    throw new UsageError('clear-alert needs --data DIR and --origin ORIGIN');
  }
  const token = await loadAdminToken(values.data, false);
  let url = values.url === undefined ? undefined : usage('--url', () => parseUrlPrefix(values.url!));
  if (url === undefined) {
    const db = witnessPaths(values.data).db;
    if (!existsSync(db)) throw new Error(`${values.data} holds no witness state`);
    const store = new WitnessStore(db);
    try {
      await store.open();
    } catch (err) {
      if (!(err instanceof WitnessStoreLocked)) throw err;
      url = await readUrlFile(values.data);
      if (url === undefined) throw new Error(`the witness is running; pass --url`);
    }
    if (url === undefined) {
      try {
        const cleared = await store.clear(values.origin, new Date().toISOString());
        console.log(JSON.stringify({ origin: values.origin, cleared, halted: false }));
        return 0;
      } finally {
        await store.close();
      }
    }
  }
  const res = await fetch(`${url}/v1/alerts/clear`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ origin: values.origin }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) {
    console.error(`candor witness: HTTP ${res.status}: ${text.trim()}`);
    return EXIT_FAILED;
  }
  console.log(text.trim());
  return 0;
}
