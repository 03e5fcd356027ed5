/**
 * What the governance commands (`candor record`, `approve`, `diff`, `submitter-key`) share:
 * injectable I/O, the exit codes, usage text and argument helpers.
 *
 * Exit codes (GOVERNANCE_EXIT), made for gating a deployment on `candor record`:
 *   0  done: the record is durably included in the log (with --witnessed, in a checkpoint
 *      carrying the log's witness quorum), and the receipt proves it
 *   1  other error (a file cannot be read, a key is unusable, an unexpected answer)
 *   2  bad usage (flags, or a record that would not be valid)
 *   3  refused: the log answered 4xx (unsigned, unknown key, bad signature, forbidden,
 *      malformed, too large), or `approve` refused the entry (the approver signed it, it
 *      is an approval, it is no governance change); retrying the same record will not help
 *   4  not included before --timeout: the log was unreachable, busy, or the witnesses did
 *      not cosign in time; retrying the same command is safe (same bytes, same entry)
 *   5  bad receipt: the log answered, but its receipt does not prove this record is
 *      included (bad proof, another entry, or it fails --policy): treat as an incident
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { FetchFn } from '../client/tile-reader.js';
import { LogError, isLogError } from '../util/errors.js';
import { validateDigestSet, type DigestSet } from '../governance/intoto.js';
import { TIMESTAMP_PATTERN } from '../governance/schema.js';
import { usageMessage } from './help.js';

/** The exit codes of the governance commands (see the module comment). */
export const GOVERNANCE_EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  REFUSED: 3,
  NOT_INCLUDED: 4,
  BAD_RECEIPT: 5,
} as const;

/** The lines for the governance commands in the dispatcher's command list. */
export const GOVERNANCE_USAGE =
  '  record      sign and log a governance record (exit 0 only once durably logged):\n' +
  '              <model-update|safety-config|dataset|deployment|rollback> --reason TEXT --key KEY\n' +
  '              [--model ID] [--model-digest D] [--model-version V] [--model-uri URI]\n' +
  '              [--dataset URI=DIGEST ...]\n' +
  '              [--config FILE [--config-uri URI] [--param P ...] [--secret P ...] [--inline P ...]]\n' +
  '              [--env E] [--ticket T] [--author A] [--time RFC3339] [--pre-determined]\n' +
  '              [--url URL] [--wait] [--witnessed] [--timeout S] [--policy FILE]\n' +
  '              [--proof-out FILE] [--envelope-out FILE] [--dry-run]\n' +
  '              (exit 0 logged, 3 refused, 4 not logged in time (retry is safe),\n' +
  '              5 bad receipt, 1 other error, 2 usage)\n' +
  '  approve     sign and log an approval of logged change N:\n' +
  '              --entry N --key KEY [--reason TEXT] [--reject] [--time RFC3339]\n' +
  '              [--url URL] [--wait] [--witnessed] [--timeout S] [--policy FILE]\n' +
  '              [--proof-out FILE] [--envelope-out FILE] [--dry-run]\n' +
  '              (exit codes as record; 3 also when it refuses: own change, an approval)\n' +
  '  diff        parameter-level difference of two configurations: A B, each a JSON file\n' +
  '              or entry:N [--url URL] [--secret P ...] [--inline P ...] [--json] [--exit-code]\n' +
  '  submitter-key  create a submitter key pair: --out FILE [--type ed25519|ecdsa-p256]\n' +
  '              [--name NAME] [--role R ...] [--env E ...]; prints its allowlist entry\n';

