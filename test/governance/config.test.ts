import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import {
  diffConfigs,
  formatConfigDiff,
  type ParameterChange,
} from '../../src/governance/config-diff.js';
import { snapshotConfig } from '../../src/governance/config-snapshot.js';
import { validateGovernancePredicate } from '../../src/governance/predicate.js';
import { utf8 } from '../../src/util/bytes.js';
import { SHA_A, SHA_B, modelUpdate } from './helpers.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('diffConfigs', () => {
  const secretA = { digest: { sha256: SHA_A } };
  const secretB = { digest: { sha256: SHA_B } };
  const cases: Array<[string, object, object, ParameterChange[]]> = [
    ['identical', { t: '0.2', n: { m: 1 } }, { t: '0.2', n: { m: 1 } }, []],
    ['decimal strings compared numerically', { t: '0.80' }, { t: '0.8' }, []],
    [
      'a number and its decimal string are equal',
      { max_tokens: 1024, t: 0.5 },
      { max_tokens: '1024', t: '5e-1' },
      [],
    ],
    [
      'a number that went down',
      { 'guardrail.toxicity_threshold': '0.85' },
      { 'guardrail.toxicity_threshold': '0.8' },
      [
        {
          path: 'guardrail.toxicity_threshold',
          kind: 'changed',
          old: '0.85',
          new: '0.8',
          direction: 'decreased',
        },
      ],
    ],
    [
      'a number that went up, beyond float precision',
      { n: '0.10000000000000000001' },
      { n: '0.10000000000000000002' },
      [
        {
          path: 'n',
          kind: 'changed',
          old: '0.10000000000000000001',
          new: '0.10000000000000000002',
          direction: 'increased',
        },
      ],
    ],
    ['negative and exponent forms', { n: -1.5 }, { n: '-15e-1' }, []],
    [
      'nested paths',
      { guardrail: { toxicity: { threshold: 0.9 } } },
      { guardrail: { toxicity: { threshold: 0.7 } } },
      [
        {
          path: 'guardrail.toxicity.threshold',
          kind: 'changed',
          old: 0.9,
          new: 0.7,
          direction: 'decreased',
        },
      ],
    ],
    [
      'added and removed',
      { a: 1 },
      { b: true },
      [
        { path: 'a', kind: 'removed', old: 1 },
        { path: 'b', kind: 'added', new: true },
      ],
    ],
    [
      'array items by index',
      { stop: ['###', 'END'] },
      { stop: ['###'] },
      [{ path: 'stop[1]', kind: 'removed', old: 'END' }],
    ],
    [
      'a string that is not a number',
      { model: 'v1' },
      { model: 'v2' },
      [{ path: 'model', kind: 'changed', old: 'v1', new: 'v2' }],
    ],
    [
      'types that differ',
      { flag: true },
      { flag: 'true' },
      [{ path: 'flag', kind: 'changed', old: true, new: 'true' }],
    ],
    ['a null', { a: null }, { a: 0 }, [{ path: 'a', kind: 'changed', old: null, new: 0 }]],
    ['an empty group added', {}, { g: {} }, [{ path: 'g', kind: 'added', new: {} }]],
    [
      'a secret that changed',
      { system_prompt: secretA },
      { system_prompt: secretB },
      [{ path: 'system_prompt', kind: 'changed', old: secretA, new: secretB, secret: true }],
    ],
    [
      'a secret that did not',
      { system_prompt: secretA },
      { system_prompt: { ...secretA, uri: 's3://x' } },
      [],
    ],
    [
      'a value that became a secret',
      { key: 'x' },
      { key: secretA },
      [{ path: 'key', kind: 'changed', old: 'x', new: secretA, secret: true }],
    ],
  ];
  test.each(cases)('%s', (_name, a, b, want) => {
    expect(diffConfigs(a as never, b as never).changes).toEqual(want);
  });

  test('snapshots: the digest line says whether the files differ', () => {
    const d = diffConfigs(
      { digest: { sha256: SHA_A }, parameters: { t: '0.2' } },
      { digest: { sha256: SHA_B }, parameters: { t: '0.20' } }
    );
    expect(d.digest).toEqual({ old: { sha256: SHA_A }, new: { sha256: SHA_B }, changed: true });
    expect(d.changes).toEqual([]);
  });

  test('the formatter shows secrets only as digests', () => {
    const d = diffConfigs(
      {
        digest: { sha256: SHA_A },
        parameters: { temperature: '0.2', system_prompt: { digest: { sha256: SHA_A } }, old: 1 },
      },
      {
        digest: { sha256: SHA_B },
        parameters: {
          temperature: '0.7',
          system_prompt: { digest: { sha256: SHA_B } },
          max_tokens: 1024,
        },
      }
    );
    expect(formatConfigDiff(d)).toBe(
      `config digest: sha256:${SHA_A} -> sha256:${SHA_B}\n` +
        '+ max_tokens: 1024\n' +
        '- old: 1\n' +
        `~ system_prompt: <secret sha256:${SHA_A}> -> <secret sha256:${SHA_B}>\n` +
        '~ temperature: "0.2" -> "0.7" (increased)\n'
    );
    expect(formatConfigDiff(diffConfigs({ a: 1 }, { a: 1 }))).toBe('no parameter differences\n');
  });
});

