/**
 * `candor submitters add|list|remove` with the real program: an allowlist built from the
 * `.pub` files `candor submitter-key` writes, and a running `candor serve --submitters`
 * that takes an added submitter's records and refuses a removed one's, without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCandor, startServerProcess, type CliResult, type ServerProcess } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';

const ORIGIN = 'submitters.example/log';

describe('candor submitters', () => {
  let dir = '';
  let server: ServerProcess | undefined;
  const p = (name: string): string => join(dir, name);
  let n = 0;
  // A deployment record signed with KEY, logged with --wait: exit 0 logged, 3 refused.
  const record = (key: string): Promise<CliResult> =>
    runCandor([
      'record', 'deployment', '--model', 'fraud', '--env', 'prod',
      '--model-digest', `sha256:${createHash('sha256').update(`weights ${n}`).digest('hex')}`,
      '--reason', `change ${n++}`, '--key', p(key), '--wait', '--timeout', '10', '--url', server!.url,
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-submitters-e2e-'));
    for (const name of ['alice', 'carol']) {
      const made = await runCandor(['submitter-key', '--out', p(`${name}.key`)]);
      expect(made.code, made.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await server?.kill().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('builds the allowlist from .pub files, lists it and refuses a duplicate', async () => {
    const added = await runCandor(['submitters', 'add', '--file', p('submitters.json'), '--key', p('alice.key.pub')]);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'alice', roles: ['engineer'] });
    const ci = await runCandor([
      'submitters', 'add', '--key', p('carol.key.pub'), '--name', 'release-ci', '--role', 'ci',
      '--env', 'staging', '--env', 'prod-*', '--until', '2030-01-01T00:00:00Z',
    ], { CANDOR_SUBMITTERS: p('submitters.json') });
    expect(ci.code, ci.stderr).toBe(0);
    const list = await runCandor(['submitters', 'list', '--file', p('submitters.json')]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^alice {2}engineer {2}all environments {2}ed25519 keyid [0-9a-f]{64}\nrelease-ci {2}ci {2}staging,prod-\* {2}ed25519 keyid [0-9a-f]{64} {2}until 2030-01-01T00:00:00Z\n$/);

    const before = await readFile(p('submitters.json'), 'utf8');
    const again = await runCandor(['submitters', 'add', '--file', p('submitters.json'), '--key', p('alice.key.pub'), '--name', 'alice2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/this key is already on the list as alice \(entry 1/);
    const priv = await runCandor(['submitters', 'add', '--file', p('submitters.json'), '--key', p('alice.key')]);
    expect(priv.code).toBe(2);
    expect(priv.stderr).toMatch(/is a private key: pass the public key/);
    expect(await readFile(p('submitters.json'), 'utf8')).toBe(before);

    const removed = await runCandor(['submitters', 'remove', '--file', p('submitters.json'), '--name', 'release-ci']);
    expect(removed.code, removed.stderr).toBe(0);
    const json = await runCandor(['submitters', 'list', '--file', p('submitters.json'), '--json']);
    expect((JSON.parse(json.stdout) as { name: string }[]).map((e) => e.name)).toEqual(['alice']);
    expect((await runCandor(['submitters', 'remove', '--file', p('submitters.json'), '--name', 'release-ci'])).code).toBe(1);
    expect((await readdir(dir)).filter((f) => f.startsWith('submitters'))).toEqual(['submitters.json']);
  });

  it('a running server takes an added submitter and refuses a removed one, without a restart', async () => {
    server = await startServerProcess(p('data'), ['--origin', ORIGIN, '--submitters', p('submitters.json')]);
    expect((await record('alice.key')).code).toBe(0);
    const refused = await record('carol.key');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/UNKNOWN_KEY|not made by any key on the submitter allowlist/);

    const added = await runCandor(['submitters', 'add', '--file', p('submitters.json'), '--key', p('carol.key.pub')]);
    expect(added.code, added.stderr).toBe(0);
    const logged = await until('carol accepted', async () => {
      const r = await record('carol.key');
      return r.code === 0 ? r : undefined;
    }, 8000, 100);
    expect(JSON.parse(logged.stdout)).toMatchObject({ record: { signer: 'carol' } });
    expect(server.output()).toMatch(/reloaded .*submitters.json: 2 submitter keys/);

    const removed = await runCandor(['submitters', 'remove', '--file', p('submitters.json'), '--name', 'carol']);
    expect(removed.code, removed.stderr).toBe(0);
    const out = await until('carol refused', async () => {
      const r = await record('carol.key');
      return r.code === 3 ? r : undefined;
    }, 8000, 100);
    expect(out.stderr).toMatch(/UNKNOWN_KEY|not made by any key on the submitter allowlist/);
    expect(server.output()).toMatch(/reloaded .*submitters.json: 1 submitter keys?/);
    expect((await record('alice.key')).code).toBe(0);
  }, 60_000);
});
