/**
 * Authenticated writes: API tokens, their file, and the one authorization function that
 * both HTTP paths (the Hono app, app.ts, and the fast lane, fast-lane.ts) call before a
 * write is read. Reads stay public, as a transparency log's must.
 *
 * Token format: `candor_<id>_<secret>`, e.g. `candor_3f9a0c21d4e8_q2W…` (63 characters):
 * - `candor_` makes a leaked token recognisable (secret scanners, log greps);
 * - `<id>`, 12 lowercase hex digits (48 random bits), names the token's record in the file
 *   without revealing anything; it is shown by `candor token list`;
 * - `<secret>`, 32 random bytes as unpadded base64url (43 characters, 256 bits).
 * The file keeps only SHA-256 of the whole token, compared in constant time. A slow KDF
 * (scrypt, Argon2) protects guessable passwords; these secrets are 256 random bits, which
 * no one can brute-force from a fast hash either, and a KDF would cost every write tens of
 * milliseconds of CPU: a free denial of service, and nothing gained.
 *
 * The tokens file (default DATA/tokens.json, mode 0600, written atomically by
 * `candor token`, src/cli/token.ts):
 *
 *   {
 *     "tokens": [
 *       { "name": "ci-prod", "id": "3f9a0c21d4e8", "sha256": "<64 hex>",
 *         "scopes": ["entries", "records"], "rate": 20, "quota": 100000,
 *         "created": "2026-12-08T01:00:00.000Z" }
 *     ]
 *   }
 *
 * Unknown fields are refused, so a typo never silently widens or narrows access. Scopes:
 * - `entries`: POST /v1/entries and POST /v1/entries/batch;
 * - `records`: POST /v1/records;
 * - `activity`: the activity endpoints (a later API); reserved so tokens can carry it now.
 *
 * Limits, per token name, in memory (a restart resets them; the log itself is the record):
 * - `rate` (requests per second): a token bucket of `rate` tokens (one second's burst),
 *   refilled continuously. It counts requests, whatever their size: it protects the
 *   server's request handling. Over it: 429 RATE_LIMITED, Retry-After in seconds.
 * - `quota` (entries per UTC day): counts entries, not requests, so a batch of 500 uses 500;
 *   it bounds what a token can make permanent. A request that would go over is refused
 *   whole (nothing of a batch is logged): 429 QUOTA_EXCEEDED with Retry-After until the
 *   next UTC midnight, or without one when the batch alone is larger than the quota. The
 *   entries of a write that then fails (pushback, bad body) are given back.
 *
 * Answers: 401 UNAUTHENTICATED (with `WWW-Authenticate: Bearer`) without a token or with
 * an unknown or revoked one; 403 FORBIDDEN out of scope; 429 as above. With no tokens
 * file, writes are open, which startLog allows only on a loopback address unless
 * `--open-writes` (checkWriteExposure). An empty tokens file closes every write: revoking
 * the last token never opens the log.
 */