describe('snapshotConfig', () => {
  const file = JSON.stringify({
    temperature: '0.2',
    max_tokens: 1024,
    system_prompt: 'You are a careful assistant.',
    guardrail: { toxicity_threshold: '0.85', provider_api_key: 'sk-live-123' },
    db: { host: 'db.internal', password: 'hunter2' },
    already: { digest: { sha256: SHA_A } },
  });
  const bytes = utf8(file);

  test('digest of the file bytes; secrets and prompts only as digests; the result is a valid config', () => {
    const s = snapshotConfig(bytes, { secrets: ['db.host'] });
    expect(s.digest).toEqual({ sha256: sha(file) });
    expect(s.parameters).toEqual({
      temperature: '0.2',
      max_tokens: 1024,
      system_prompt: { digest: { sha256: sha('You are a careful assistant.') } },
      guardrail: {
        toxicity_threshold: '0.85',
        provider_api_key: { digest: { sha256: sha('sk-live-123') } },
      },
      db: {
        host: { digest: { sha256: sha('db.internal') } },
        password: { digest: { sha256: sha('hunter2') } },
      },
      already: { digest: { sha256: SHA_A } },
    });
    expect(JSON.stringify(s)).not.toMatch(/hunter2|sk-live|careful/);
    expect(() => validateGovernancePredicate(modelUpdate({ config: s }))).not.toThrow();
  });

  test('--inline exempts a prompt, never a credential; --param selects', () => {
    const s = snapshotConfig(bytes, {
      inline: ['system_prompt', 'db'],
      select: ['system_prompt', 'guardrail.toxicity_threshold', 'db'],
    });
    expect(s.parameters).toEqual({
      system_prompt: 'You are a careful assistant.',
      guardrail: { toxicity_threshold: '0.85' },
      db: { host: 'db.internal', password: { digest: { sha256: sha('hunter2') } } },
    });
  });

  test('a whole secret group is one digest', () => {
    const s = snapshotConfig(utf8('{"credentials": {"user": "u", "key": "k"}}'));
    expect(s.parameters).toEqual({
      credentials: { digest: { sha256: sha('{"key":"k","user":"u"}') } },
    });
  });

  test.each([
    ['not JSON', '{', /not valid JSON/],
    ['not an object', '[1]', /JSON object/],
    ['a bad parameter name', '{"top p": 1}', /not a valid parameter name/],
  ])('refuses %s', (_name, text, why) => {
    expect(() => snapshotConfig(utf8(text))).toThrow(why);
  });

  test('refuses a --param that matches nothing', () => {
    expect(() => snapshotConfig(bytes, { select: ['temperatur'] })).toThrow(
      /no parameter temperatur/
    );
  });
});
