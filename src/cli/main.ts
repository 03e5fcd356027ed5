#!/usr/bin/env node
/**
 * The `candor` command line.
 *
 *   candor serve [--data DIR] [--host H] [--port N] [--origin NAME] [--key FILE]
 *                [--batch-max N] [--batch-age MS]
 *                [--witness NAME=VKEY@URL ...] [--quorum K] [--witness-timeout MS]
 *                [--submitters FILE] [--reindex] [--tokens FILE] [--open-writes]
 *                [--max-connections N] [--max-connections-per-ip N] [--header-timeout MS]
 *                [--request-timeout MS] [--idle-timeout MS] [--write-timeout MS]
 *                [--write-budget BYTES] [--upload-budget BYTES] [--max-pipelined N]
 *                (connection limits: src/cli/http-limit-flags.ts)
 *   candor token <create|list|revoke> ...   (src/cli/token.ts)
 *   candor keygen --name NAME --out FILE
 *   candor add [--url URL] FILE...
 *   candor checkpoint [--url URL]
 *
 * Every serve flag can also come from the environment (CANDOR_DATA, CANDOR_HOST,
 * CANDOR_PORT, CANDOR_ORIGIN, CANDOR_KEY, CANDOR_BATCH_MAX, CANDOR_BATCH_AGE,
 * CANDOR_WITNESSES as a comma- or newline-separated list, CANDOR_QUORUM,
 * CANDOR_WITNESS_TIMEOUT, CANDOR_SUBMITTERS, CANDOR_TOKENS); the client commands read
 * CANDOR_URL, and CANDOR_TOKEN for the API token they send with writes. A flag
 * wins over the environment; any --witness replaces the whole CANDOR_WITNESSES list.
 */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { validateKeyName } from '../note/keys.js';
import { parseDecimal } from '../util/integers.js';
import { isLogError } from '../util/errors.js';
import { checkWitnessSet, parseWitnessSpec, type WitnessConfig } from '../log/witness-protocol.js';
import { verifyCommand, VERIFY_USAGE } from './verify.js';
import { writeProofFile } from './proof-out.js';
import { monitorCommand, MONITOR_USAGE } from './monitor.js';
import { GOVERNANCE_USAGE } from './governance-io.js';
import { recordCommand } from './record.js';
import { approveCommand } from './approve.js';
import { diffCommand } from './diff.js';
import { submitterKeyCommand } from './submitter-key.js';
import { historyCommand } from './history.js';
import { stateCommand } from './state.js';
import { verifyDeploymentCommand } from './verify-deployment.js';
import { reindexCommand } from './reindex.js';
import { RECORDS_USAGE } from './records-client.js';
import { exportCommand, EVIDENCE_USAGE } from './export.js';
import { verifyExportCommand } from './verify-export.js';
import { RECOVERY_USAGE } from './backup.js';
import { httpLimitFlags, httpLimitUsage } from './http-limit-flags.js';
import { commandUsage, usageMessage, wantsHelp } from './help.js';
import { ADD_OPTIONS, CHECKPOINT_OPTIONS, KEYGEN_OPTIONS, SERVE_OPTIONS } from './core-options.js';

const USAGE = `usage: candor <command> [flags]

commands:
  serve       run a log server
              --data DIR        data directory (default ./data)           [CANDOR_DATA]
              --host H          listen address (default 127.0.0.1)        [CANDOR_HOST]
              --port N          listen port (default 8080)                [CANDOR_PORT]
              --origin NAME     log origin, for a new log (default <hostname>/candor) [CANDOR_ORIGIN]
              --key FILE        signer key file instead of DIR/log.key    [CANDOR_KEY]
              --batch-max N     most entries per integration (default 4096)  [CANDOR_BATCH_MAX]
              --batch-age MS    longest wait for a batch to fill (default 0) [CANDOR_BATCH_AGE]
              --witness NAME=VKEY@URL
                                a witness to cosign checkpoints; repeatable  [CANDOR_WITNESSES,
                                                                comma- or newline-separated]
              --quorum K        cosignatures /checkpoint needs (default: all witnesses) [CANDOR_QUORUM]
              --witness-timeout MS
                                longest ?wait=witnessed wait (default 10000) [CANDOR_WITNESS_TIMEOUT]
              --submitters FILE the submitter allowlist: turns on POST /v1/records and
                                GET /v1/search (reloaded on SIGHUP and when it changes)
                                                                          [CANDOR_SUBMITTERS]
              --reindex         rebuild the record index (DIR/index) before serving
              --tokens FILE     API tokens: every write needs Authorization: Bearer
                                (default DIR/tokens.json when it exists; reloaded on
                                SIGHUP and when it changes)               [CANDOR_TOKENS]
              --open-writes     serve writes without tokens on a non-loopback --host
                                (refused otherwise)
              connection limits (docs/http-limits.md):
${httpLimitUsage(14, true)}  token       API tokens for writes: create --name NAME --scope entries,records,activity
              [--rate N/s] [--quota N/day] | list | revoke --name NAME (candor token --help)
  keygen      create a signer key: --name NAME --out FILE (mode 0600); prints the verifier key
  add         submit files as entries and print one receipt (JSON) per line:
              [--url URL] [--witnessed] [--proof-out FILE] FILE...
              --witnessed waits for a checkpoint with the log's witness quorum;
              --proof-out writes the receipt as an offline c2sp.org/tlog-proof (one FILE);
              sends CANDOR_TOKEN as its API token when set
  checkpoint  print the log's latest checkpoint: [--url URL]
              (--url defaults to CANDOR_URL or http://127.0.0.1:8080)
  fsck        check a stopped log's data directory: --data DIR [--quick] [--json]
              (exit 0 clean, 10 corrupt, 11 derived indexes only, 12 unreadable, 13 in use)
  repair      repair a stopped log's data directory: --data DIR [--from URL] [--submitters FILE]
              (exit 0 repaired, 10 still damaged, 12 unreadable, 13 in use, 14 bad source)
${VERIFY_USAGE}${GOVERNANCE_USAGE}${RECORDS_USAGE}${EVIDENCE_USAGE}${MONITOR_USAGE}${RECOVERY_USAGE}  witness     run a witness daemon; keygen/key make or show its key first (candor witness --help)
  submitters  manage a submitter allowlist file: add|list|remove --file FILE (candor submitters --help)
`;

