import { describe, expect, test } from 'vitest';
import {
  digestsMatch,
  isInTotoPayloadType,
  parseStatement,
  validateStatement,
} from '../../src/governance/intoto.js';
import { parseStrictJson, stableStringify } from '../../src/governance/strict-json.js';
import { utf8 } from '../../src/util/bytes.js';
import { SHA_A } from './helpers.js';

const good = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'model:x', digest: { sha256: SHA_A } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: { buildDefinition: {} },
};

describe('validateStatement', () => {
  test('accepts a Statement v1 and keeps unknown fields out of the way', () => {
    const s = validateStatement({
      ...good,
      extra: 1,
      subject: [{ ...good.subject[0], uri: 'hf://x', foo: 2 }],
    });
    expect(s.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(s.subject[0]!.digest).toEqual({ sha256: SHA_A });
  });

  test('an unset predicate is {}', () => {
    expect(validateStatement({ ...good, predicate: undefined }).predicate).toEqual({});
  });

  test.each([
    ['a v0.1 _type', { ...good, _type: 'https://in-toto.io/Statement/v0.1' }, /_type: must be/],
    ['no subject', { ...good, subject: undefined }, /subject: must be a non-empty array/],
    ['an empty subject', { ...good, subject: [] }, /subject: must be a non-empty array/],
    [
      'a subject without digest',
      { ...good, subject: [{ name: 'x' }] },
      /subject\[0\]\.digest: is required/,
    ],
    [
      'an empty digest set',
      { ...good, subject: [{ digest: {} }] },
      /subject\[0\]\.digest: must have at least one/,
    ],
    [
      'uppercase sha256',
      { ...good, subject: [{ digest: { sha256: SHA_A.toUpperCase() } }] },
      /sha256: must be 64 lowercase hex/,
    ],
    [
      'a short sha256',
      { ...good, subject: [{ digest: { sha256: 'abcd' } }] },
      /sha256: must be 64/,
    ],
    [
      'a 41-digit gitCommit',
      { ...good, subject: [{ digest: { gitCommit: 'a'.repeat(41) } }] },
      /40 or 64/,
    ],
    ['odd-length blake2b', { ...good, subject: [{ digest: { blake2b: 'abc' } }] }, /lowercase hex/],
    ['a numeric digest', { ...good, subject: [{ digest: { sha256: 1 } }] }, /non-empty string/],
    [
      'a bad algorithm name',
      { ...good, subject: [{ digest: { 'sha 256': SHA_A } }] },
      /bad algorithm name/,
    ],
    [
      'a numeric subject name',
      { ...good, subject: [{ name: 1, digest: { sha256: SHA_A } }] },
      /subject\[0\]\.name/,
    ],
    [
      'no predicateType',
      { ...good, predicateType: undefined },
      /predicateType: must be a type URI/,
    ],
    ['a predicateType that is no URI', { ...good, predicateType: 'provenance' }, /predicateType/],
    ['an array predicate', { ...good, predicate: [] }, /predicate: must be an object/],
    ['an array statement', [good], /must be a JSON object/],
  ])('rejects %s', (_name, value, why) => {
    expect(() => validateStatement(value)).toThrow(why);
  });

  test('accepts unknown algorithms as opaque strings, git SHA-256 ids and dirHash', () => {
    const subject = [
      { digest: { somecoolhash: 'AbC/+=', gitCommit: 'b'.repeat(64), dirHash: 'c'.repeat(64) } },
    ];
    expect(() => validateStatement({ ...good, subject })).not.toThrow();
  });

  test('parseStatement refuses duplicate keys (one signature, one meaning)', () => {
    const text = JSON.stringify(good).replace(
      '"predicateType"',
      '"predicateType":"https://a/b","predicateType"'
    );
    expect(() => parseStatement(utf8(text))).toThrow(/duplicate key "predicateType"/);
  });
});

test('payload types: in-toto media types only', () => {
  expect(isInTotoPayloadType('application/vnd.in-toto+json')).toBe(true);
  expect(isInTotoPayloadType('application/vnd.in-toto.provenance+json')).toBe(true);
  expect(isInTotoPayloadType('application/json')).toBe(false);
  expect(isInTotoPayloadType('application/vnd.in-toto+JSON')).toBe(false);
});

test('DigestSets match on any shared algorithm', () => {
  expect(digestsMatch({ sha256: 'abcd', sha512: '1234' }, { sha256: 'abcd' })).toBe(true);
  expect(digestsMatch({ sha256: 'abcd' }, { sha256: 'fedb', sha512: 'abcd' })).toBe(false);
});

describe('strict JSON', () => {
  test.each([
    ['a lone high surrogate escape', '"\\ud800"'],
    ['a lone low surrogate escape', '"\\udc00x"'],
    ['a raw control character', '"a\u0001"'],
    ['a non-finite number', '1e400'],
    ['a leading zero', '01'],
    ['trailing commas', '[1,]'],
    ['single quotes', "{'a':1}"],
    ['trailing garbage', '{} x'],
    ['too deep nesting', '['.repeat(65) + ']'.repeat(65)],
  ])('rejects %s', (_name, text) => {
    expect(() => parseStrictJson(utf8(text))).toThrow(/JSON/);
  });

  test('parses what JSON.parse parses, and __proto__ is a plain key', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"\\u00e9\\ud83d\\ude00\\n"],"__proto__":{"x":1}}';
    const v = parseStrictJson(utf8(text)) as Record<string, unknown>;
    expect(JSON.stringify(v)).toBe(JSON.stringify(JSON.parse(text)));
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['a', '__proto__']);
  });

  test('stableStringify sorts keys and drops undefined', () => {
    expect(stableStringify({ b: 1, a: [{ d: undefined, c: 'é' }], e: null })).toBe(
      '{"a":[{"c":"é"}],"b":1,"e":null}'
    );
  });
});
