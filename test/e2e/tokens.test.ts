/**
 * Authenticated writes end to end (issue 10, item 4): tokens made by the real `candor
 * token` command, a real `candor serve` process on 127.0.0.1 using DATA/tokens.json, and
 * HTTP over real sockets. Every refusal is checked on both paths a POST /v1/entries can
 * take (the fast lane, and the Hono app, which answers it when there is a query string):
 * they must give the same answers. Reads stay public; a revoked token stops working
 * without a restart; open writes off loopback refuse to start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCandor, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';
import { RKEYS, deployment, recordsAllowlist, signed } from '../governance/records-fixture.js';
import { RFC8032, ed25519Pem } from '../governance/helpers.js';

interface Answer {
  status: number;
  code: string | undefined;
  /** The whole error body, so the two paths are compared byte for byte. */
  body: string | undefined;
  wwwAuthenticate: string | null;
  retryAfter: string | null;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let code: string | undefined;
  if (res.status !== 200) code = (JSON.parse(text) as { error: { code: string } }).error.code;
  return {
    status: res.status,
    code,
    body: res.status === 200 ? undefined : `${res.headers.get('content-type')} ${text}`,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    retryAfter: res.headers.get('retry-after'),
  };
}

describe('authenticated writes (candor token, candor serve with DATA/tokens.json)', () => {
  let dir = '';
  let data = '';
  let server: ServerProcess | undefined;
  const tokens: Record<string, string> = {};
  let n = 0;

  const create = async (name: string, ...flags: string[]): Promise<string> => {
    const r = await runCandor(['token', 'create', '--name', name, '--data', data, ...flags]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`created token "${name}"`);
    const token = r.stdout.trim();
    expect(token).toMatch(/^candor_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    return token;
  };
  const auth = (name?: string): Record<string, string> =>
    name === undefined ? {} : { authorization: `Bearer ${tokens[name] ?? name}` };
  /** A POST /v1/entries of a new entry: `fast` through the fast lane, else the app. */
  const postEntry = async (path: 'fast' | 'app', name?: string): Promise<Answer> => {
    const url = `${server!.url}/v1/entries${path === 'app' ? '?wait=sequenced' : ''}`;
    return answer(await fetch(url, { method: 'POST', body: `entry ${n++}`, headers: auth(name) }));
  };
  /** The same request on both paths: the answers must be equal. */
  const both = async (name?: string): Promise<Answer> => {
    const fast = await postEntry('fast', name);
    const app = await postEntry('app', name);
    expect(app, `the app and the fast lane for ${name ?? 'no token'}`).toEqual(fast);
    return fast;
  };
  const batch = async (count: number, name?: string): Promise<Answer> => {
    const entries = Array.from({ length: count }, () => Buffer.from(`batch ${n++}`).toString('base64'));
    return answer(
      await fetch(`${server!.url}/v1/entries/batch`, {
        method: 'POST',
        body: JSON.stringify({ entries }),
        headers: { 'content-type': 'application/json', ...auth(name) },
      })
    );
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-tokens-e2e-'));
    data = join(dir, 'data');
    await writeFile(join(dir, 'submitters.json'), recordsAllowlist());
    tokens.ci = await create('ci', '--scope', 'entries');
    tokens.recorder = await create('recorder', '--scope', 'records');
    tokens.slow = await create('slow', '--scope', 'entries', '--rate', '1/s');
    tokens.metered = await create('metered', '--scope', 'entries,records', '--quota', '4/day');
    server = await startServerProcess(data, ['--submitters', join(dir, 'submitters.json')]);
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the tokens hashed in a 0600 file and lists them without secrets', async () => {
    const file = join(data, 'tokens.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const list = await runCandor(['token', 'list', '--data', data]);
    expect(list.code).toBe(0);
    for (const name of ['ci', 'recorder', 'slow', 'metered']) expect(list.stdout).toContain(name);
    expect(list.stdout).toContain('1/s');
    expect(list.stdout).toContain('4/day');
    for (const t of Object.values(tokens)) expect(list.stdout).not.toContain(t.slice(20));
    expect(server!.output()).toMatch(/tokens: 4 API tokens from .*tokens\.json/);
    const dup = await runCandor(['token', 'create', '--name', 'ci', '--scope', 'entries', '--data', data]);
    expect(dup.code).toBe(1);
    const usage = await runCandor(['token', 'create', '--name', 'x', '--scope', 'everything', '--data', data]);
    expect(usage.code).toBe(2);
    const help = await runCandor(['token', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('exit codes');
  });

  it('401 with WWW-Authenticate without a token or with an unknown one, on both paths', async () => {
    expect(await both()).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      wwwAuthenticate: 'Bearer realm="candor"',
      retryAfter: null,
    });
    const forged = `candor_${'0'.repeat(12)}_${'A'.repeat(43)}`;
    const unknown = await both(forged);
    expect(unknown.status).toBe(401);
    expect(unknown.wwwAuthenticate).toContain('error="invalid_token"');
    expect((await batch(2)).status).toBe(401);
  });

  it('403 out of scope, on both paths and for records', async () => {
    const a = await both('recorder');
    expect(a.status).toBe(403);
    expect(a.code).toBe('FORBIDDEN');
    expect(a.wwwAuthenticate).toContain('scope="entries"');
    expect((await batch(1, 'recorder')).status).toBe(403);
    const record = signed(deployment('fraud-detector', 'staging', 'a'.repeat(64)), RKEYS.ci);
    const post = (name?: string): Promise<Response> =>
      fetch(`${server!.url}/v1/records`, {
        method: 'POST',
        body: record as BodyInit,
        headers: { 'content-type': 'application/json', ...auth(name) },
      });
    expect((await answer(await post())).status).toBe(401);
    expect((await answer(await post('ci'))).code).toBe('FORBIDDEN');
    // A records token logs the record (through the app's own /v1/entries, as the server).
    const ok = await post('recorder');
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(((await ok.json()) as { record: { signer: string } }).record.signer).toBe('release-ci');
    // candor record sends CANDOR_TOKEN; without it the log refuses the record (exit 3).
    await writeFile(join(dir, 'alice.pem'), ed25519Pem(RFC8032.A.seed));
    const args = ['record', 'model-update', '--model', 'fraud', '--model-digest', `sha256:${'b'.repeat(64)}`,
      '--reason', 'retrain', '--key', join(dir, 'alice.pem'), '--url', server!.url];
    const refused = await runCandor(args);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('UNAUTHENTICATED');
    const rec = await runCandor(args, { CANDOR_TOKEN: tokens.recorder! });
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ record: { signer: 'alice' } });
  });

  it('a token in scope writes, on both paths, in batches, and with candor add', async () => {
    expect((await both('ci')).status).toBe(200);
    expect((await batch(3, 'ci')).status).toBe(200);
    await writeFile(join(dir, 'e.txt'), 'added with CANDOR_TOKEN');
    const add = await runCandor(['add', '--url', server!.url, join(dir, 'e.txt')], { CANDOR_TOKEN: tokens.ci! });
    expect(add.code, add.stderr).toBe(0);
    const refused = await runCandor(['add', '--url', server!.url, join(dir, 'e.txt')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401');
  });

  it('429 with Retry-After over the rate, on both paths', async () => {
    // A bucket of one request a second: of 6 requests sent at once on each path, at most
    // one or two (a refill while they are answered) pass, and the others are refused alike.
    const burst = await Promise.all([
      ...Array.from({ length: 6 }, () => postEntry('fast', 'slow')),
      ...Array.from({ length: 6 }, () => postEntry('app', 'slow')),
    ]);
    const limited = { status: 429, code: 'RATE_LIMITED', wwwAuthenticate: null, retryAfter: '1', body: expect.any(String) };
    const [fast, app] = [burst.slice(0, 6), burst.slice(6)];
    for (const answers of [fast, app]) expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect(burst.filter((a) => a.status === 200).length).toBeLessThanOrEqual(2);
    for (const a of burst) if (a.status !== 200) expect(a).toEqual({ ...limited, body: burst.find((b) => b.status === 429)!.body });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await postEntry('app', 'slow')).status).toBe(200);
  });

  it('429 with Retry-After over the daily quota, counted per entry', async () => {
    expect((await batch(3, 'metered')).status).toBe(200); // 3 of 4
    const over = await batch(2, 'metered');
    expect(over.status).toBe(429);
    expect(over.code).toBe('QUOTA_EXCEEDED');
    const secondsToMidnight = (Date.UTC(...utcTomorrow()) - Date.now()) / 1000;
    expect(Number(over.retryAfter)).toBeGreaterThan(secondsToMidnight - 60);
    expect(Number(over.retryAfter)).toBeLessThanOrEqual(Math.ceil(secondsToMidnight) + 1);
    expect((await postEntry('fast', 'metered')).status).toBe(200); // 4 of 4
    const fast = await postEntry('fast', 'metered');
    const app = await postEntry('app', 'metered');
    expect(fast.code).toBe('QUOTA_EXCEEDED');
    expect(app.body).toBe(fast.body);
    expect(fast.status).toBe(429);
    expect(app.status).toBe(429);
    expect(Math.abs(Number(app.retryAfter) - Number(fast.retryAfter))).toBeLessThanOrEqual(1);
  });

  it('keeps reads public and counts writes per token in /metrics', async () => {
    for (const path of ['/checkpoint', '/v1/entries/0', '/tile/0/000.p/1', '/v1/info', '/healthz']) {
      const res = await fetch(server!.url + path);
      expect(res.status, path).toBe(200);
      await res.body?.cancel();
    }
    expect((await fetch(`${server!.url}/v1/proof/inclusion?index=0&size=2`)).status).toBe(200);
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    expect(metrics).toMatch(/candor_write_unauthenticated_total [1-9]\d*\n/);
    expect(metrics).toMatch(/candor_token_requests_total\{token="slow",result="refused"\} (10|11)\n/);
    expect(metrics).toMatch(/candor_token_entries_total\{token="metered",result="accepted"\} 4\n/);
    expect(metrics).toMatch(/candor_token_entries_total\{token="metered",result="refused"\} 4\n/);
    expect(metrics).toMatch(/candor_token_entries_total\{token="ci",result="accepted"\} 6\n/);
  });

  it('a revoked token stops working, and a new one works, without a restart', async () => {
    const pid = server!.proc.pid;
    expect((await postEntry('fast', 'ci')).status).toBe(200);
    const revoke = await runCandor(['token', 'revoke', '--name', 'ci', '--data', data]);
    expect(revoke.code, revoke.stderr).toBe(0);
    await until('the revocation', async () => ((await postEntry('fast', 'ci')).status === 401 ? true : undefined));
    expect((await postEntry('app', 'ci')).status).toBe(401);
    expect((await runCandor(['token', 'revoke', '--name', 'ci', '--data', data])).code).toBe(1);
    // A new token, picked up on SIGHUP (or by the watch, whichever comes first).
    tokens.late = await create('late', '--scope', 'entries');
    server!.proc.kill('SIGHUP');
    await until('the new token', async () => ((await postEntry('fast', 'late')).status === 200 ? true : undefined));
    expect(server!.proc.pid).toBe(pid);
    expect(server!.proc.exitCode).toBeNull();
    expect(server!.output()).toMatch(/tokens: reloaded .*tokens\.json: 4 API tokens/);
    // A broken file is not loaded: the tokens in force stay, and the server says so.
    await writeFile(join(data, 'tokens.json'), '{"tokens": [');
    server!.proc.kill('SIGHUP');
    await until('the warning', async () => (/tokens: .* not reloaded/.test(server!.output()) ? true : undefined));
    expect((await postEntry('fast', 'late')).status).toBe(200);
    expect((await postEntry('app', 'ci')).status).toBe(401);
  });
});

