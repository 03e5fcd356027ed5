import { afterEach, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addSubmitter,
  editSubmittersFile,
  formatSubmittersFile,
  removeSubmitter,
} from '../../src/governance/submitters-file.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import { utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { KEYS } from './helpers.js';

const compact = (k: keyof typeof KEYS): string => Buffer.from(KEYS[k].publicKey.spki).toString('base64');
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const entries = (b: Uint8Array): unknown[] => (JSON.parse(text(b)) as { submitters: unknown[] }).submitters;
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isLogError(err) ? err.code : 'not a LogError';
  }
  return undefined;
};

// A hand-written file: field order, a PEM key and a custom keyid that an edit must keep.
const handWritten = {
  submitters: [
    { publicKey: compact('bob'), name: 'bob', roles: ['approver'], environments: ['prod-*'] },
    { name: 'ci', keyid: 'release-2026', roles: ['ci'], publicKey: compact('ci') },
  ],
};
const original = utf8(JSON.stringify(handWritten, null, 4));

describe('addSubmitter', () => {
  test('appends the entry and keeps the others, their order and their fields', () => {
    const next = addSubmitter(original, {
      name: 'alice',
      roles: ['engineer'],
      environments: ['staging'],
      publicKey: KEYS.alice.publicKey,
      until: '2027-01-01T00:00:00Z',
    });
    expect(entries(next)).toEqual([
      ...handWritten.submitters,
      {
        name: 'alice',
        roles: ['engineer'],
        environments: ['staging'],
        keyid: KEYS.alice.publicKey.fingerprint,
        publicKey: compact('alice'),
        until: '2027-01-01T00:00:00Z',
      },
    ]);
    // Field order as written, one entry per line.
    expect(text(next).split('\n')[2]).toBe(`    ${JSON.stringify(handWritten.submitters[0])},`);
    const list = parseSubmitters(next);
    expect(list.submitters.map((s) => s.name)).toEqual(['bob', 'ci', 'alice']);
    expect(list.byKeyid(KEYS.alice.publicKey.fingerprint)[0]?.until).toBe('2027-01-01T00:00:00Z');
  });

  test('starts a file that does not exist yet', () => {
    const next = addSubmitter(undefined, { name: 'alice', roles: ['engineer'], publicKey: KEYS.alice.publicKey });
    expect(parseSubmitters(next).submitters).toHaveLength(1);
  });

  test('allows a second key for a name (rotation)', () => {
    const once = addSubmitter(original, { name: 'bob', roles: ['approver'], publicKey: KEYS.alice.publicKey });
    expect(parseSubmitters(once).submitters.filter((s) => s.name === 'bob')).toHaveLength(2);
  });

  test('refuses a key or a keyid already on the list, naming the entry', () => {
    expect(() => addSubmitter(original, { name: 'robert', roles: ['engineer'], publicKey: KEYS.bob.publicKey })).toThrow(
      /this key is already on the list as bob \(entry 1/
    );
    expect(() =>
      addSubmitter(original, { name: 'alice', roles: ['engineer'], keyid: 'release-2026', publicKey: KEYS.alice.publicKey })
    ).toThrow(/keyid release-2026 is already on the list, for ci \(entry 2\)/);
    expect(codeOf(() => addSubmitter(original, { name: 'x', roles: ['ci'], publicKey: KEYS.ci.publicKey }))).toBe('CONFLICT');
  });

  test('never produces a file the parser refuses, nor edits one it refuses', () => {
    expect(
      codeOf(() => addSubmitter(original, { name: 'alice', roles: ['engineer'], environments: ['bad env'], publicKey: KEYS.alice.publicKey }))
    ).toBe('MALFORMED');
    expect(
      codeOf(() => addSubmitter(original, { name: 'alice', roles: ['engineer'], until: 'tomorrow', publicKey: KEYS.alice.publicKey }))
    ).toBe('MALFORMED');
    const broken = utf8(JSON.stringify({ submitters: [{ name: 'bob', roles: ['owner'], publicKey: compact('bob') }] }));
    expect(codeOf(() => addSubmitter(broken, { name: 'alice', roles: ['engineer'], publicKey: KEYS.alice.publicKey }))).toBe(
      'MALFORMED'
    );
  });
});

describe('removeSubmitter', () => {
  test('removes the one entry and keeps the others as written', () => {
    const { bytes, removed } = removeSubmitter(original, 'bob');
    expect(removed).toEqual([handWritten.submitters[0]]);
    expect(entries(bytes)).toEqual([handWritten.submitters[1]]);
    expect(entries(removeSubmitter(bytes, 'ci').bytes)).toEqual([]);
  });

  test('needs a keyid (or fingerprint) when the name has several keys', () => {
    const two = addSubmitter(original, { name: 'bob', roles: ['approver'], publicKey: KEYS.alice.publicKey });
    expect(() => removeSubmitter(two, 'bob')).toThrow(/bob has 2 keys .*--keyid/);
    const { bytes } = removeSubmitter(two, 'bob', KEYS.bob.publicKey.fingerprint);
    expect(parseSubmitters(bytes).submitters.map((s) => [s.name, s.publicKey.fingerprint])).toEqual([
      ['ci', KEYS.ci.publicKey.fingerprint],
      ['bob', KEYS.alice.publicKey.fingerprint],
    ]);
    expect(removeSubmitter(original, 'ci', 'release-2026').removed).toEqual([handWritten.submitters[1]]);
  });

  test('says NOT_FOUND for a name or keyid not on the list', () => {
    expect(codeOf(() => removeSubmitter(original, 'carol'))).toBe('NOT_FOUND');
    expect(codeOf(() => removeSubmitter(original, 'bob', 'release-2026'))).toBe('NOT_FOUND');
  });
});

describe('editSubmittersFile', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  test('replaces the file with the edit, keeps its mode and leaves no temporary or lock file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-submitters-file-'));
    const path = join(dir, 'submitters.json');
    await writeFile(path, original, { mode: 0o640 });
    await editSubmittersFile(path, (bytes) =>
      addSubmitter(bytes, { name: 'alice', roles: ['engineer'], publicKey: KEYS.alice.publicKey })
    );
    expect(parseSubmitters(await readFile(path)).submitters.map((s) => s.name)).toEqual(['bob', 'ci', 'alice']);
    expect((await stat(path)).mode % 0o1000).toBe(0o640);
    expect(await readdir(dir)).toEqual(['submitters.json']);
  });

  test('creates a missing file (mode 0644)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-submitters-file-'));
    const path = join(dir, 'new.json');
    await editSubmittersFile(path, (bytes) => {
      expect(bytes).toBeUndefined();
      return formatSubmittersFile([]);
    });
    expect(parseSubmitters(await readFile(path)).submitters).toEqual([]);
    expect((await stat(path)).mode % 0o1000).toBe(0o644);
  });

  test('leaves the file untouched when the edit throws, and refuses while another edit holds the lock', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-submitters-file-'));
    const path = join(dir, 'submitters.json');
    await writeFile(path, original);
    await expect(editSubmittersFile(path, (bytes) => removeSubmitter(bytes!, 'carol').bytes)).rejects.toThrow(/no submitter carol/);
    expect(text(await readFile(path))).toBe(text(original));
    expect(await readdir(dir)).toEqual(['submitters.json']);
    await writeFile(`${path}.lock`, '');
    await expect(editSubmittersFile(path, (bytes) => removeSubmitter(bytes!, 'bob').bytes)).rejects.toThrow(
      /submitters.json.lock exists/
    );
    expect(text(await readFile(path))).toBe(text(original));
  });
});
