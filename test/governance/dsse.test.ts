import { describe, expect, test } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import {
  decodeDsseBase64,
  encodeEnvelope,
  pae,
  parseEnvelope,
  signEnvelope,
} from '../../src/governance/dsse.js';
import {
  ecdsaDerSignature,
  ecdsaP256SignDeterministic,
  ecdsaRawSignature,
  P256_N,
} from '../../src/governance/ecdsa.js';
import { parsePrivateKey, parsePublicKey, verifySignature } from '../../src/governance/keys.js';
import { isLogError } from '../../src/util/errors.js';
import { utf8 } from '../../src/util/bytes.js';
import {
  DSSE_SPEC_P256,
  KEYS,
  RFC8032,
  dssePrivatePem,
  dssePublicCompact,
  ed25519Pem,
  ed25519Spki,
} from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const env = (o: unknown): Uint8Array => utf8(JSON.stringify(o));

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return isLogError(err) ? err.code : `not a LogError: ${String(err)}`;
  }
  return 'no error';
}

describe('PAE', () => {
  test('matches the DSSE protocol.md vector byte for byte', () => {
    const got = pae('http://example.com/HelloWorld', utf8('hello world'));
    expect(hex(got)).toBe(
      '44535345763120323920687474703a2f2f6578616d706c652e636f6d2f48656c6c6f576f726c642031312068656c6c6f20776f726c64'
    );
  });

  test('counts the bytes of multi-byte UTF-8 types and bodies, not characters', () => {
    const type = 'application/vnd.exämple+json'; // 28 characters, 29 bytes
    const body = utf8('{"reason":"naïve ✓ 😀"}'); // 22 characters, 28 bytes
    expect(type.length).toBe(28);
    const text = Buffer.from(pae(type, body)).toString('utf8');
    expect(text).toBe(`DSSEv1 29 ${type} ${body.length} {"reason":"naïve ✓ 😀"}`);
    expect(body.length).toBe(28);
    // A signature over a character-counted PAE (a common bug) does not verify.
    const wrong = utf8(`DSSEv1 ${type.length} ${type} 22 {"reason":"naïve ✓ 😀"}`);
    const sig = KEYS.alice.signer().sign(wrong);
    expect(verifySignature(KEYS.alice.publicKey, pae(type, body), sig)).toBe(false);
    expect(
      verifySignature(
        KEYS.alice.publicKey,
        pae(type, body),
        KEYS.alice.signer().sign(pae(type, body))
      )
    ).toBe(true);
  });

  test('an empty body is "... 0 " with the trailing space', () => {
    expect(Buffer.from(pae('t', new Uint8Array())).toString()).toBe('DSSEv1 1 t 0 ');
  });
});

// Vectors from secure-systems-lab/dsse testvectors/vectors.json (Ed25519, RFC 8032 keys).
describe('DSSE test vectors (Ed25519)', () => {
  const A = parsePublicKey(ed25519Spki(RFC8032.A.public));
  const statement = 'eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==';
  const cases = [
    {
      name: 'single signature',
      envelope: {
        payload: statement,
        payloadType: 'application/vnd.in-toto+json',
        signatures: [
          {
            keyid: 'A',
            sig: '2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==',
          },
        ],
      },
      pae: '445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d',
      ok: true,
    },
    {
      name: 'URL-safe base64 payload and signature',
      envelope: {
        payload: '-_-_Pj8=',
        payloadType: 'application/vnd.in-toto+json',
        signatures: [
          {
            keyid: 'A',
            sig: 'P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==',
          },
        ],
      },
      pae: '445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203520fbffbf3e3f',
      ok: true,
    },
    {
      name: 'non-ASCII payloadType (LEN is 29 bytes)',
      envelope: {
        payload: statement,
        payloadType: 'application/vnd.exämple+json',
        signatures: [
          {
            keyid: 'A',
            sig: 'xmSk/ug66ysT7ayhkCIjhAq42zgZXSsEWuzUaNL7w2eGAdF/NU6/fRXPtmfN+5DNSAs5/i2lUnHjbbjPsu0tAw==',
          },
        ],
      },
      pae: '445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d',
      ok: true,
    },
    {
      name: 'empty payload',
      envelope: {
        payload: '',
        payloadType: 'application/vnd.in-toto+json',
        signatures: [
          {
            keyid: 'A',
            sig: 'gSggCAaTLTYyRH6FIDBem6meyIynsYy8RTHVzwx9tnTb7Bg/1jMWnuVgI/gffqmbsC2VX5/jHfkkDqsj7CDbDg==',
          },
        ],
      },
      pae: '445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020',
      ok: true,
    },
    {
      name: 'payloadType swapped after signing',
      envelope: {
        payload: statement,
        payloadType: 'application/vnd.example.other+json',
        signatures: [
          {
            keyid: 'A',
            sig: '2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==',
          },
        ],
      },
      ok: false,
    },
  ];
  test.each(cases)('$name', (c) => {
    const e = parseEnvelope(env(c.envelope));
    const message = pae(e.payloadType, e.payload);
    if (c.pae !== undefined) expect(hex(message)).toBe(c.pae);
    expect(verifySignature(A, message, e.signatures[0]!.sig)).toBe(c.ok);
  });

  test('our Ed25519 signer reproduces the vectors (deterministic)', () => {
    const signer = parsePrivateKey(ed25519Pem(RFC8032.A.seed)).signer('A');
    const e = signEnvelope('application/vnd.in-toto+json', decodeDsseBase64(statement, 'p'), [
      signer,
    ]);
    expect(b64(e.signatures[0]!.sig)).toBe(cases[0]!.envelope.signatures[0]!.sig);
  });
});