import { hash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { withFileLock, writeFileAtomic } from '../util/durable-file.js';
import type { Context, MiddlewareHandler } from 'hono';
import { isJsonObject, parseStrictJson } from '../governance/strict-json.js';
import { LogError } from '../util/errors.js';
import { ReloadableFile } from '../util/reloadable-file.js';
import { LogErrorWithHeaders } from './errors.js';

/** What a token may write. */
export const SCOPES = ['entries', 'records', 'activity'] as const;
/** A token scope. */
export type Scope = (typeof SCOPES)[number];

/** The file name of the tokens file in the data directory. */
export const TOKENS_FILE_NAME = 'tokens.json';
/** Largest tokens file accepted, in bytes. */
export const MAX_TOKENS_FILE_SIZE = 1024 * 1024;
/** What every token starts with. */
export const TOKEN_PREFIX = 'candor_';

const TOKEN = /^candor_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const ID = /^[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Token names: as submitter names, so they are safe in metric labels and file names. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const DAY_MS = 86_400_000;
/** Largest rate or quota accepted: far above what one log takes, far below 2^53. */
const MAX_LIMIT = 1_000_000_000;

/** One token's record in the tokens file. */
export interface TokenRecord {
  name: string;
  /** The public id inside the token (12 hex digits). */
  id: string;
  /** Lowercase hex SHA-256 of the whole token text. */
  sha256: string;
  scopes: Scope[];
  /** Requests per second, if limited. */
  rate?: number;
  /** Entries per UTC day, if limited. */
  quota?: number;
  /** When it was created (ISO 8601). */
  created: string;
}

/** A parsed tokens file. */
export interface TokenList {
  tokens: readonly TokenRecord[];
  /** The record whose id is `id`, if any. */
  byId(id: string): TokenRecord | undefined;
}

function bad(why: string): LogError {
  return new LogError('MALFORMED', `tokens file: ${why}`);
}

/** True when `name` is a valid token name (1 to 128 of letters, digits and ._@+-). */
export function isTokenName(name: string): boolean {
  return NAME.test(name);
}

function limit(v: unknown, at: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_LIMIT) {
    throw bad(`${at} must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return v;
}

function parseRecord(v: unknown, i: number): TokenRecord {
  const at = `tokens[${i}]`;
  if (!isJsonObject(v)) throw bad(`${at} must be an object`);
  for (const key of Object.keys(v)) {
    if (!['name', 'id', 'sha256', 'scopes', 'rate', 'quota', 'created'].includes(key)) {
      throw bad(`${at}.${key} is not a known field`);
    }
  }
  const { name, id, sha256, scopes, created } = v;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw bad(`${at}.name must be 1 to 128 of letters, digits and ._@+- (starting alphanumeric)`);
  }
  if (typeof id !== 'string' || !ID.test(id)) throw bad(`${at}.id must be 12 lowercase hex digits`);
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw bad(`${at}.sha256 must be 64 lowercase hex digits`);
  }
  if (typeof created !== 'string' || Number.isNaN(Date.parse(created))) {
    throw bad(`${at}.created must be an ISO 8601 time`);
  }
  const record: TokenRecord = { name, id, sha256, scopes: parseScopes(scopes, `${at}.scopes`), created };
  const rate = limit(v.rate, `${at}.rate`);
  const quota = limit(v.quota, `${at}.quota`);
  if (rate !== undefined) record.rate = rate;
  if (quota !== undefined) record.quota = quota;
  return record;
}

function parseScopes(v: unknown, at: string): Scope[] {
  const known = SCOPES as readonly string[];
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && known.includes(s))) {
    throw bad(`${at} must be a non-empty array of ${SCOPES.join(', ')}`);
  }
  return [...new Set(v as Scope[])];
}

/**
 * Parses a tokens file (see the module comment).
 * @throws LogError MALFORMED naming the entry and field (duplicate names or ids included);
 *   TOO_LARGE over 1 MiB.
 */
export function parseTokens(bytes: Uint8Array): TokenList {
  if (bytes.length > MAX_TOKENS_FILE_SIZE) {
    throw new LogError('TOO_LARGE', `tokens file: larger than ${MAX_TOKENS_FILE_SIZE} bytes`);
  }
  const v = parseStrictJson(bytes, 'tokens file is not valid JSON');
  if (!isJsonObject(v) || !Array.isArray(v.tokens)) throw bad('must be an object with a "tokens" array');
  for (const key of Object.keys(v)) {
    if (key !== 'tokens') throw bad(`"${key}" is not a known field`);
  }
  const tokens = v.tokens.map(parseRecord);
  const ids = new Map<string, TokenRecord>();
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw bad(`the name ${JSON.stringify(t.name)} appears twice`);
    if (ids.has(t.id)) throw bad(`the id ${t.id} appears twice (${ids.get(t.id)!.name}, ${t.name})`);
    names.add(t.name);
    ids.set(t.id, t);
  }
  return { tokens, byId: (id) => ids.get(id) };
}

/** The tokens file text for `tokens` (stable field order, one token per record). */
export function formatTokens(tokens: readonly TokenRecord[]): string {
  const records = tokens.map((t) => ({
    name: t.name,
    id: t.id,
    sha256: t.sha256,
    scopes: t.scopes,
    ...(t.rate === undefined ? {} : { rate: t.rate }),
    ...(t.quota === undefined ? {} : { quota: t.quota }),
    created: t.created,
  }));
  return JSON.stringify({ tokens: records }, null, 2) + '\n';
}

/** Lowercase hex SHA-256 of a token's text: what the tokens file stores. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * Compares two hex digests in constant time: every character is looked at, whatever
 * differs first (no early exit), so the time says nothing about where they differ.
 */
function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false; // both are 64 hex digits: lengths are public
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    diff += d * d; // arithmetic, no branch: zero only when every character is equal
  }
  return diff === 0;
}

/** A new token and the record that stores it (hashed); the token is shown once, never stored. */
export function createToken(opts: {
  name: string;
  scopes: readonly Scope[];
  rate?: number | undefined;
  quota?: number | undefined;
  now?: number;
}): { token: string; record: TokenRecord } {
  if (!NAME.test(opts.name)) {
    throw new LogError('MALFORMED', 'a token name must be 1 to 128 of letters, digits and ._@+-');
  }
  const id = randomBytes(6).toString('hex');
  const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  const record: TokenRecord = {
    name: opts.name,
    id,
    sha256: hashToken(token),
    scopes: [...new Set(opts.scopes)],
    created: new Date(opts.now ?? Date.now()).toISOString(),
  };
  if (opts.rate !== undefined) record.rate = opts.rate;
  if (opts.quota !== undefined) record.quota = opts.quota;
  parseRecord(JSON.parse(JSON.stringify(record)) as unknown, 0); // the limits and scopes are valid
  return { token, record };
}

/**
 * Parses a `--rate` value: `N/s` (or plain `N`), N a whole number of requests per second.
 * @throws LogError MALFORMED otherwise.
 */
export function parseRate(text: string): number {
  return parseLimit(text, /^(\d{1,10})(?:\/s)?$/, '--rate must be N/s, N a whole number of requests per second');
}

/**
 * Parses a `--quota` value: `N/day` (or plain `N`), N a whole number of entries per UTC day.
 * @throws LogError MALFORMED otherwise.
 */
export function parseQuota(text: string): number {
  return parseLimit(text, /^(\d{1,10})(?:\/day)?$/, '--quota must be N/day, N a whole number of entries per day');
}

function parseLimit(text: string, form: RegExp, why: string): number {
  const m = form.exec(text);
  const n = m === null ? NaN : Number(m[1]);
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new LogError('MALFORMED', `${why} (1 to ${MAX_LIMIT})`);
  return n;
}

/**
 * Reads a tokens file for editing; a missing file is an empty list.
 * @throws LogError MALFORMED / TOO_LARGE for a bad file; the file system's other errors.
 */
export async function readTokensFile(path: string): Promise<TokenRecord[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw err;
  }
  return [...parseTokens(bytes).tokens];
}

/**
 * Reads, edits and writes the tokens file under a lock file (`FILE.lock`, so two
 * `candor token` commands never lose each other's change). The write is atomic: a
 * temporary file (mode 0600) is written and fsynced, renamed over the file, and the
 * directory fsynced, so a crash leaves the old file or the new one, never a mix; a
 * serving log reloads it as one change.
 * @throws LogError CONFLICT when the lock file exists; what `edit` throws (nothing is
 *   written then); the file system's errors.
 */
export async function updateTokensFile(
  path: string,
  edit: (tokens: TokenRecord[]) => TokenRecord[]
): Promise<TokenRecord[]> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return withFileLock(path, 'candor token command', async () => {
    const next = edit(await readTokensFile(path));
    const text = formatTokens(next);
    parseTokens(Buffer.from(text)); // never write a file the server would refuse
    await writeFileAtomic(path, text, 0o600); // the commit point: the rename inside it
    return next;
  });
}

/** The tokens file a server uses: the one given, else DATA/tokens.json when it exists. */
export function resolveTokensFile(file: string | undefined, dataDir: string): string | undefined {
  if (file !== undefined) return file;
  const path = join(dataDir, TOKENS_FILE_NAME);
  return existsSync(path) ? path : undefined;
}

/** True when `host` is a loopback address (or `localhost`): only this machine can connect. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Refuses to serve open writes where others can reach them: without tokens, a host that
 * is not loopback needs `openWrites` (`--open-writes`).
 * @throws LogError FORBIDDEN saying what to do.
 */
export function checkWriteExposure(host: string, hasTokens: boolean, openWrites: boolean): void {
  if (hasTokens || openWrites || isLoopback(host)) return;
  throw new LogError(
    'FORBIDDEN',
    `refusing to serve on ${host} without API tokens: anyone who reaches the port could write ` +
      'to the log forever. Create a token (candor token create --name NAME --scope entries) ' +
      'and serve with --tokens FILE (default DATA/tokens.json), or pass --open-writes to ' +
      'accept writes from anyone'
  );
}

/** One write's authorization (see authorizeWrite). */
export interface WriteGrant {
  /** The token's name; undefined when writes are open (no tokens file). */
  readonly name: string | undefined;
  /**
   * Reserves `entries` of the token's daily quota for this write.
   * @throws LogErrorWithHeaders QUOTA_EXCEEDED (429).
   */
  charge(entries: number): void;
  /**
   * The write is over: `ok` (its entries were logged) counts the charged entries as
   * accepted, otherwise they are given back to the quota. Only the first call counts.
   */
  finish(ok: boolean): void;
}

const OPEN_GRANT: WriteGrant = { name: undefined, charge: () => {}, finish: () => {} };

interface Usage {
  bucket: number;
  refilled: number;
  day: number;
  used: number;
  requests: { accepted: number; refused: number; failed: number };
  entries: { accepted: number; refused: number };
}

/**
 * Checks API tokens, scopes, rates and quotas against the tokens list in force, and counts
 * what each token name wrote (for /metrics).
 */
export class WriteAuthorizer {
  private readonly list: () => TokenList;
  private readonly now: () => number;
  private readonly usage = new Map<string, Usage>();
  private unauthenticated = 0;
  private readonly dummy = '0'.repeat(64);

  /** `list` is read once per request (a reloaded file takes effect at once); `now` in ms. */
  constructor(list: () => TokenList, now: () => number = Date.now) {
    this.list = list;
    this.now = now;
  }

  /**
   * Authorizes one write needing `scope` from its Authorization header, and takes one
   * request from the token's rate.
   * @throws LogErrorWithHeaders UNAUTHENTICATED (401), FORBIDDEN (403), RATE_LIMITED (429).
   */
  authorize(authorization: string | undefined, scope: Scope): WriteGrant {
    const record = this.authenticate(authorization);
    const usage = this.usageOf(record);
    if (!record.scopes.includes(scope)) {
      usage.requests.refused++;
      throw new LogErrorWithHeaders(
        'FORBIDDEN',
        `the token "${record.name}" has the scopes ${record.scopes.join(', ')}; this write needs "${scope}"`,
        { 'WWW-Authenticate': `Bearer realm="candor", error="insufficient_scope", scope="${scope}"` }
      );
    }
    const now = this.now();
    if (record.rate !== undefined) {
      const rate = record.rate;
      // A bucket of one second's requests, refilled continuously.
      usage.bucket = Math.min(rate, usage.bucket + ((now - usage.refilled) / 1000) * rate);
      usage.refilled = now;
      if (usage.bucket < 1) {
        usage.requests.refused++;
        const seconds = Math.max(1, Math.ceil((1 - usage.bucket) / rate));
        throw new LogErrorWithHeaders(
          'RATE_LIMITED',
          `the token "${record.name}" is limited to ${rate} requests per second; retry in ${seconds} s`,
          { 'Retry-After': String(seconds) }
        );
      }
      usage.bucket -= 1;
    }
    return this.grant(record, usage);
  }

  /** Counters per token name, as Prometheus text (appended to /metrics). */
  renderMetrics(): string {
    const names = [...this.usage.keys()].sort();
    const lines = [
      '# HELP candor_write_unauthenticated_total Writes refused for a missing, unknown or revoked token.',
      '# TYPE candor_write_unauthenticated_total counter',
      `candor_write_unauthenticated_total ${this.unauthenticated}`,
      '# HELP candor_token_requests_total Write requests by token name: accepted, refused by ' +
        'scope, rate or quota, or failed otherwise.',
      '# TYPE candor_token_requests_total counter',
    ];
    for (const name of names) {
      for (const [result, n] of Object.entries(this.usage.get(name)!.requests)) {
        lines.push(`candor_token_requests_total{token="${name}",result="${result}"} ${n}`);
      }
    }
    lines.push(
      '# HELP candor_token_entries_total Entries by token name: accepted (logged) or refused by its quota.',
      '# TYPE candor_token_entries_total counter'
    );
    for (const name of names) {
      for (const [result, n] of Object.entries(this.usage.get(name)!.entries)) {
        lines.push(`candor_token_entries_total{token="${name}",result="${result}"} ${n}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  private authenticate(authorization: string | undefined): TokenRecord {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (m === null) {
      this.unauthenticated++;
      const why = authorization === undefined ? 'needs an' : 'needs a well-formed';
      throw new LogErrorWithHeaders(
        'UNAUTHENTICATED',
        `this log ${why} API token for writes: send Authorization: Bearer candor_…`,
        { 'WWW-Authenticate': 'Bearer realm="candor"' }
      );
    }
    const token = m[1]!;
    const parts = TOKEN.exec(token);
    const record = parts === null ? undefined : this.list().byId(parts[1]!);
    // The hash of the token against the stored one, in constant time; an unknown id is
    // compared against a dummy so both refusals take the same time.
    const same = sameDigest(hashToken(token), record?.sha256 ?? this.dummy);
    if (!same || record === undefined) {
      this.unauthenticated++;
      throw new LogErrorWithHeaders(
        'UNAUTHENTICATED',
        'the API token is unknown or revoked',
        { 'WWW-Authenticate': 'Bearer realm="candor", error="invalid_token"' }
      );
    }
    return record;
  }

  /** The usage of a token name, kept across reloads (a new token starts with a full bucket). */
  private usageOf(record: TokenRecord): Usage {
    let u = this.usage.get(record.name);
    if (u === undefined) {
      u = {
        bucket: record.rate ?? 0,
        refilled: this.now(),
        day: Math.floor(this.now() / DAY_MS),
        used: 0,
        requests: { accepted: 0, refused: 0, failed: 0 },
        entries: { accepted: 0, refused: 0 },
      };
      this.usage.set(record.name, u);
    }
    return u;
  }

  private grant(record: TokenRecord, usage: Usage): WriteGrant {
    let charged = 0;
    let finished = false;
    return {
      name: record.name,
      charge: (entries) => {
        const quota = record.quota;
        if (quota === undefined) {
          charged += entries;
          return;
        }
        const now = this.now();
        const day = Math.floor(now / DAY_MS);
        if (day !== usage.day) {
          usage.day = day;
          usage.used = 0;
        }
        if (usage.used + entries > quota) {
          usage.requests.refused++;
          usage.entries.refused += entries;
          finished = true;
          const what = entries === 1 ? 'one entry' : `${entries} entries`;
          if (entries > quota) {
            throw new LogErrorWithHeaders(
              'QUOTA_EXCEEDED',
              `${what} are more than the token "${record.name}" may write in a day (${quota}): split the batch`,
              {}
            );
          }
          const seconds = Math.max(1, Math.ceil(((day + 1) * DAY_MS - now) / 1000));
          throw new LogErrorWithHeaders(
            'QUOTA_EXCEEDED',
            `the token "${record.name}" has used ${usage.used} of its ${quota} entries today (UTC); ` +
              `${what} would go over; retry after midnight UTC`,
            { 'Retry-After': String(seconds) }
          );
        }
        usage.used += entries;
        charged += entries;
      },
      finish: (ok) => {
        if (finished) return;
        finished = true;
        if (ok) {
          usage.requests.accepted++;
          usage.entries.accepted += charged;
          return;
        }
        usage.requests.failed++;
        // Give the entries back, if still the day they were charged on.
        if (record.quota !== undefined && Math.floor(this.now() / DAY_MS) === usage.day) {
          usage.used = Math.max(0, usage.used - charged);
        }
      },
    };
  }
}

/**
 * THE authorization of a write, for both HTTP paths: open (a grant that checks nothing)
 * when no tokens are configured, else `writes.authorize`.
 * @throws as WriteAuthorizer.authorize.
 */
export function authorizeWrite(
  writes: WriteAuthorizer | undefined,
  authorization: string | undefined,
  scope: Scope
): WriteGrant {
  return writes === undefined ? OPEN_GRANT : writes.authorize(authorization, scope);
}

/**
 * The Hono env marker of a write the server makes to itself (POST /v1/records logs its
 * envelope through the app's own POST /v1/entries, after authorizing it as a record):
 * pass it as app.request's env. A network request cannot carry it (a symbol key).
 */
export const INTERNAL_WRITE = Symbol('candor.internal-write');
/** The env to pass to app.request for an internal write (see INTERNAL_WRITE). */
export const INTERNAL_WRITE_ENV: Record<symbol, true> = { [INTERNAL_WRITE]: true };

const grants = new WeakMap<Context, WriteGrant>();

/**
 * Middleware for a write route: authorizes POSTs needing `scope` before the body is read,
 * charges `entries` per request when given (single-entry routes; a batch route charges
 * with chargeEntries once it parsed the body), and finishes the grant with the answer.
 */
export function requireWrite(
  writes: WriteAuthorizer | undefined,
  scope: Scope,
  entries?: number
): MiddlewareHandler {
  return async (c, next) => {
    const env = c.env as Record<symbol, unknown> | undefined;
    if (writes === undefined || c.req.method !== 'POST' || env?.[INTERNAL_WRITE] === true) return next();
    const grant = authorizeWrite(writes, c.req.header('Authorization'), scope);
    if (entries !== undefined) grant.charge(entries);
    grants.set(c, grant);
    let ok = false;
    try {
      await next();
      // 200, or 504 TIMEOUT of ?wait=witnessed, which answers entries durably logged.
      ok = c.res.status === 200 || c.res.status === 504;
    } finally {
      grant.finish(ok);
    }
  };
}

/**
 * Charges `entries` to the write's token (see requireWrite); nothing without tokens.
 * @throws LogErrorWithHeaders QUOTA_EXCEEDED.
 */
export function chargeEntries(c: Context, entries: number): void {
  grants.get(c)?.charge(entries);
}

/** A tokens file read and checked (loadTokens), not yet watched. */
export type LoadedTokens = ReloadableFile<TokenList>;

/**
 * Reads and checks the tokens file (before the server creates anything, so a bad file
 * stops the start early); undefined without a file. A file that group or others may write
 * is refused: whoever can write it can grant themselves writes.
 * @throws LogError MALFORMED / TOO_LARGE for a bad file, FORBIDDEN for a writable one,
 *   naming it; the file system's errors (a missing file given with --tokens included).
 */
export async function loadTokens(file: string | undefined): Promise<LoadedTokens | undefined> {
  if (file === undefined) return undefined;
  try {
    const mode = (await stat(file)).mode;
    const writable = Math.floor(mode / 0o20) % 2 === 1 || Math.floor(mode / 0o2) % 2 === 1; // g+w, o+w
    if (process.platform !== 'win32' && writable) {
      const octal = (mode % 0o1000).toString(8);
      throw new LogError('FORBIDDEN', `group or others may write it (mode ${octal}); run chmod 600 ${file}`);
    }
    return await ReloadableFile.load(file, parseTokens, (t) => t.tokens.length);
  } catch (err) {
    const e = err as Error;
    throw new LogError(e instanceof LogError ? e.code : 'MALFORMED', `--tokens ${file}: ${e.message}`, {
      cause: err,
    });
  }
}

/** The serve-side configuration of API tokens. */
export interface TokensConfig {
  /** The tokens file as loadTokens read it; undefined: writes are open. */
  loaded: LoadedTokens | undefined;
  /** How often the file's status is polled, ms (default 1000). */
  watchIntervalMs?: number;
  /** Reload the file on SIGHUP (default true). */
  sighup?: boolean;
  say?: (line: string) => void;
  warn?: (line: string) => void;
}

/** Running API tokens (see startTokens). */
export interface RunningTokens {
  /** Undefined when writes are open. */
  writes: WriteAuthorizer | undefined;
  /** Stops reloading. */
  close(): void;
}

/**
 * Keeps the loaded tokens file in force: reloaded when it changes and on SIGHUP, through
 * the same ReloadableFile as the submitter allowlist. A file that fails to parse on reload
 * leaves the previous list in force (warned), so a revocation lands with the next good file.
 */
export function startTokens(config: TokensConfig): RunningTokens {
  const tokens = config.loaded;
  if (tokens === undefined) return { writes: undefined, close: () => {} };
  const file = tokens.path;
  const say = config.say ?? (() => {});
  const warn = config.warn ?? ((line: string) => console.error(`candor: ${line}`));
  say(`tokens: ${tokens.current.tokens.length} API tokens from ${file}; writes need Authorization: Bearer`);
  const reloaded = (r: { changed: boolean; count: number }): void => {
    if (r.changed) say(`tokens: reloaded ${file}: ${r.count} API tokens`);
  };
  const failed = (err: unknown): void =>
    warn(`tokens: ${file} not reloaded, the previous tokens stay in force: ${(err as Error).message}`);
  tokens.watch({ intervalMs: config.watchIntervalMs ?? 1000, onReload: reloaded, onError: failed });
  const onHup = (): void => void tokens.reload().then(reloaded, failed);
  if (config.sighup !== false) process.on('SIGHUP', onHup);
  return {
    writes: new WriteAuthorizer(() => tokens.current),
    close: () => {
      process.off('SIGHUP', onHup);
      tokens.close();
    },
  };
}
