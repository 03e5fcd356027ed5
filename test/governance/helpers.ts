/** Keys and builders shared by the governance tests. */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { parsePrivateKey, type SigningKey } from '../../src/governance/keys.js';
import type { GovernancePredicate } from '../../src/governance/predicate.js';

const PKCS8_ED25519 = '302e020100300506032b657004220420';
const SPKI_ED25519 = '302a300506032b6570032100';

/** RFC 8032 §7.1 TEST 1 and TEST 2 seeds and public keys (the DSSE vectors' keys A and B). */
export const RFC8032 = {
  A: {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  },
  B: {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  },
} as const;

/** The compact (base64 DER SPKI) form of a raw Ed25519 public key given in hex. */
export function ed25519Spki(publicHex: string): string {
  return Buffer.from(SPKI_ED25519 + publicHex, 'hex').toString('base64');
}

/** The PKCS #8 PEM of an Ed25519 seed given in hex. */
export function ed25519Pem(seedHex: string): string {
  const key = createPrivateKey({
    key: Buffer.from(PKCS8_ED25519 + seedHex, 'hex'),
    format: 'der',
    type: 'pkcs8',
  });
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The DSSE protocol.md ECDSA P-256 test key (decimal d, x, y). */
export const DSSE_SPEC_P256 = {
  d: 97358161215184420915383655311931858321456579547487070936769975997791359926199n,
  x: 46950820868899156662930047687818585632848591499744589407958293238635476079160n,
  y: 5640078356564379163099075877009565129882514886557779369047442380624545832820n,
};

const b64url = (n: bigint): string =>
  Buffer.from(n.toString(16).padStart(64, '0'), 'hex').toString('base64url');

/** The DSSE spec P-256 key as a PEM private key and a compact public key. */
export function dssePrivatePem(): string {
  const { d, x, y } = DSSE_SPEC_P256;
  const key = createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(x), y: b64url(y) },
    format: 'jwk',
  });
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The compact public key of dssePrivatePem. */
export function dssePublicCompact(): string {
  const { x, y } = DSSE_SPEC_P256;
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y) },
    format: 'jwk',
  });
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** Fixed test keys: alice (engineer, Ed25519), bob (approver, ECDSA P-256), ci (staging only). */
export const KEYS: Record<'alice' | 'bob' | 'ci' | 'mallory', SigningKey> = {
  alice: parsePrivateKey(ed25519Pem(RFC8032.A.seed)),
  bob: parsePrivateKey(dssePrivatePem()),
  ci: parsePrivateKey(ed25519Pem(RFC8032.B.seed)),
  mallory: parsePrivateKey(ed25519Pem('11'.repeat(32))),
};

/** The allowlist file for KEYS (mallory is not on it). */
export function allowlistJson(): string {
  const entry = (name: string, key: SigningKey, roles: string[], extra: object = {}): object => ({
    name,
    roles,
    ...extra,
    publicKey: Buffer.from(key.publicKey.spki).toString('base64'),
  });
  return JSON.stringify({
    submitters: [
      entry('alice', KEYS.alice, ['engineer']),
      entry('bob', KEYS.bob, ['approver']),
      entry('release-ci', KEYS.ci, ['ci'], { environments: ['staging', 'prod-eu-*'] }),
    ],
  });
}

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);
export const SHA_C = 'c'.repeat(64);

/** A valid model-update predicate. */
export function modelUpdate(extra: Partial<GovernancePredicate> = {}): GovernancePredicate {
  return {
    changeType: 'model-update',
    model: { id: 'fraud-detector', version: '7', digest: { sha256: SHA_A } },
    reason: 'retrained on Q3 data',
    ...extra,
  };
}
