/**
 * in-toto Attestation Framework, Statement v1 (in-toto/attestation spec/v1: statement.md,
 * resource_descriptor.md, digest_set.md, envelope.md), validated strictly:
 *
 *   {"_type":"https://in-toto.io/Statement/v1",
 *    "subject":[{"name":"model:fraud-detector","digest":{"sha256":"9f86d0…"}}],
 *    "predicateType":"https://candor.dev/governance-record/v1",
 *    "predicate":{…}}
 *
 * - `_type` is exactly `https://in-toto.io/Statement/v1` (v0.1 statements are refused).
 * - `subject` is a non-empty array (at most MAX_SUBJECTS) of ResourceDescriptors, each with
 *   a non-empty `digest` (statement.md: "Each element MUST have digest set").
 * - A DigestSet maps algorithm names to values; the standard algorithms (NIST names in
 *   lowercase with `_`, the git object ids, `dirHash`) must be lowercase hex of their
 *   exact length; other algorithms are kept as opaque non-empty strings (consumers ignore
 *   what they do not accept).
 * - `predicateType` is a URI (scheme, colon, no white space); `predicate`, when present,
 *   is an object (unset is treated as `{}`).
 * - Unknown fields are ignored, as the spec's parsing rules require; the envelope layer's
 *   strict JSON already refuses duplicate keys.
 * The envelope's payloadType must be `application/vnd.in-toto+json` or
 * `application/vnd.in-toto.<predicate>+json` (envelope.md); the predicate type is read
 * only from the verified statement, never from the media type.
 */
import { LogError } from '../util/errors.js';
import { isJsonObject, parseStrictJson } from './strict-json.js';

/** The statement `_type` of in-toto Statement v1. */
export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** The DSSE payloadType of an in-toto statement. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Most subjects one statement may list. */
export const MAX_SUBJECTS = 1024;
/** Most algorithms one DigestSet may list. */
export const MAX_DIGESTS = 16;

/** DigestSet: algorithm name → value (lowercase hex for the standard algorithms). */
export type DigestSet = Record<string, string>;

/** A ResourceDescriptor as a statement subject (digest required). */
export interface Subject {
  name?: string;
  uri?: string;
  digest: DigestSet;
  mediaType?: string;
  downloadLocation?: string;
  content?: string;
  annotations?: Record<string, unknown>;
}

/** A validated in-toto Statement v1. */
export interface Statement {
  _type: typeof STATEMENT_TYPE_V1;
  subject: Subject[];
  predicateType: string;
  /** The predicate object; `{}` when the statement leaves it unset. */
  predicate: Record<string, unknown>;
}

/** Exact lowercase-hex lengths of the standard fixed-size algorithms (digest_set.md). */
export const HEX_DIGEST_LENGTHS: Readonly<Record<string, readonly number[]>> = {
  sha256: [64],
  sha224: [56],
  sha384: [96],
  sha512: [128],
  sha512_224: [56],
  sha512_256: [64],
  sha3_224: [56],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  sha1: [40],
  md5: [32],
  ripemd160: [40],
  sm3: [64],
  dirHash: [64],
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
  gitTag: [40, 64],
};
/** Standard variable-length algorithms: lowercase hex, whole bytes. */
export const VARIABLE_HEX_ALGORITHMS: readonly string[] = [
  'shake128',
  'shake256',
  'blake2b',
  'blake2s',
  'gost',
];

/** DigestSet algorithm names. */
export const ALGORITHM_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
const ALG_NAME = new RegExp(ALGORITHM_NAME_PATTERN);
const TYPE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const MAX_STRING = 2048;

/** Throws the MALFORMED error for a field of a statement. */
export function invalid(context: string, path: string, why: string): never {
  throw new LogError('MALFORMED', `invalid ${context}: ${path}: ${why}`);
}

/**
 * Checks a DigestSet (see the module comment) and returns it.
 * @throws LogError MALFORMED naming `path`.
 */
