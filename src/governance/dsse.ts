/**
 * DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse v1.0: protocol.md and
 * envelope.md), as candor accepts and logs it.
 *
 * Envelope (JSON):
 *
 *   {"payload":"<base64 body>","payloadType":"application/vnd.in-toto+json",
 *    "signatures":[{"keyid":"<hint>","sig":"<base64 signature>"}]}
 *
 * A signature covers PAE(UTF8(payloadType), body), never the JSON or the base64 text:
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * where LEN is the ASCII decimal count of BYTES (no leading zeros), so the spec's vector
 * is `DSSEv1 29 http://example.com/HelloWorld 11 hello world` and a type `…exämple…` of 28
 * characters counts 29. `keyid` is an unauthenticated hint (protocol.md): it only picks
 * which key to try first.
 *
 * Base64 (decodeDsseBase64): protocol.md says "Either standard or URL-safe base64
 * encodings are allowed. Signers may use either, and verifiers MUST accept either."
 * Real producers differ on padding: go-securesystemslib and the Python reference emit and
 * accept padded text only, while protobuf JSON (Sigstore bundles' `dsseEnvelope`) and
 * sigstore-js also accept it unpadded. candor accepts the union: either alphabet, with
 * or without padding. It stays strict otherwise: one alphabet per value (no mixing), no
 * white space or other characters, padding only when complete and correct, and zero
 * padding bits, so each accepted text has exactly one meaning.
 *
 * Parsing (parseEnvelope) follows envelope.md: `payload`, `payloadType`, `signatures` and
 * every `sig` are required, `keyid` is optional (unset == empty), unknown fields are
 * ignored. On top of that it is bounded (MAX_ENVELOPE_SIZE and the per-field limits) and
 * strict JSON (no duplicate keys; see strict-json.ts).
 *
 * Canonical form (encodeEnvelope): what candor logs. Keys sorted, no white space,
 * standard padded base64, unknown fields dropped, `keyid` omitted when empty, signatures
 * sorted by their base64 text. The same envelope in any accepted spelling therefore
 * becomes the same entry bytes, and the log's byte-level deduplication makes a
 * resubmission, or the same envelope in URL-safe base64, one entry.
 */
import { LogError } from '../util/errors.js';
import { concatBytes, fromBase64, toBase64, utf8 } from '../util/bytes.js';
import { isJsonObject, parseStrictJson } from './strict-json.js';

/** Largest envelope accepted, in bytes: a log entry is at most 65535 bytes (tlog-tiles). */
export const MAX_ENVELOPE_SIZE = 65535;
/** Most signatures one envelope may carry. */
export const MAX_SIGNATURES = 16;
/** Longest payloadType, in UTF-8 bytes. */
export const MAX_PAYLOAD_TYPE_SIZE = 256;
/** Longest keyid, in characters. */
export const MAX_KEYID_LENGTH = 256;
/** Largest decoded signature, in bytes (RSA-4096 is 512). */
export const MAX_SIGNATURE_SIZE = 512;

/** One DSSE signature: the raw signature bytes and the (unauthenticated) key hint. */
export interface DsseSignature {
  /** The key hint; '' when unset. */
  keyid: string;
  sig: Uint8Array;
}

/** A decoded DSSE envelope. */
export interface DsseEnvelope {
  payloadType: string;
  /** The decoded SERIALIZED_BODY. */
  payload: Uint8Array;
  signatures: DsseSignature[];
}

/** Signs PAE bytes for signEnvelope. */
export interface DsseSigner {
  /** The keyid hint written next to the signature ('' for none). */
  keyid: string;
  sign(pae: Uint8Array): Uint8Array;
}

const B64_STD = /^[A-Za-z0-9+/]*$/;
const B64_URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes DSSE base64: standard or URL-safe alphabet, padded or not (see the module
 * comment for why and how strictly).
 * @throws LogError MALFORMED naming `what`.
 * @example
 * decodeDsseBase64('-_-_Pj8', 'payload'); // the bytes fb ff bf 3e 3f
 */
export function decodeDsseBase64(text: string, what: string): Uint8Array {
  const bad = (why: string): LogError =>
    new LogError('MALFORMED', `${what} is not valid base64: ${why}`);
  const body = text.replace(/={1,2}$/, '');
  const pad = text.length - body.length;
  if (!B64_STD.test(body) && !B64_URL.test(body)) {
    throw bad(
      /[-_]/.test(body) && /[+/]/.test(body)
        ? 'mixes the standard and URL-safe alphabets'
        : 'bad character'
    );
  }
  const rem = body.length % 4;
  if (rem === 1) throw bad('wrong length');
  if (pad > 0 && (body.length + pad) % 4 !== 0) throw bad('wrong padding');
  const std = body.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat(rem === 0 ? 0 : 4 - rem);
  // The alphabet, length and padding are right by now: fromBase64 (canonical standard
  // base64, no Buffer, so that envelopes parse in browsers too) can only refuse non-zero
  // padding bits, which would decode too and give a second spelling of the same bytes.
  try {
    return fromBase64(std);
  } catch {
    throw bad('non-zero padding bits');
  }
}

