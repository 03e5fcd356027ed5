import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { encodeEnvelope, parseEnvelope, signEnvelope } from '../../src/governance/dsse.js';
import { INTOTO_PAYLOAD_TYPE } from '../../src/governance/intoto.js';
import type { SigningKey } from '../../src/governance/keys.js';
import type { GovernancePredicate } from '../../src/governance/predicate.js';
import { approvalFor, buildStatement, signStatement } from '../../src/governance/record.js';
import { stableStringify } from '../../src/governance/strict-json.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import { parseRecord, verifyRecord } from '../../src/governance/verify-record.js';
import { utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { KEYS, SHA_A, allowlistJson, modelUpdate } from './helpers.js';

const list = parseSubmitters(utf8(allowlistJson()));

function record(
  predicate: GovernancePredicate,
  key: SigningKey = KEYS.alice,
  keyid?: string
): Uint8Array {
  return signStatement(buildStatement(predicate), key.signer(keyid)).entry;
}

function failure(bytes: Uint8Array): [string, string] {
  try {
    verifyRecord(bytes, list);
  } catch (err) {
    if (isLogError(err)) return [err.code, err.message];
    throw err;
  }
  return ['OK', ''];
}

/** Re-encodes an envelope after `edit` on its decoded JSON object. */
function edited(bytes: Uint8Array, edit: (o: Record<string, unknown>) => void): Uint8Array {
  const o = JSON.parse(Buffer.from(bytes).toString()) as Record<string, unknown>;
  edit(o);
  return utf8(JSON.stringify(o));
}

describe('verifyRecord accepts', () => {
  test('a change signed by an engineer, and returns what the log needs', () => {
    const bytes = record(modelUpdate({ environment: 'prod-us' }));
    const r = verifyRecord(bytes, list);
    expect(r.signer.name).toBe('alice');
    expect(r.keyid).toBe(KEYS.alice.publicKey.fingerprint);
    expect(r.predicate?.changeType).toBe('model-update');
    expect(Buffer.from(r.entry).equals(Buffer.from(bytes))).toBe(true); // the CLI's envelope is canonical
    expect(r.envelopeDigest).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(r.payloadDigest).toBe(
      createHash('sha256').update(parseEnvelope(bytes).payload).digest('hex')
    );
  });

  test('an approval by an approver with an ECDSA P-256 key', () => {
    const change = modelUpdate();
    const digest = verifyRecord(record(change), list).envelopeDigest;
    const r = verifyRecord(
      record(approvalFor(change, { envelopeDigest: digest, entry: 0 }), KEYS.bob),
      list
    );
    expect(r.signer.name).toBe('bob');
    expect(r.statement.subject[0]!.digest.sha256).toBe(digest);
  });

  test('a statement of another predicate type (no governance checks)', () => {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: SHA_A } }],
      predicateType: 'https://slsa.dev/provenance/v1',
    };
    const bytes = encodeEnvelope(
      signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(statement)), [KEYS.alice.signer()])
    );
    expect(verifyRecord(bytes, list).predicate).toBeUndefined();
  });

  test('a keyid hint that names nobody, or another submitter (the hint is not trusted)', () => {
    expect(verifyRecord(record(modelUpdate(), KEYS.alice, 'cosign'), list).signer.name).toBe(
      'alice'
    );
    expect(verifyRecord(record(modelUpdate(), KEYS.alice, ''), list).signer.name).toBe('alice');
    const bobs = KEYS.bob.publicKey.fingerprint;
    expect(verifyRecord(record(modelUpdate(), KEYS.alice, bobs), list).signer.name).toBe('alice');
  });

  test('replay: the same envelope in every spelling is the same entry and digest, every time', () => {
    const bytes = record(modelUpdate());
    const urlSafe = edited(bytes, (o) => {
      o.payload = (o.payload as string).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      o.unknown = 'ignored';
    });
    const a = verifyRecord(bytes, list);
    const b = verifyRecord(bytes, list);
    const c = verifyRecord(urlSafe, list);
    expect(b.envelopeDigest).toBe(a.envelopeDigest);
    expect(c.envelopeDigest).toBe(a.envelopeDigest);
    expect(Buffer.from(c.entry).equals(Buffer.from(a.entry))).toBe(true);
    // and the CLI makes the same bytes again from the same inputs (Ed25519 and ECDSA)
    expect(Buffer.from(record(modelUpdate())).equals(Buffer.from(bytes))).toBe(true);
    const approval = approvalFor(modelUpdate(), { envelopeDigest: a.envelopeDigest });
    expect(
      Buffer.from(record(approval, KEYS.bob)).equals(Buffer.from(record(approval, KEYS.bob)))
    ).toBe(true);
  });
});