/** Exit codes: 0 success, 1 operation failed, 2 bad usage. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

/** The commands that answer --help with a longer usage of their own (src/cli/help.ts). */
const OWN_HELP = new Set(['token', 'witness', 'monitor', 'fsck', 'repair', 'backup', 'restore', 'submitters']);

// The server and the witness daemon are imported when their command runs: loading them
// (hono, LevelDB, the store) would double the start-up time of every client command,
// which init containers, cron jobs and CI steps pay on each run.
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const help =
    command === undefined || OWN_HELP.has(command) || !wantsHelp(rest) ? undefined : commandUsage(USAGE, command);
  if (help !== undefined) {
    process.stdout.write(help);
    return 0;
  }
  switch (command) {
    case 'serve':
      return serveCommand(rest);
    case 'keygen':
      return keygenCommand(rest);
    case 'add':
      return addCommand(rest);
    case 'checkpoint':
      return checkpointCommand(rest);
    case 'witness':
      return (await import('./witness.js')).witnessCommand(rest);
    case 'token':
      return (await import('./token.js')).tokenCommand(rest);
    case 'verify':
      return verifyCommand(rest);
    case 'monitor':
      return monitorCommand(rest);
    case 'record':
      return recordCommand(rest);
    case 'approve':
      return approveCommand(rest);
    case 'diff':
      return diffCommand(rest);
    case 'submitter-key':
      return submitterKeyCommand(rest);
    case 'submitters':
      return (await import('./submitters.js')).submittersCommand(rest);
    case 'history':
      return historyCommand(rest);
    case 'state':
      return stateCommand(rest);
    case 'verify-deployment':
      return verifyDeploymentCommand(rest);
    case 'reindex':
      return reindexCommand(rest);
    case 'fsck':
      return (await import('./fsck.js')).fsckCommand(rest);
    case 'repair':
      return (await import('./repair.js')).repairCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'verify-export':
      return verifyExportCommand(rest);
    case 'backup':
      return (await import('./backup.js')).backupCommand(rest);
    case 'restore':
      return (await import('./restore.js')).restoreCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? EXIT_USAGE : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDecimal(value, name);
  } catch {
    throw new UsageError(`${name} must be a non-negative whole number, got "${value}"`);
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: SERVE_OPTIONS,
    strict: true,
  });
  const httpLimits = httpLimitFlags(values, env, (message) => new UsageError(message));
  const submittersFile = values.submitters ?? env('CANDOR_SUBMITTERS');
  if (values.reindex === true && submittersFile === undefined) {
    throw new UsageError('--reindex needs --submitters FILE (the record index is part of the record API)');
  }
  const port = intFlag(values.port ?? env('CANDOR_PORT'), '--port', 8080);
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  const batchMax = intFlag(values['batch-max'] ?? env('CANDOR_BATCH_MAX'), '--batch-max', 4096);
  if (batchMax < 1) throw new UsageError('--batch-max must be at least 1');
  const origin = values.origin ?? env('CANDOR_ORIGIN');
  if (origin !== undefined) {
    try {
      validateKeyName(origin);
    } catch {
      throw new UsageError('--origin must be non-empty, without spaces or "+" (e.g. example.com/log)');
    }
  }
  const witnessOptions = witnessFlags(values);
  const { startLog } = await import('../server/main.js');
  const running = await startLog({
    dataDir: values.data ?? env('CANDOR_DATA') ?? './data',
    host: values.host ?? env('CANDOR_HOST') ?? '127.0.0.1',
    port,
    origin,
    keyFile: values.key ?? env('CANDOR_KEY'),
    batchMax,
    batchAgeMs: intFlag(values['batch-age'] ?? env('CANDOR_BATCH_AGE'), '--batch-age', 0),
    ...witnessOptions,
    submittersFile,
    reindex: values.reindex === true,
    tokensFile: values.tokens ?? env('CANDOR_TOKENS'),
    openWrites: values['open-writes'] === true,
    httpLimits,
    say: (line) => console.log(line),
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      console.log(`candor: ${signal}: finishing queued entries and closing the store`);
      running.close().then(resolve, (err: unknown) => {
        console.error('candor: error while closing:', err);
        process.exitCode = EXIT_FAILED;
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** The witness flags (or their environment variables), checked: exit 2 when they are bad. */
function witnessFlags(values: {
  witness?: string[] | undefined;
  quorum?: string | undefined;
  'witness-timeout'?: string | undefined;
}): { witnesses: WitnessConfig[]; quorum: number | undefined; witnessTimeoutMs: number } {
  const specs =
    values.witness ??
    (env('CANDOR_WITNESSES') ?? '')
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const witnesses = specs.map((spec) => {
    try {
      return parseWitnessSpec(spec);
    } catch (err) {
      throw new UsageError(`--witness: ${(err as Error).message}`);
    }
  });
  const quorumText = values.quorum ?? env('CANDOR_QUORUM');
  if (quorumText !== undefined && witnesses.length === 0) {
    throw new UsageError('--quorum needs at least one --witness');
  }
  const quorum = intFlag(quorumText, '--quorum', witnesses.length);
  if (witnesses.length > 0) {
    if (quorum < 1 || quorum > witnesses.length) {
      throw new UsageError(`--quorum must be 1 to ${witnesses.length} (the number of witnesses)`);
    }
    try {
      checkWitnessSet(witnesses, quorum);
    } catch (err) {
      throw new UsageError(`--witness: ${(err as Error).message}`);
    }
  }
  const timeoutText = values['witness-timeout'] ?? env('CANDOR_WITNESS_TIMEOUT');
  const witnessTimeoutMs = intFlag(timeoutText, '--witness-timeout', 10_000);
  if (witnessTimeoutMs < 1) throw new UsageError('--witness-timeout must be at least 1');
  return { witnesses, quorum: witnesses.length > 0 ? quorum : undefined, witnessTimeoutMs };
}

async function keygenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: KEYGEN_OPTIONS,
    strict: true,
  });
  if (values.name === undefined || values.out === undefined) {
    throw new UsageError('keygen needs --name NAME and --out FILE');
  }
  try {
    validateKeyName(values.name);
  } catch {
    throw new UsageError('--name must be non-empty, without spaces or "+" (e.g. example.com/log)');
  }
  const { createKeyFile } = await import('../server/keyfile.js');
  const pair = await createKeyFile(values.out, values.name);
  console.error(`wrote signer key to ${values.out} (mode 0600)`);
  console.log(pair.verifierKey);
  return 0;
}

function clientUrl(flag: string | undefined): string {
  return (flag ?? env('CANDOR_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

async function addCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: ADD_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError('add needs at least one FILE');
  const proofOut = values['proof-out'];
  if (proofOut !== undefined && positionals.length !== 1) {
    throw new UsageError('--proof-out takes exactly one FILE to add');
  }
  const url = clientUrl(values.url);
  const query = values.witnessed === true ? '?wait=witnessed' : '';
  let failed = false;
  for (const file of positionals) {
    const body = await readFile(file);
    const token = env('CANDOR_TOKEN');
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const res = await fetch(`${url}/v1/entries${query}`, { method: 'POST', body, headers });
    const text = await res.text();
    if (!res.ok) {
      failed = true;
      console.error(`${file}: HTTP ${res.status}: ${text.trim()}`);
      continue;
    }
    console.log(JSON.stringify({ file, ...(JSON.parse(text) as object) }));
    if (proofOut !== undefined) await writeProofFile(text, proofOut);
  }
  return failed ? EXIT_FAILED : 0;
}

async function checkpointCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: CHECKPOINT_OPTIONS, strict: true });
  const res = await fetch(`${clientUrl(values.url)}/checkpoint`);
  const text = await res.text();
  if (!res.ok) {
    console.error(`HTTP ${res.status}: ${text.trim()}`);
    return EXIT_FAILED;
  }
  process.stdout.write(text);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      // the command's usage when it is one, else the whole list (an unknown command)
      const usage = commandUsage(USAGE, process.argv[2] ?? '') ?? USAGE;
      console.error(`candor: ${usageMessage(err)}\n\n${usage}`);
      process.exitCode = EXIT_USAGE;
    } else if (isLogError(err)) {
      console.error(`candor: ${err.message}`);
      process.exitCode = EXIT_FAILED;
    } else {
      console.error('candor:', err instanceof Error ? err.message : err);
      process.exitCode = EXIT_FAILED;
    }
  }
);