export function validateDigestSet(
  v: unknown,
  path: string,
  context = 'in-toto statement'
): DigestSet {
  if (!isJsonObject(v)) invalid(context, path, 'must be an object of algorithm: value');
  const entries = Object.entries(v);
  if (entries.length === 0) invalid(context, path, 'must have at least one digest');
  if (entries.length > MAX_DIGESTS) invalid(context, path, `more than ${MAX_DIGESTS} digests`);
  for (const [alg, value] of entries) {
    const at = `${path}.${alg}`;
    if (!ALG_NAME.test(alg)) invalid(context, at, 'bad algorithm name');
    // Lengths in code points, as JSON Schema counts them (schema.ts).
    if (typeof value !== 'string' || value === '' || [...value].length > 1024) {
      invalid(context, at, 'must be a non-empty string of at most 1024 characters');
    }
    const lengths = HEX_DIGEST_LENGTHS[alg];
    if (lengths !== undefined && !(lengths.includes(value.length) && /^[0-9a-f]*$/.test(value))) {
      invalid(context, at, `must be ${lengths.join(' or ')} lowercase hex digits`);
    }
    if (VARIABLE_HEX_ALGORITHMS.includes(alg) && !/^(?:[0-9a-f]{2})+$/.test(value)) {
      invalid(context, at, 'must be lowercase hex');
    }
  }
  return v as DigestSet;
}

/** True when two DigestSets share an algorithm with equal values (digest_set.md). */
export function digestsMatch(a: DigestSet, b: DigestSet): boolean {
  return Object.keys(a).some((alg) => b[alg] !== undefined && b[alg] === a[alg]);
}

/** True for `application/vnd.in-toto+json` and `application/vnd.in-toto.<predicate>+json`. */
export function isInTotoPayloadType(payloadType: string): boolean {
  return (
    payloadType === INTOTO_PAYLOAD_TYPE ||
    /^application\/vnd\.in-toto\.[a-z0-9][a-z0-9._-]*\+json$/.test(payloadType)
  );
}

function optionalString(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  if (v !== undefined && (typeof v !== 'string' || v.length > MAX_STRING)) {
    invalid(
      'in-toto statement',
      `${path}.${key}`,
      `must be a string of at most ${MAX_STRING} characters`
    );
  }
}

function validateSubject(v: unknown, path: string): Subject {
  const ctx = 'in-toto statement';
  if (!isJsonObject(v)) invalid(ctx, path, 'must be an object');
  for (const key of ['name', 'uri', 'mediaType', 'downloadLocation', 'content']) {
    optionalString(v, key, path);
  }
  if (v.annotations !== undefined && !isJsonObject(v.annotations)) {
    invalid(ctx, `${path}.annotations`, 'must be an object');
  }
  if (v.digest === undefined) invalid(ctx, `${path}.digest`, 'is required for every subject');
  validateDigestSet(v.digest, `${path}.digest`);
  return v as unknown as Subject;
}

/**
 * Checks a parsed value as an in-toto Statement v1 (see the module comment).
 * @throws LogError MALFORMED naming the first bad field, e.g.
 *   `invalid in-toto statement: subject[0].digest: must have at least one digest`.
 */
export function validateStatement(v: unknown): Statement {
  const ctx = 'in-toto statement';
  if (!isJsonObject(v)) invalid(ctx, '(top)', 'must be a JSON object');
  if (v._type !== STATEMENT_TYPE_V1) {
    invalid(ctx, '_type', `must be "${STATEMENT_TYPE_V1}"`);
  }
  const subject = v.subject;
  if (!Array.isArray(subject) || subject.length === 0) {
    invalid(ctx, 'subject', 'must be a non-empty array');
  }
  if (subject.length > MAX_SUBJECTS) invalid(ctx, 'subject', `more than ${MAX_SUBJECTS} subjects`);
  const subjects = subject.map((s: unknown, i) => validateSubject(s, `subject[${i}]`));
  const predicateType = v.predicateType;
  if (
    typeof predicateType !== 'string' ||
    predicateType.length > 1024 ||
    !TYPE_URI.test(predicateType)
  ) {
    invalid(ctx, 'predicateType', 'must be a type URI');
  }
  if (v.predicate !== undefined && !isJsonObject(v.predicate)) {
    invalid(ctx, 'predicate', 'must be an object when present');
  }
  return {
    _type: STATEMENT_TYPE_V1,
    subject: subjects,
    predicateType,
    predicate: (v.predicate as Record<string, unknown> | undefined) ?? {},
  };
}

/**
 * Parses statement bytes (a verified DSSE payload) as strict JSON and validates them.
 * @throws LogError MALFORMED.
 */
export function parseStatement(payload: Uint8Array): Statement {
  return validateStatement(parseStrictJson(payload, 'in-toto statement is not valid JSON'));
}