describe('open writes off loopback', () => {
  it('refuse to start without tokens or --open-writes, before creating anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'candor-open-writes-'));
    try {
      const data = join(dir, 'data');
      const r = await runCandor(['serve', '--data', data, '--host', '0.0.0.0', '--port', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('refusing to serve on 0.0.0.0 without API tokens');
      expect(r.stderr).toContain('--open-writes');
      expect(existsSync(data)).toBe(false);
      // Nor with a tokens file that is missing or does not parse.
      const missing = await runCandor(['serve', '--data', data, '--tokens', join(dir, 'none.json'), '--port', '0']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('none.json');
      await writeFile(join(dir, 'bad.json'), '{"tokens": [{"name": "x"}]}');
      const bad = await runCandor(['serve', '--data', data, '--tokens', join(dir, 'bad.json'), '--port', '0']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('tokens[0]');
      // Nor with one that others may write: they could grant themselves writes.
      await writeFile(join(dir, 'open.json'), '{"tokens": []}');
      await chmod(join(dir, 'open.json'), 0o666);
      const open = await runCandor(['serve', '--data', data, '--tokens', join(dir, 'open.json'), '--port', '0']);
      expect(open.code).toBe(1);
      expect(open.stderr).toContain('chmod 600');
      expect(existsSync(data)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function utcTomorrow(): [number, number, number] {
  const d = new Date();
  return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1];
}
