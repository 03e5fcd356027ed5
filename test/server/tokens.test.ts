/**
 * API tokens (src/server/tokens.ts): the token format and its hash, the tokens file (strict
 * parse, stable format, atomic 0600 update under a lock), scopes, the rate bucket and the
 * daily entry quota under an injected clock, per-token metrics, and the refusal to serve
 * open writes off loopback.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkWriteExposure,
  createToken,
  formatTokens,
  hashToken,
  isLoopback,
  parseQuota,
  parseRate,
  parseTokens,
  readTokensFile,
  resolveTokensFile,
  updateTokensFile,
  WriteAuthorizer,
  type TokenList,
  type TokenRecord,
} from '../../src/server/tokens.js';
import { LogErrorWithHeaders } from '../../src/server/errors.js';
import { isLogError, type ErrorCode } from '../../src/util/errors.js';

const T0 = Date.UTC(2026, 11, 8, 10, 0, 0);

/** The error `fn` throws (it must throw a LogErrorWithHeaders). */
function refusal(fn: () => unknown): LogErrorWithHeaders {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LogErrorWithHeaders);
    return err as LogErrorWithHeaders;
  }
  throw new Error('expected a refusal');
}

function expectCode(fn: () => unknown, code: ErrorCode): LogErrorWithHeaders {
  const err = refusal(fn);
  expect(err.code).toBe(code);
  return err;
}

const listOf = (records: TokenRecord[]): TokenList => parseTokens(Buffer.from(formatTokens(records)));

describe('tokens', () => {
  it('are recognisable, random, and stored as the SHA-256 of the whole token only', () => {
    const a = createToken({ name: 'ci-prod', scopes: ['entries', 'records'], now: T0 });
    const b = createToken({ name: 'ci-prod', scopes: ['entries'], now: T0 });
    expect(a.token).toMatch(/^candor_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.record.id).toBe(a.token.slice(7, 19));
    expect(a.record.sha256).toBe(createHash('sha256').update(a.token).digest('hex'));
    expect(hashToken(a.token)).toBe(a.record.sha256);
    expect(a.record.created).toBe('2026-12-08T10:00:00.000Z');
    // The file holds nothing from which the secret can be read back.
    const text = formatTokens([a.record]);
    expect(text).not.toContain(a.token.slice(20));
    expect(() => createToken({ name: 'bad name', scopes: ['entries'] })).toThrow(/token name/);
  });

  it('parse and format as a round trip, and strictly', () => {
    const { record } = createToken({ name: 'ci', scopes: ['activity'], rate: 5, quota: 1000, now: T0 });
    const text = formatTokens([record]);
    expect(parseTokens(Buffer.from(text)).tokens).toEqual([record]);
    expect(formatTokens(parseTokens(Buffer.from(text)).tokens)).toBe(text);
    const bad = (v: unknown): void => {
      expect(() => parseTokens(Buffer.from(JSON.stringify(v)))).toThrow(/tokens file/);
    };
    bad({ tokens: [{ ...record, admin: true }] }); // unknown field
    bad({ tokens: [record], extra: 1 });
    bad({ tokens: [{ ...record, scopes: ['entries', 'everything'] }] });
    bad({ tokens: [{ ...record, scopes: [] }] });
    bad({ tokens: [{ ...record, rate: 0 }] });
    bad({ tokens: [{ ...record, quota: 1.5 }] });
    bad({ tokens: [{ ...record, sha256: 'AB'.repeat(32) }] });
    bad({ tokens: [record, { ...record, id: 'aaaaaaaaaaaa' }] }); // the same name twice
    bad({ tokens: [record, { ...record, name: 'other' }] }); // the same id twice
    expect(() => parseTokens(Buffer.from(`{"tokens":[],"tokens":[]}`))).toThrow(/JSON/); // duplicate keys
  });

  it('rate and quota flags', () => {
    expect(parseRate('20/s')).toBe(20);
    expect(parseRate('3')).toBe(3);
    expect(parseQuota('100000/day')).toBe(100000);
    for (const bad of ['0/s', '-1/s', '1.5/s', '10/min', '', 'x']) expect(() => parseRate(bad)).toThrow(/--rate/);
    for (const bad of ['0/day', '5/s', '1e3']) expect(() => parseQuota(bad)).toThrow(/--quota/);
  });
});