describe('verifyRecord refuses, with the precise reason', () => {
  test('an envelope over the size limit: TOO_LARGE', () => {
    expect(failure(utf8(' '.repeat(65536)))[0]).toBe('TOO_LARGE');
  });

  test('malformed JSON: MALFORMED', () => {
    expect(failure(utf8('{"payload": "e30=",'))).toEqual([
      'MALFORMED',
      expect.stringMatching(/envelope/),
    ]);
  });

  test('an unsigned envelope: UNSIGNED', () => {
    const bytes = edited(record(modelUpdate()), (o) => (o.signatures = []));
    expect(failure(bytes)).toEqual(['UNSIGNED', expect.stringMatching(/no signatures/)]);
  });

  test('a key not on the allowlist: UNKNOWN_KEY', () => {
    expect(failure(record(modelUpdate(), KEYS.mallory))[0]).toBe('UNKNOWN_KEY');
  });

  test('a wrong key claiming an allowlisted keyid: BAD_SIGNATURE naming the claimed submitter', () => {
    const [code, message] = failure(
      record(modelUpdate(), KEYS.mallory, KEYS.alice.publicKey.fingerprint)
    );
    expect(code).toBe('BAD_SIGNATURE');
    expect(message).toMatch(/key of alice/);
  });

  test('a statement altered after signing: BAD_SIGNATURE', () => {
    const bytes = edited(record(modelUpdate({ environment: 'staging' })), (o) => {
      const statement = JSON.parse(Buffer.from(o.payload as string, 'base64').toString());
      statement.predicate.environment = 'prod';
      o.payload = Buffer.from(stableStringify(statement)).toString('base64');
    });
    expect(failure(bytes)[0]).toBe('BAD_SIGNATURE');
  });

  test('a payloadType changed after signing: BAD_SIGNATURE (the type is signed)', () => {
    const bytes = edited(
      record(modelUpdate()),
      (o) => (o.payloadType = 'application/vnd.in-toto.x+json')
    );
    expect(failure(bytes)[0]).toBe('BAD_SIGNATURE');
  });

  test('one good and one bad signature: BAD_SIGNATURE (every signature must verify)', () => {
    const good = record(modelUpdate());
    const bytes = edited(good, (o) => {
      const sigs = o.signatures as Array<{ sig: string; keyid: string }>;
      const forged = Buffer.from(sigs[0]!.sig, 'base64');
      forged[0] = forged[0]! ^ 1;
      sigs.push({ keyid: KEYS.bob.publicKey.fingerprint, sig: forged.toString('base64') });
    });
    expect(failure(bytes)).toEqual([
      'BAD_SIGNATURE',
      expect.stringMatching(/signature 1 .*key of bob/),
    ]);
  });

  test('the same key signing twice: MALFORMED', () => {
    const env = parseEnvelope(record(modelUpdate()));
    const twice = encodeEnvelope({
      ...env,
      signatures: [env.signatures[0]!, { ...env.signatures[0]!, keyid: 'other' }],
    });
    expect(failure(twice)).toEqual(['MALFORMED', expect.stringMatching(/signed twice/)]);
  });

  test('a validly signed non-in-toto payload: MALFORMED (checked after the signature)', () => {
    const bytes = encodeEnvelope(
      signEnvelope('application/json', utf8('{}'), [KEYS.alice.signer()])
    );
    expect(failure(bytes)).toEqual(['MALFORMED', expect.stringMatching(/unsupported payloadType/)]);
  });

  test('a validly signed statement without digests: MALFORMED', () => {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'x' }],
      predicateType: 'https://a/b',
    };
    const bytes = encodeEnvelope(
      signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(statement)), [KEYS.alice.signer()])
    );
    expect(failure(bytes)).toEqual(['MALFORMED', expect.stringMatching(/subject\[0\]\.digest/)]);
  });

  test('a validly signed invalid governance predicate: MALFORMED', () => {
    const statement = {
      ...buildStatement(modelUpdate()),
      predicate: { changeType: 'model-update' },
    };
    const bytes = signStatement(statement, KEYS.alice.signer()).entry;
    expect(failure(bytes)).toEqual(['MALFORMED', expect.stringMatching(/reason: is required/)]);
  });

  test('an engineer submitting an approval: FORBIDDEN', () => {
    const approval = approvalFor(modelUpdate(), { envelopeDigest: SHA_A });
    expect(failure(record(approval, KEYS.alice))).toEqual([
      'FORBIDDEN',
      expect.stringMatching(/needs the role approver/),
    ]);
  });

  test('an approver submitting a change: FORBIDDEN', () => {
    expect(failure(record(modelUpdate(), KEYS.bob))[0]).toBe('FORBIDDEN');
  });

  test('a CI key outside its environments: FORBIDDEN; inside: accepted', () => {
    expect(failure(record(modelUpdate({ environment: 'prod-us' }), KEYS.ci))).toEqual([
      'FORBIDDEN',
      expect.stringMatching(/environment prod-us/),
    ]);
    expect(
      verifyRecord(record(modelUpdate({ environment: 'prod-eu-west' }), KEYS.ci), list).signer.name
    ).toBe('release-ci');
    expect(
      verifyRecord(record(modelUpdate({ environment: 'staging' }), KEYS.ci), list).signer.name
    ).toBe('release-ci');
  });
});

describe('parseRecord (a logged entry read back, signatures not checked)', () => {
  test('reads a record whatever the allowlist says now, with the same digest', () => {
    const bytes = record(modelUpdate(), KEYS.mallory);
    const r = parseRecord(bytes);
    expect(r.predicate?.model?.id).toBe('fraud-detector');
    expect(r.envelopeDigest).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  test('still refuses what is not a valid record', () => {
    const bytes = encodeEnvelope(signEnvelope('application/json', utf8('{}'), []));
    expect(() => parseRecord(bytes)).toThrow(/unsupported payloadType/);
    expect(() => parseRecord(utf8('{'))).toThrow(/envelope/);
  });
});