describe('ECDSA P-256', () => {
  const key = parsePublicKey(dssePublicCompact());
  const message = pae('http://example.com/HelloWorld', utf8('hello world'));
  const SPEC_SIG =
    'A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==';

  test('verifies the DSSE spec vector (raw r||s)', () => {
    expect(verifySignature(key, message, Buffer.from(SPEC_SIG, 'base64'))).toBe(true);
  });

  test('RFC 6979 signing reproduces the spec vector byte for byte', () => {
    expect(b64(ecdsaP256SignDeterministic(DSSE_SPEC_P256.d, message))).toBe(SPEC_SIG);
  });

  test('accepts the same signature in DER, as cosign and OpenSSL write it', () => {
    const der = ecdsaDerSignature(Buffer.from(SPEC_SIG, 'base64'));
    expect(der[0]).toBe(0x30);
    expect(verifySignature(key, message, der)).toBe(true);
    expect(hex(ecdsaRawSignature(der)!)).toBe(hex(Buffer.from(SPEC_SIG, 'base64')));
  });

  test('the CLI signer writes DER, deterministically, verifiable by OpenSSL', () => {
    const signer = parsePrivateKey(dssePrivatePem()).signer();
    const s1 = signer.sign(message);
    expect(hex(s1)).toBe(hex(signer.sign(message)));
    expect(hex(ecdsaRawSignature(s1)!)).toBe(hex(Buffer.from(SPEC_SIG, 'base64')));
    expect(verifySignature(key, message, s1)).toBe(true);
  });

  test('a high-S signature (n - s) verifies too: ECDSA is malleable, as in Go and OpenSSL', () => {
    const raw = Buffer.from(SPEC_SIG, 'base64');
    const s = BigInt('0x' + raw.subarray(32).toString('hex'));
    const flipped = Buffer.concat([
      raw.subarray(0, 32),
      Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex'),
    ]);
    expect(verifySignature(key, message, flipped)).toBe(true);
  });

  const der = ecdsaDerSignature(Buffer.from(SPEC_SIG, 'base64'));
  test.each([
    ['trailing byte after the DER', Buffer.concat([der, Buffer.from([0])])],
    ['a wrong outer length', Buffer.from([0x30, der[1]! + 1, ...der.subarray(2)])],
    [
      'a non-minimal integer',
      Buffer.from([0x30, der[1]! + 1, 0x02, der[3]! + 1, 0x00, ...der.subarray(4)]),
    ],
    ['63 raw bytes', Buffer.from(SPEC_SIG, 'base64').subarray(1)],
    ['r = 0', Buffer.alloc(64)],
  ])('rejects %s', (_name, sig) => {
    expect(verifySignature(key, message, new Uint8Array(sig))).toBe(false);
  });

  test('a different key or message does not verify', () => {
    expect(verifySignature(KEYS.alice.publicKey, message, Buffer.from(SPEC_SIG, 'base64'))).toBe(
      false
    );
    expect(verifySignature(key, utf8('DSSEv1 1 x 0 '), Buffer.from(SPEC_SIG, 'base64'))).toBe(
      false
    );
  });
});

describe('keys', () => {
  test('PEM and compact forms are the same key, with the same fingerprint', () => {
    const compact = parsePublicKey(dssePublicCompact());
    const pem = parsePublicKey(compact.key.export({ type: 'spki', format: 'pem' }).toString());
    expect(pem.fingerprint).toBe(compact.fingerprint);
    expect(pem.algorithm).toBe('ecdsa-p256');
    expect(compact.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each([
    ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey],
    ['RSA', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey],
  ])('refuses %s keys', (_name, k) => {
    const text = k.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKey(text)).toThrow(/not supported/);
  });

  test('reads SEC1 EC private keys (openssl ecparam -genkey) as well as PKCS #8', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    expect(sec1).toMatch(/BEGIN EC PRIVATE KEY/);
    const key = parsePrivateKey(sec1);
    const m = utf8('DSSEv1 1 t 0 ');
    expect(key.algorithm).toBe('ecdsa-p256');
    expect(verifySignature(key.publicKey, m, key.signer().sign(m))).toBe(true);
  });

  test('refuses garbage and encrypted private keys', () => {
    expect(code(() => parsePublicKey('not a key'))).toBe('MALFORMED');
    const enc = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    });
    expect(() => parsePrivateKey(enc.toString())).toThrow(/encrypted/);
  });
});

