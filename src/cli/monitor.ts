/**
 * `candor monitor`: follows a log, verifies every checkpoint (policy: log signature and
 * witness quorum; consistency with the last one) and every new entry (against authenticated
 * tiles), prints each new entry as one JSON line, and raises alerts with evidence.
 *
 *   candor monitor --policy FILE --state DIR [--url URL] [--origin ORIGIN]
 *                  [--once] [--interval S] [--json-alerts]
 *                  [--submitters FILE [--rules FILE]]
 *   candor monitor reset --state DIR [--keep-checkpoint]
 *   candor monitor check-rules --rules FILE [--submitters FILE]
 *
 * Without --once it polls every --interval seconds (default 60) until SIGINT or SIGTERM,
 * then exits 0. With --once it polls once (retrying network errors) and exits with
 * MONITOR_EXIT: 0 ok, 1 error, 2 usage, 3 unreachable, 4 bad signature, 5 quorum not met,
 * 6 bad tiles, 7 rollback, 8 inconsistent, 9 rule alerts, 10 a rule alert undelivered.
 * --rules evaluates alert rules on every verified record (checked against --submitters,
 * the allowlist); --submitters alone turns on the built-in unverified-record rule.
 * docs/monitor.md has the formats.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePolicy, type Policy } from '../client/policy.js';
import type { FetchFn } from '../client/tile-reader.js';
import { MONITOR_EXIT } from '../monitor/alerts.js';
import { Monitor } from '../monitor/monitor.js';
import type { MonitorRules, ProgressSink } from '../monitor/options.js';
import { builtinRules, parseRulesFile, type Rule, type RulesConfig } from '../monitor/rules/file.js';
import { SubmitterRegistry, parseSubmitters, type SubmitterList } from '../governance/submitters.js';
import { isLogError } from '../util/errors.js';
import { ProgressBar } from '../monitor/progress.js';
import { FileStateStore } from '../monitor/state.js';
import { useNodeCrypto } from '../server/node-crypto.js';
import { usageMessage } from './help.js';

/** The synopsis of `candor monitor`. */
export const MONITOR_SYNOPSIS =
  'candor monitor --policy FILE --state DIR [--url URL] [--origin ORIGIN] [--once]\n' +
  '               [--interval S] [--json-alerts] [--submitters FILE [--rules FILE]]\n' +
  '       candor monitor reset --state DIR [--keep-checkpoint]\n' +
  '       candor monitor check-rules --rules FILE [--submitters FILE]';

/** The lines for `candor monitor` in the dispatcher's command list (indented like it). */
export const MONITOR_USAGE =
  '  monitor     follow a log, verify every checkpoint and entry, print each new entry as\n' +
  '              a JSON line, alert with evidence (docs/monitor.md):\n' +
  '              --policy FILE --state DIR [--url URL] [--origin ORIGIN] [--once]\n' +
  '              [--interval S (default 60)] [--json-alerts (alerts on stdout too)]\n' +
  '              [--submitters FILE (the allowlist) [--rules FILE (alert rules)]]\n' +
  '              after an alert: candor monitor reset --state DIR [--keep-checkpoint]\n' +
  '              check a rules file: candor monitor check-rules --rules FILE [--submitters FILE]\n' +
  '              (--once exit 0 ok, 3 unreachable, 4 bad signature, 5 quorum not met,\n' +
  '              6 bad tiles, 7 rollback, 8 inconsistent, 9 rule alerts, 10 a rule alert\n' +
  '              not delivered, 1 error, 2 usage)\n';

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
  /** Environment variables (the rules' urlEnv and secretEnv); default process.env. */
  env?: (name: string) => string | undefined;
  /** For webhook actions; default globalThis.fetch. */
  webhookFetch?: (url: string, init: RequestInit) => Promise<Response>;
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
    if (args[0] === 'check-rules') return await checkRulesCommand(args.slice(1), io);
    return await follow(args, io);
  } catch (err) {
    if (err instanceof Usage || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`candor monitor: ${usageMessage(err)}\nusage: ${MONITOR_SYNOPSIS}\n`);
      return MONITOR_EXIT.USAGE;
    }
    io.err(`candor monitor: ${err instanceof Error ? err.message : String(err)}\n`);
    return MONITOR_EXIT.ERROR;
  }
}