describe('WriteAuthorizer', () => {
  let clock: number;
  let records: TokenRecord[];
  let list: TokenList;
  let auth: WriteAuthorizer;
  const tokens: Record<string, string> = {};

  beforeEach(() => {
    clock = T0;
    records = [];
    for (const [name, scopes, rate, quota] of [
      ['writer', ['entries'], undefined, undefined],
      ['recorder', ['records'], undefined, undefined],
      ['slow', ['entries'], 2, undefined],
      ['metered', ['entries', 'records'], undefined, 10],
    ] as const) {
      const made = createToken({ name, scopes: [...scopes], rate, quota, now: T0 });
      tokens[name] = made.token;
      records.push(made.record);
    }
    list = listOf(records);
    auth = new WriteAuthorizer(() => list, () => clock);
  });
  const bearer = (name: string): string => `Bearer ${tokens[name]}`;

  it('401 without a token, with a malformed, unknown or tampered one', () => {
    const none = expectCode(() => auth.authorize(undefined, 'entries'), 'UNAUTHENTICATED');
    expect(none.headers['WWW-Authenticate']).toBe('Bearer realm="candor"');
    expectCode(() => auth.authorize('Basic dXNlcjpwYXNz', 'entries'), 'UNAUTHENTICATED');
    expectCode(() => auth.authorize('Bearer', 'entries'), 'UNAUTHENTICATED');
    const t = tokens.writer!;
    const tampered = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    const e = expectCode(() => auth.authorize(`Bearer ${tampered}`, 'entries'), 'UNAUTHENTICATED');
    expect(e.headers['WWW-Authenticate']).toContain('error="invalid_token"');
    const unknown = createToken({ name: 'writer', scopes: ['entries'] }).token; // same name, not in the file
    expectCode(() => auth.authorize(`Bearer ${unknown}`, 'entries'), 'UNAUTHENTICATED');
    expectCode(() => auth.authorize(`Bearer ${t}x`, 'entries'), 'UNAUTHENTICATED');
    // The scheme is case-insensitive (RFC 7235); the token is exact.
    expect(auth.authorize(`bearer ${t}`, 'entries').name).toBe('writer');
    expect(auth.renderMetrics()).toContain('candor_write_unauthenticated_total 6\n');
  });

  it('403 out of scope, naming the scope needed', () => {
    const e = expectCode(() => auth.authorize(bearer('recorder'), 'entries'), 'FORBIDDEN');
    expect(e.message).toContain('"entries"');
    expect(e.headers['WWW-Authenticate']).toContain('error="insufficient_scope", scope="entries"');
    expectCode(() => auth.authorize(bearer('writer'), 'records'), 'FORBIDDEN');
    expectCode(() => auth.authorize(bearer('writer'), 'activity'), 'FORBIDDEN');
    expect(auth.authorize(bearer('recorder'), 'records').name).toBe('recorder');
  });

  it('a revoked token stops working as soon as the list in force no longer has it', () => {
    expect(auth.authorize(bearer('writer'), 'entries').name).toBe('writer');
    list = listOf(records.filter((r) => r.name !== 'writer'));
    expectCode(() => auth.authorize(bearer('writer'), 'entries'), 'UNAUTHENTICATED');
    expect(auth.authorize(bearer('slow'), 'entries').name).toBe('slow');
    list = listOf([]); // no tokens at all: every write is refused, never opened
    expectCode(() => auth.authorize(bearer('slow'), 'entries'), 'UNAUTHENTICATED');
  });

  it('rate: a bucket of one second of requests, refilled continuously, with Retry-After', () => {
    const go = (): unknown => auth.authorize(bearer('slow'), 'entries').finish(true);
    go();
    go(); // the burst: 2 requests at once
    const e = expectCode(go, 'RATE_LIMITED');
    expect(e.headers['Retry-After']).toBe('1');
    clock += 499; // not yet one whole request back
    expectCode(go, 'RATE_LIMITED');
    clock += 1;
    go();
    expectCode(go, 'RATE_LIMITED');
    clock += 60_000; // idle: the bucket holds at most one second's worth
    go();
    go();
    expectCode(go, 'RATE_LIMITED');
    // Other tokens are not limited by it.
    for (let i = 0; i < 50; i++) auth.authorize(bearer('writer'), 'entries').finish(true);
    const m = auth.renderMetrics();
    expect(m).toContain('candor_token_requests_total{token="slow",result="accepted"} 5\n');
    expect(m).toContain('candor_token_requests_total{token="slow",result="refused"} 4\n');
    expect(m).toContain('candor_token_requests_total{token="writer",result="accepted"} 50\n');
  });

  it('quota: entries per UTC day, batches counted per entry and refused whole', () => {
    const write = (n: number, ok = true): void => {
      const g = auth.authorize(bearer('metered'), 'entries');
      g.charge(n);
      g.finish(ok);
    };
    write(4);
    write(1);
    write(3, false); // a write that failed (say, pushback) gives its entries back
    write(5); // 10 of 10
    const e = expectCode(() => write(1), 'QUOTA_EXCEEDED');
    const midnight = Date.UTC(2026, 11, 9);
    expect(e.headers['Retry-After']).toBe(String((midnight - clock) / 1000));
    expect(e.message).toContain('10 of its 10');
    // A batch larger than the whole quota can never pass: no Retry-After that would mislead.
    const big = expectCode(() => write(11), 'QUOTA_EXCEEDED');
    expect(big.headers['Retry-After']).toBeUndefined();
    expect(big.message).toContain('split the batch');
    clock = midnight; // a new UTC day
    write(10);
    expectCode(() => write(1), 'QUOTA_EXCEEDED');
    const m = auth.renderMetrics();
    expect(m).toContain('candor_token_entries_total{token="metered",result="accepted"} 20\n');
    expect(m).toContain('candor_token_entries_total{token="metered",result="refused"} 13\n');
    expect(m).toContain('candor_token_requests_total{token="metered",result="failed"} 1\n');
    expect(m).toContain('candor_token_requests_total{token="metered",result="refused"} 3\n');
  });

  it('a grant counts once, however often it is finished', () => {
    const g = auth.authorize(bearer('metered'), 'records');
    g.charge(1);
    g.finish(true);
    g.finish(false);
    expect(auth.renderMetrics()).toContain('candor_token_entries_total{token="metered",result="accepted"} 1\n');
    expect(auth.renderMetrics()).toContain('candor_token_requests_total{token="metered",result="failed"} 0\n');
  });
});