function encodeBase64(bytes: Uint8Array): string {
  return toBase64(bytes);
}

/**
 * PAE(UTF8(payloadType), payload), DSSE protocol v1.0.0: lengths are byte counts.
 * @example
 * pae('http://example.com/HelloWorld', utf8('hello world'));
 * // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `malformed DSSE envelope: ${why}`);
}

/**
 * Parses a DSSE JSON envelope strictly and within the size limits (see the module
 * comment). An empty `signatures` array parses: verifying it fails with UNSIGNED.
 * @throws LogError TOO_LARGE over `maxSize` bytes; MALFORMED on anything else wrong.
 * @example
 * const env = parseEnvelope(await readFile('record.dsse.json'));
 */
export function parseEnvelope(bytes: Uint8Array, options: { maxSize?: number } = {}): DsseEnvelope {
  const maxSize = options.maxSize ?? MAX_ENVELOPE_SIZE;
  if (bytes.length > maxSize) {
    throw new LogError('TOO_LARGE', `the envelope is ${bytes.length} bytes; at most ${maxSize}`);
  }
  const v = parseStrictJson(bytes, 'malformed DSSE envelope', 32);
  if (!isJsonObject(v)) throw malformed('not a JSON object');
  const { payload, payloadType, signatures } = v;
  if (typeof payloadType !== 'string') throw malformed('payloadType must be a string');
  if (utf8(payloadType).length > MAX_PAYLOAD_TYPE_SIZE) {
    throw malformed(`payloadType longer than ${MAX_PAYLOAD_TYPE_SIZE} bytes`);
  }
  if (typeof payload !== 'string') throw malformed('payload must be a string');
  if (!Array.isArray(signatures)) throw malformed('signatures must be an array');
  if (signatures.length > MAX_SIGNATURES) {
    throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  }
  const sigs = signatures.map((s: unknown, i): DsseSignature => {
    if (!isJsonObject(s)) throw malformed(`signatures[${i}] must be an object`);
    const { keyid = '', sig } = s;
    if (typeof keyid !== 'string') throw malformed(`signatures[${i}].keyid must be a string`);
    if (keyid.length > MAX_KEYID_LENGTH) throw malformed(`signatures[${i}].keyid is too long`);
    if (typeof sig !== 'string') throw malformed(`signatures[${i}].sig must be a string`);
    const raw = decodeDsseBase64(sig, `signatures[${i}].sig`);
    if (raw.length === 0 || raw.length > MAX_SIGNATURE_SIZE) {
      throw malformed(`signatures[${i}].sig must be 1 to ${MAX_SIGNATURE_SIZE} bytes`);
    }
    return { keyid, sig: raw };
  });
  return { payloadType, payload: decodeDsseBase64(payload, 'payload'), signatures: sigs };
}

/**
 * The canonical bytes of an envelope, as candor logs it (see the module comment).
 * parseEnvelope(encodeEnvelope(e)) gives back `e` (signatures possibly reordered).
 */
export function encodeEnvelope(env: DsseEnvelope): Uint8Array {
  const sigs = env.signatures
    .map((s) => ({ keyid: s.keyid, sig: encodeBase64(s.sig) }))
    .sort((a, b) => (a.sig < b.sig ? -1 : a.sig > b.sig ? 1 : 0))
    .map((s) => (s.keyid === '' ? { sig: s.sig } : s));
  return utf8(
    JSON.stringify({
      payload: encodeBase64(env.payload),
      payloadType: env.payloadType,
      signatures: sigs,
    })
  );
}

/**
 * Signs `payload` as `payloadType` with each signer: one DSSE signature each, over PAE.
 * Deterministic when the signers are (Ed25519, and candor's RFC 6979 ECDSA).
 * @example
 * const env = signEnvelope(INTOTO_PAYLOAD_TYPE, statementBytes, [signerFromKeyFile(pem)]);
 * await writeFile('record.dsse.json', encodeEnvelope(env));
 */
export function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly DsseSigner[]
): DsseEnvelope {
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload,
    signatures: signers.map((s) => ({ keyid: s.keyid, sig: s.sign(message) })),
  };
}