/** Where the commands read, write and fetch (injectable for tests). */
export interface GovernanceIo {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a file; `exclusive` refuses to replace an existing one. */
  writeFile(
    path: string,
    data: string | Uint8Array,
    options?: { mode?: number; exclusive?: boolean }
  ): Promise<void>;
  fetch: FetchFn;
  env(name: string): string | undefined;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real I/O. */
export const nodeIo: GovernanceIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  readFile: async (p) => new Uint8Array(await readFile(p)),
  writeFile: async (p, data, options = {}) => {
    const flag = options.exclusive === true ? 'wx' : 'w';
    await writeFile(p, data, {
      flag,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
    });
  },
  fetch: (url, init) => fetch(url, init),
  env: (name) => {
    const v = process.env[name];
    return v === undefined || v === '' ? undefined : v;
  },
  now: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A failure with its exit code; commands catch it and exit with the code. */
export class CommandError extends Error {
  constructor(
    readonly exitCode: number,
    message: string
  ) {
    super(message);
  }
}

/** A usage error (exit 2). */
export const usage = (message: string): CommandError =>
  new CommandError(GOVERNANCE_EXIT.USAGE, message);

/**
 * Runs a command body, turning its failures into an exit code and a line on stderr:
 * CommandError keeps its code; a LogError MALFORMED from an input is exit 2 when `input`
 * says so; anything else is exit 1. Never throws.
 */
export async function runCommand(
  name: string,
  io: GovernanceIo,
  synopsis: string,
  body: () => Promise<number>
): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const message = usageMessage(err);
    let code: number = GOVERNANCE_EXIT.ERROR;
    if (err instanceof CommandError) code = err.exitCode;
    else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true)
      code = GOVERNANCE_EXIT.USAGE;
    io.err(`candor ${name}: ${message}\n`);
    if (code === GOVERNANCE_EXIT.USAGE) io.err(`usage: ${synopsis}\n`);
    return code;
  }
}

/** The log URL: the flag, else CANDOR_URL, else http://127.0.0.1:8080 (no trailing /). */
export function logUrl(io: GovernanceIo, flag: string | undefined): string {
  return (flag ?? io.env('CANDOR_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/**
 * The data directory of a command that opens one: the flag (--data), else CANDOR_DATA.
 * @throws CommandError (usage) when neither is given.
 */
export function dataDir(io: GovernanceIo, flag: string | undefined): string {
  const dir = flag ?? io.env('CANDOR_DATA');
  if (dir === undefined) throw usage('--data DIR is required');
  return dir;
}

/** Parses `--timeout S` (seconds, default 30) into milliseconds. */
export function timeoutMs(text: string | undefined): number {
  if (text === undefined) return 30_000;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || Number(text) <= 0 || Number(text) > 86_400) {
    throw usage(`--timeout must be a number of seconds between 0 and 86400, got "${text}"`);
  }
  return Math.round(Number(text) * 1000);
}

/**
 * Parses a digest argument: `alg:hex` (`sha256:9f86…`, `gitCommit:…`) or bare 64 hex
 * digits (SHA-256).
 * @throws CommandError (usage) naming `flag`.
 */
export function parseDigestArg(text: string, flag: string): DigestSet {
  const m = /^([A-Za-z0-9_.-]+):(.+)$/.exec(text);
  const set: DigestSet = m === null ? { sha256: text } : { [m[1]!]: m[2]! };
  try {
    return validateDigestSet(set, flag, 'digest');
  } catch (err) {
    throw usage(isLogError(err) ? err.message : String(err));
  }
}

/**
 * The record time: `--time` (RFC 3339 UTC), else SOURCE_DATE_EPOCH (seconds, the
 * reproducible-builds convention CI systems set), else none. Never the clock: a record
 * must come out the same when a job is retried.
 */
export function recordTime(io: GovernanceIo, flag: string | undefined): string | undefined {
  if (flag !== undefined) {
    if (!new RegExp(TIMESTAMP_PATTERN).test(flag)) {
      throw usage(`--time must be an RFC 3339 UTC time like 2026-03-03T14:32:00Z, got "${flag}"`);
    }
    return flag;
  }
  const epoch = io.env('SOURCE_DATE_EPOCH');
  if (epoch === undefined) return undefined;
  if (!/^[0-9]{1,12}$/.test(epoch))
    throw usage(`SOURCE_DATE_EPOCH must be whole seconds, got "${epoch}"`);
  return new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Reads a file, turning a failure into exit 1 with the path named. */
export async function readInput(io: GovernanceIo, path: string, what: string): Promise<Uint8Array> {
  try {
    return await io.readFile(path);
  } catch (err) {
    throw new CommandError(
      GOVERNANCE_EXIT.ERROR,
      `cannot read ${what} ${path}: ${(err as Error).message}`
    );
  }
}

/** Re-throws a LogError MALFORMED as a usage error (exit 2), anything else unchanged. */
export function asUsage(err: unknown): never {
  if (isLogError(err, 'MALFORMED')) throw usage(err.message);
  throw err;
}

/** A LogError as a CommandError with `exitCode`. */
export function withExit(exitCode: number, err: unknown): CommandError {
  const message = err instanceof LogError || err instanceof Error ? err.message : String(err);
  return new CommandError(exitCode, message);
}