describe('the tokens file on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-tokens-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is written atomically with mode 0600, leaving no temporary or lock file', async () => {
    const path = join(dir, 'sub', 'tokens.json');
    expect(await readTokensFile(path)).toEqual([]);
    const a = createToken({ name: 'a', scopes: ['entries'] }).record;
    const b = createToken({ name: 'b', scopes: ['records'] }).record;
    await updateTokensFile(path, (t) => [...t, a]);
    await updateTokensFile(path, (t) => [...t, b]);
    expect(await readTokensFile(path)).toEqual([a, b]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'sub'))).toEqual(['tokens.json']);
    // An edit that throws writes nothing.
    await expect(
      updateTokensFile(path, () => {
        throw new Error('no');
      })
    ).rejects.toThrow('no');
    expect(await readTokensFile(path)).toEqual([a, b]);
    expect(await readdir(join(dir, 'sub'))).toEqual(['tokens.json']);
  });

  it('is not edited while another command holds its lock', async () => {
    const path = join(dir, 'tokens.json');
    await writeFile(`${path}.lock`, '');
    const err: unknown = await updateTokensFile(path, (t) => t).catch((e: unknown) => e);
    expect(isLogError(err, 'CONFLICT')).toBe(true);
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
  });

  it('defaults to DATA/tokens.json only when it exists', async () => {
    expect(resolveTokensFile(undefined, dir)).toBeUndefined();
    expect(resolveTokensFile('/x/t.json', dir)).toBe('/x/t.json');
    await writeFile(join(dir, 'tokens.json'), formatTokens([]));
    expect(resolveTokensFile(undefined, dir)).toBe(join(dir, 'tokens.json'));
  });
});

describe('open writes', () => {
  it('are served on loopback only, unless --open-writes', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopback(h)).toBe(true);
      expect(() => checkWriteExposure(h, false, false)).not.toThrow();
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopback(h)).toBe(false);
      expect(() => checkWriteExposure(h, false, false)).toThrow(/--open-writes/);
      expect(() => checkWriteExposure(h, true, false)).not.toThrow();
      expect(() => checkWriteExposure(h, false, true)).not.toThrow();
    }
  });
});
