/**
 * Submitter keys on node:crypto (OpenSSL): Ed25519 and ECDSA P-256 with SHA-256, the
 * algorithms cosign, GitHub attestations and OpenSSF model signing (key mode) produce.
 *
 * Public keys are written either as PEM (`-----BEGIN PUBLIC KEY-----`, what `openssl`,
 * `cosign generate-key-pair` and `model_signing` use) or in a compact one-line form: the
 * standard base64 of the same DER SubjectPublicKeyInfo (Ed25519 keys start `MCowBQYDK2Vw`,
 * P-256 keys `MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQc`). A key's fingerprint, its default keyid,
 * is the lowercase hex SHA-256 of that DER (the rekor-monitor "fingerprint" convention).
 *
 * Private keys for the CLI are unencrypted PEM: PKCS #8 (`BEGIN PRIVATE KEY`, what
 * `candor submitter-key` and `openssl genpkey` write) or SEC1 (`BEGIN EC PRIVATE KEY`).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { LogError } from '../util/errors.js';
import type { DsseSigner } from './dsse.js';
import { decodeDsseBase64 } from './dsse.js';
import { ecdsaDerSignature, ecdsaP256SignDeterministic, ecdsaRawSignature } from './ecdsa.js';

/** The signature algorithms candor verifies for submitters. */
export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256';

/** A parsed submitter public key. */
export interface PublicKeyInfo {
  algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Lowercase hex SHA-256 of `spki`: the default keyid. */
  fingerprint: string;
  key: KeyObject;
}

/** A private key the CLI signs with. */
export interface SigningKey {
  algorithm: KeyAlgorithm;
  publicKey: PublicKeyInfo;
  /** A DSSE signer writing `keyid` (default: the public key's fingerprint). */
  signer(keyid?: string): DsseSigner;
}

function algorithmOf(key: KeyObject, what: string): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ecdsa-p256';
  }
  const kind = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? 'unknown';
  throw new LogError(
    'MALFORMED',
    `${what}: ${kind} keys are not supported (Ed25519 or ECDSA P-256)`
  );
}

function publicInfo(key: KeyObject, what: string): PublicKeyInfo {
  const algorithm = algorithmOf(key, what);
  const spki = new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  const fingerprint = createHash('sha256').update(spki).digest('hex');
  return { algorithm, spki, fingerprint, key };
}

/**
 * Parses a public key: PEM SubjectPublicKeyInfo or the compact base64 DER form.
 * @throws LogError MALFORMED on anything else, or another algorithm or curve.
 * @example
 * const key = parsePublicKey('MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=');
 */
export function parsePublicKey(text: string, what = 'public key'): PublicKeyInfo {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) key = createPublicKey(trimmed);
    else {
      const der = Buffer.from(decodeDsseBase64(trimmed, what));
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    }
  } catch (err) {
    if (err instanceof LogError) throw err;
    throw new LogError('MALFORMED', `${what}: not a PEM or base64 DER SubjectPublicKeyInfo`);
  }
  return publicInfo(key, what);
}

/** The compact one-line form of a public key: standard base64 of its DER SPKI. */
export function formatPublicKey(key: PublicKeyInfo): string {
  return Buffer.from(key.spki).toString('base64');
}

/** The PEM form of a public key. */
export function formatPublicKeyPem(key: PublicKeyInfo): string {
  return key.key.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Verifies `sig` over `message` (the PAE bytes) with `key`: Ed25519 (64 bytes), or ECDSA
 * P-256 with SHA-256 in DER or raw `r ‖ s` form (see ecdsa.ts). Never throws.
 */
export function verifySignature(key: PublicKeyInfo, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (key.algorithm === 'ed25519') {
      return sig.length === 64 && nodeVerify(null, message, key.key, sig);
    }
    const raw = ecdsaRawSignature(sig);
    if (raw === undefined) return false;
    return nodeVerify('sha256', message, { key: key.key, dsaEncoding: 'ieee-p1363' }, raw);
  } catch {
    return false;
  }
}

/**
 * Parses an unencrypted PEM private key (PKCS #8, or SEC1 for EC) into a signing key.
 * Ed25519 signs with OpenSSL; ECDSA P-256 signs deterministically (RFC 6979, see
 * ecdsa.ts) and writes DER, as cosign and sigstore do.
 * @throws LogError MALFORMED on an unreadable, encrypted or unsupported key.
 */
export function parsePrivateKey(pem: string | Uint8Array, what = 'private key'): SigningKey {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  if (/-----BEGIN [A-Z ]*ENCRYPTED[A-Z ]*-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new LogError('MALFORMED', `${what}: encrypted keys are not supported; decrypt it first`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    throw new LogError('MALFORMED', `${what}: not a PEM private key`);
  }
  const publicKey = publicInfo(createPublicKey(key), what);
  const algorithm = publicKey.algorithm;
  let signRaw: (message: Uint8Array) => Uint8Array;
  if (algorithm === 'ed25519') {
    signRaw = (m) => new Uint8Array(nodeSign(null, m, key));
  } else {
    const jwk = key.export({ format: 'jwk' });
    const d = BigInt('0x' + Buffer.from(jwk.d ?? '', 'base64url').toString('hex'));
    signRaw = (m) => {
      const raw = ecdsaP256SignDeterministic(d, m);
      const der = ecdsaDerSignature(raw);
      if (!verifySignature(publicKey, m, der)) {
        throw new Error('candor internal error: deterministic ECDSA signature does not verify');
      }
      return der;
    };
  }
  return {
    algorithm,
    publicKey,
    signer: (keyid = publicKey.fingerprint) => ({ keyid, sign: signRaw }),
  };
}

/**
 * Generates a new submitter key pair.
 * @returns the PKCS #8 PEM private key (keep it secret) and the public key.
 */
export function generateSigningKey(algorithm: KeyAlgorithm): {
  privateKeyPem: string;
  publicKey: PublicKeyInfo;
} {
  const pair =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicInfo(pair.publicKey, 'generated key'),
  };
}
