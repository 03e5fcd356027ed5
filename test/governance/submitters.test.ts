import { afterEach, describe, expect, test } from 'vitest';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStatement, signStatement } from '../../src/governance/record.js';
import {
  SubmitterRegistry,
  allowsEnvironment,
  parseSubmitters,
  type ReloadResult,
} from '../../src/governance/submitters.js';
import { verifyRecord } from '../../src/governance/verify-record.js';
import { utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { KEYS, allowlistJson, modelUpdate } from './helpers.js';

const alicePem = KEYS.alice.publicKey.key.export({ type: 'spki', format: 'pem' }).toString();
const compact = (k: keyof typeof KEYS): string =>
  Buffer.from(KEYS[k].publicKey.spki).toString('base64');
const file = (submitters: unknown[]): Uint8Array => utf8(JSON.stringify({ submitters }));

describe('parseSubmitters', () => {
  test('reads names, roles, environments, keyids and both key forms', () => {
    const list = parseSubmitters(
      file([
        { name: 'alice', roles: ['engineer', 'engineer'], publicKey: alicePem },
        {
          name: 'bob',
          roles: ['approver', 'engineer'],
          keyid: 'bob-2026',
          environments: ['prod-*'],
          publicKey: compact('bob'),
        },
      ])
    );
    const [alice, bob] = list.submitters;
    expect(alice).toMatchObject({
      name: 'alice',
      roles: ['engineer'],
      keyid: KEYS.alice.publicKey.fingerprint,
    });
    expect(alice!.environments).toBeUndefined();
    expect(bob).toMatchObject({ name: 'bob', keyid: 'bob-2026', environments: ['prod-*'] });
    expect(list.byKeyid('bob-2026')).toEqual([bob]);
    expect(list.byKeyid(KEYS.bob.publicKey.fingerprint)).toEqual([bob]);
    expect(list.byKeyid('nobody')).toEqual([]);
    expect(allowsEnvironment(bob!, 'prod-eu')).toBe(true);
    expect(allowsEnvironment(bob!, 'staging')).toBe(false);
    expect(allowsEnvironment(alice!, 'anything')).toBe(true);
  });

  test('an empty list is valid (nobody may submit)', () => {
    expect(parseSubmitters(file([])).submitters).toEqual([]);
  });

  const ok = { name: 'alice', roles: ['engineer'], publicKey: compact('alice') };
  test.each([
    ['not JSON', utf8('{'), /not valid JSON/],
    ['no submitters array', utf8('{"users": []}'), /"submitters" array/],
    [
      'an unknown top-level field',
      utf8(JSON.stringify({ submitters: [], version: 2 })),
      /"version" is not a known field/,
    ],
    [
      'an unknown entry field',
      file([{ ...ok, role: 'x' }]),
      /submitters\[0\]\.role is not a known field/,
    ],
    ['a name with a space', file([{ ...ok, name: 'alice smith' }]), /name must be/],
    ['an unknown role', file([{ ...ok, roles: ['aprover'] }]), /roles must be/],
    ['no roles', file([{ ...ok, roles: [] }]), /roles must be/],
    [
      'a bad environment pattern',
      file([{ ...ok, environments: ['prod eu'] }]),
      /environments must be/,
    ],
    ['a bad key', file([{ ...ok, publicKey: 'AAAA' }]), /publicKey/],
    ['an empty keyid', file([{ ...ok, keyid: '' }]), /keyid must be/],
    [
      'a duplicate keyid',
      file([
        ok,
        { ...ok, name: 'bob', publicKey: compact('bob'), keyid: KEYS.alice.publicKey.fingerprint },
      ]),
      /appears twice \(alice, bob\)/,
    ],
    [
      'two equal custom keyids',
      file([
        { ...ok, keyid: 'k' },
        { ...ok, name: 'bob', publicKey: compact('bob'), keyid: 'k' },
      ]),
      /"k" appears twice/,
    ],
    [
      'a duplicate key',
      file([ok, { ...ok, name: 'alice2', keyid: 'other' }]),
      /same key appears twice \(alice, alice2\)/,
    ],
  ])('refuses %s', (_name, bytes, why) => {
    expect(() => parseSubmitters(bytes)).toThrow(why);
  });

  test('refuses a file over 1 MiB: TOO_LARGE', () => {
    try {
      parseSubmitters(new Uint8Array(1024 * 1024 + 1));
      expect.unreachable();
    } catch (err) {
      expect(isLogError(err, 'TOO_LARGE')).toBe(true);
    }
  });
});

describe('SubmitterRegistry: reload without restart', () => {
  let dir = '';
  let registry: SubmitterRegistry | undefined;
  afterEach(async () => {
    registry?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const mallory = { name: 'mallory', roles: ['engineer'], publicKey: compact('mallory') };
  const malloryRecord = signStatement(buildStatement(modelUpdate()), KEYS.mallory.signer()).entry;

  test('reload() puts a new list in force; a bad file keeps the old one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-submitters-'));
    const path = join(dir, 'submitters.json');
    await writeFile(path, allowlistJson());
    registry = await SubmitterRegistry.open(path);
    expect(() => verifyRecord(malloryRecord, registry!.current)).toThrow(/allowlist/);
    expect(await registry.reload()).toEqual({ changed: false, count: 3 });

    const before = registry.current;
    const parsed = JSON.parse(allowlistJson()) as { submitters: unknown[] };
    await writeFile(path, JSON.stringify({ submitters: [...parsed.submitters, mallory] }));
    const [r1, r2] = await Promise.all([registry.reload(), registry.reload()]);
    expect(r1).toEqual({ changed: true, count: 4 });
    expect(r2).toEqual(r1);
    expect(verifyRecord(malloryRecord, registry.current).signer.name).toBe('mallory');
    // the list a request took before the reload is unchanged
    expect(() => verifyRecord(malloryRecord, before)).toThrow(/allowlist/);

    await writeFile(path, '{"submitters": [');
    await expect(registry.reload()).rejects.toThrow(/not valid JSON/);
    expect(registry.current.submitters).toHaveLength(4);
  });

  test('watch() reloads when the file is replaced by rename, as editors and config management do', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-submitters-'));
    const path = join(dir, 'submitters.json');
    await writeFile(path, allowlistJson());
    registry = await SubmitterRegistry.open(path);
    const reloads: ReloadResult[] = [];
    const errors: unknown[] = [];
    const reloaded = new Promise<void>((resolve) => {
      registry!.watch({
        intervalMs: 10,
        onReload: (r) => {
          reloads.push(r);
          resolve();
        },
        onError: (e) => errors.push(e),
      });
    });
    await writeFile(join(dir, 'new.json'), JSON.stringify({ submitters: [mallory] }));
    await rename(join(dir, 'new.json'), path);
    await reloaded;
    expect(reloads[0]).toEqual({ changed: true, count: 1 });
    expect(errors).toEqual([]);
    expect(registry.current.submitters.map((s) => s.name)).toEqual(['mallory']);
  });
});