/** The parseArgs options of `candor monitor`. */
export const MONITOR_OPTIONS = {
  policy: { type: 'string' },
  state: { type: 'string' },
  url: { type: 'string' },
  origin: { type: 'string' },
  once: { type: 'boolean' },
  interval: { type: 'string' },
  'json-alerts': { type: 'boolean' },
  rules: { type: 'string' },
  submitters: { type: 'string' },
} as const;

async function follow(args: string[], io: MonitorIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: MONITOR_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Usage(`unexpected argument "${positionals[0]}"`);
  if (values.policy === undefined || values.state === undefined) {
    throw new Usage('--policy and --state are required');
  }
  if (values.rules !== undefined && values.submitters === undefined) {
    throw new Usage('--rules needs --submitters FILE: the allowlist that signatures and approvals are checked against');
  }
  const intervalMs = parseInterval(values.interval);
  let rules: MonitorRules | undefined;
  if (values.submitters !== undefined) {
    const registry = await openAllowlist(values.submitters);
    const config = values.rules === undefined ? builtinRules() : await readRules(values.rules, registry.current, io);
    rules = { config, submitters: registry, ...(io.webhookFetch === undefined ? {} : { fetch: io.webhookFetch }) };
  }
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
        ...(rules === undefined ? {} : { rules }),
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

/** The parseArgs options of `candor monitor reset`. */
export const MONITOR_RESET_OPTIONS = { state: { type: 'string' }, 'keep-checkpoint': { type: 'boolean' } } as const;

async function resetCommand(args: string[], io: MonitorIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: MONITOR_RESET_OPTIONS,
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

async function openAllowlist(path: string): Promise<SubmitterRegistry> {
  try {
    return await SubmitterRegistry.open(path);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

// A rules file; a file that does not parse is bad usage, naming the field.
async function readRules(path: string, submitters: SubmitterList | undefined, io: MonitorIo): Promise<RulesConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(path);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  try {
    return parseRulesFile(bytes, {
      ...(submitters === undefined ? {} : { submitters }),
      ...(io.env === undefined ? {} : { env: io.env }),
    });
  } catch (err) {
    if (isLogError(err)) throw new Usage(`${path}: ${err.message}`);
    throw err;
  }
}

function describeRule(r: Rule): string {
  const m = r.match;
  const parts: string[] = [];
  if (m.env !== undefined) parts.push(`env ${m.env.map((p) => p.text).join('|')}`);
  if (m.model !== undefined) parts.push(`model ${m.model.map((p) => p.text).join('|')}`);
  if (m.changeType !== undefined) parts.push(`changeType ${m.changeType.join('|')}`);
  const scope = parts.length === 0 ? (r.condition === 'unverified-record' ? 'every record' : 'every record but approvals') : parts.join(', ');
  let what = '';
  switch (r.condition) {
    case 'unexpected-signer':
      what = `signers ${r.signers?.join('|') ?? 'any'}${r.allowlist ? ', as the allowlist allows' : ''}`;
      break;
    case 'unapproved-change':
      what = `within ${r.within}`;
      break;
    case 'parameter-lowered':
      what = r.parameters.map((p) => `${p.name} ${p.risky}`).join(', ');
      break;
    case 'missing-reason':
      what = `min ${r.minLength}, ${r.placeholders.length} placeholders${r.requireTicket ? ', ticket required' : ''}`;
      break;
    case 'unverified-record':
      break;
  }
  return `${r.name}: ${r.condition} (${r.severity}) on ${scope}${what === '' ? '' : `: ${what}`} -> ${r.actions.join(', ')}`;
}

/** The parseArgs options of `candor monitor check-rules`. */
export const MONITOR_CHECK_RULES_OPTIONS = { rules: { type: 'string' }, submitters: { type: 'string' } } as const;

async function checkRulesCommand(args: string[], io: MonitorIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: MONITOR_CHECK_RULES_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new Usage(`unexpected argument "${positionals[0]}"`);
  if (values.rules === undefined) throw new Usage('check-rules needs --rules FILE');
  let list: SubmitterList | undefined;
  if (values.submitters !== undefined) {
    try {
      list = parseSubmitters(await io.readFile(values.submitters));
    } catch (err) {
      throw new Error(`${values.submitters}: ${(err as Error).message}`);
    }
  }
  const config = await readRules(values.rules, list, io);
  const lines = config.rules.map(describeRule);
  const actions = [...config.actions.values()].map((a) => `action ${a.name}: ${a.type}`);
  await io.out(`${values.rules}: ${config.rules.length} rules (sha256 ${config.digest})\n${[...lines, ...actions].join('\n')}\n`);
  return MONITOR_EXIT.OK;
}