describe('base64 variants (DSSE: standard or URL-safe; padded or not)', () => {
  const bytes = Uint8Array.from([0xfb, 0xff, 0xbf, 0x3e, 0x3f]);
  test.each(['+/+/Pj8=', '+/+/Pj8', '-_-_Pj8=', '-_-_Pj8'])('accepts %s', (text) => {
    expect(hex(decodeDsseBase64(text, 'v'))).toBe(hex(bytes));
  });
  test.each([
    ['mixed alphabets', '+_-/Pj8=', /mixes/],
    ['white space', '+/+/ Pj8=', /bad character/],
    ['a newline', '+/+/\nPj8=', /bad character/],
    ['wrong padding', '+/+/Pj8==', /wrong padding/],
    ['a lone 5th character', 'QUJDR', /wrong length/],
    ['non-zero padding bits', '+/+/Pj9=', /padding bits/],
    ['padding in the middle', 'QQ==QUJD', /bad character/],
  ])('rejects %s', (_name, text, why) => {
    expect(() => decodeDsseBase64(text, 'v')).toThrow(why);
  });
});

describe('parseEnvelope', () => {
  const good = {
    payload: 'e30=',
    payloadType: 'application/vnd.in-toto+json',
    signatures: [{ keyid: 'k', sig: 'AA==' }],
  };
  test.each([
    ['not JSON', utf8('{"payload":'), 'MALFORMED'],
    ['a JSON array', env([good]), 'MALFORMED'],
    ['a byte-order mark', utf8('\ufeff' + JSON.stringify(good)), 'MALFORMED'],
    ['invalid UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d]), 'MALFORMED'],
    [
      'a duplicate key',
      utf8('{"payload":"e30=","payload":"e30=","payloadType":"t","signatures":[]}'),
      'MALFORMED',
    ],
    ['no payloadType', env({ ...good, payloadType: undefined }), 'MALFORMED'],
    ['a numeric payload', env({ ...good, payload: 1 }), 'MALFORMED'],
    ['no signatures field', env({ ...good, signatures: undefined }), 'MALFORMED'],
    ['a signature without sig', env({ ...good, signatures: [{ keyid: 'k' }] }), 'MALFORMED'],
    ['a numeric keyid', env({ ...good, signatures: [{ keyid: 1, sig: 'AA==' }] }), 'MALFORMED'],
    ['an empty sig', env({ ...good, signatures: [{ sig: '' }] }), 'MALFORMED'],
    ['bad payload base64', env({ ...good, payload: 'e30' + '*' }), 'MALFORMED'],
    ['17 signatures', env({ ...good, signatures: Array(17).fill({ sig: 'AA==' }) }), 'MALFORMED'],
    ['more than 65535 bytes', env({ ...good, payload: 'A'.repeat(70000) }), 'TOO_LARGE'],
  ])('rejects %s', (_name, bytes, want) => {
    expect(code(() => parseEnvelope(bytes))).toBe(want);
  });

  test('ignores unknown fields; an unset keyid is empty; no signatures parses (UNSIGNED is a verify error)', () => {
    const e = parseEnvelope(
      env({ ...good, extra: { x: 1 }, signatures: [{ sig: 'AA==', extension: {} }] })
    );
    expect(e.signatures).toEqual([{ keyid: '', sig: Uint8Array.of(0) }]);
    expect(parseEnvelope(env({ ...good, signatures: [] })).signatures).toEqual([]);
  });
});

describe('encodeEnvelope (canonical form)', () => {
  test('every accepted spelling gives the same bytes', () => {
    const base = {
      payloadType: 'application/vnd.in-toto+json',
      signatures: [
        {
          keyid: 'A',
          sig: 'P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw',
        },
      ],
    };
    const a = encodeEnvelope(parseEnvelope(env({ payload: '-_-_Pj8', ...base })));
    const b = encodeEnvelope(
      parseEnvelope(
        utf8(
          `{ "signatures": [{"sig": "P+/KHICeR7tI6S/YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU/svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==", "keyid": "A"}],\n "payloadType": "application/vnd.in-toto+json", "payload": "+/+/Pj8=", "x": 1 }`
        )
      )
    );
    expect(Buffer.from(a).toString()).toBe(Buffer.from(b).toString());
    expect(Buffer.from(a).toString()).toBe(
      '{"payload":"+/+/Pj8=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"A","sig":"P+/KHICeR7tI6S/YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU/svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw=="}]}'
    );
  });

  test('omits an empty keyid and sorts signatures', () => {
    const e = {
      payloadType: 't',
      payload: utf8('x'),
      signatures: [
        { keyid: '', sig: Uint8Array.of(2) },
        { keyid: 'k', sig: Uint8Array.of(1) },
      ],
    };
    expect(Buffer.from(encodeEnvelope(e)).toString()).toBe(
      '{"payload":"eA==","payloadType":"t","signatures":[{"keyid":"k","sig":"AQ=="},{"sig":"Ag=="}]}'
    );
  });
});
