/**
 * The governance predicate, `https://candor.dev/governance-record/v1`: what changed in an
 * AI system (model, safety configuration, training data, deployment, approval, rollback),
 * why, under which ticket, with digests for everything and secrets only as digests.
 * docs/governance.md documents every field with a full example; schema.ts holds the JSON
 * Schema. validateGovernancePredicate is a hand-written validator that accepts exactly
 * what the schema accepts (lengths in code points, as JSON Schema counts them), with
 * errors that name the field; test/governance/predicate.test.ts checks the agreement.
 *
 * Who made a change is the verified signer of its statement (plus, optionally, `author`
 * when CI signs on someone's behalf); who approved it is the verified signer of an
 * approval statement. Neither is ever taken from a field a requester filled in.
 *
 * An approval is its own statement, signed by the approver, whose subject carries the
 * SHA-256 of the approved change's envelope exactly as logged (the bytes of
 * `GET /v1/entries/<index>`, i.e. the canonical envelope, see dsse.ts); `approves.digest`
 * repeats it and `approves.entry` names the index as a hint.
 */
import { isJsonObject } from './strict-json.js';
import type { ChangeType, GovernancePredicate } from './predicate-types.js';
import {
  type DigestSet,
  type Statement,
  digestsMatch,
  invalid,
  validateDigestSet,
} from './intoto.js';
import {
  CHANGE_TYPES,
  GOVERNANCE_PREDICATE_TYPE,
  IDENTIFIER_PATTERN,
  PARAMETER_NAME_PATTERN,
  SECRET_NAME_PATTERN,
  TIMESTAMP_PATTERN,
  URI_PATTERN,
} from './schema.js';

export { CHANGE_TYPES, GOVERNANCE_PREDICATE_TYPE } from './schema.js';

export type {
  ApprovalRef,
  ChangeType,
  ConfigSnapshot,
  DatasetRef,
  EntryRef,
  GovernancePredicate,
  ModelRef,
  ParameterGroup,
  ParameterValue,
  SecretRef,
} from './predicate-types.js';

const CTX = 'governance predicate';
const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);
const PARAMETER_NAME = new RegExp(PARAMETER_NAME_PATTERN);
const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);
const URI = new RegExp(URI_PATTERN);
const TIMESTAMP = new RegExp(TIMESTAMP_PATTERN);

const fail = (path: string, why: string): never => invalid(CTX, path, why);

function object(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isJsonObject(v)) return fail(path === '' ? '(top)' : path, 'must be an object');
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) fail(path === '' ? key : `${path}.${key}`, 'unknown field');
  }
  return v;
}

function string(v: unknown, path: string, min: number, max: number): void {
  if (typeof v !== 'string') return fail(path, 'must be a string');
  const length = [...v].length; // JSON Schema counts code points
  if (length < min || length > max) fail(path, `must be ${min} to ${max} characters`);
}

function pattern(v: unknown, path: string, re: RegExp, what: string, max = Infinity): void {
  if (typeof v !== 'string') return fail(path, 'must be a string');
  if ([...v].length > max || !re.test(v)) fail(path, `must be ${what}`);
}

function sha256Digests(v: unknown, path: string): void {
  const set = validateDigestSet(v, path, CTX);
  if (set.sha256 === undefined) fail(`${path}.sha256`, 'is required');
}

const uri = (v: unknown, path: string): void => pattern(v, path, URI, 'a URI (scheme:…)', 2048);
const ident = (v: unknown, path: string): void =>
  pattern(v, path, IDENTIFIER, 'an identifier (letters, digits, ._:/@+-; no spaces)');

// Runs `check` on o[key] when present, with the field's path (`model.uri`).
function optional(
  o: Record<string, unknown>,
  key: string,
  path: string,
  check: (v: unknown, at: string) => void
): void {
  if (o[key] !== undefined) check(o[key], path === '' ? key : `${path}.${key}`);
}

function secretRef(v: unknown, path: string): void {
  const o = object(v, path, ['digest', 'uri']);
  if (o.digest === undefined) fail(`${path}.digest`, 'is required');
  validateDigestSet(o.digest, `${path}.digest`, CTX);
  optional(o, 'uri', path, uri);
}

function parameterGroup(v: unknown, path: string): void {
  if (!isJsonObject(v)) return fail(path, 'must be an object');
  const names = Object.keys(v);
  if (names.length > 512) fail(path, 'more than 512 parameters');
  if (v.digest !== undefined) fail(`${path}.digest`, 'a parameter group cannot have "digest"');
  for (const name of names) {
    const at = `${path}.${name}`;
    if (!PARAMETER_NAME.test(name)) fail(at, 'bad parameter name');
    if (SECRET_NAME.test(name)) {
      if (!isJsonObject(v[name])) fail(at, 'looks like a secret: log it as {"digest": {…}}');
      secretRef(v[name], at);
    } else parameter(v[name], at);
  }
}

function parameter(v: unknown, path: string): void {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return;
  if (typeof v === 'string') return string(v, path, 0, 4096);
  if (Array.isArray(v)) {
    if (v.length > 256) fail(path, 'more than 256 items');
    v.forEach((item, i) => parameter(item, `${path}[${i}]`));
    return;
  }
  if (isJsonObject(v) && v.digest !== undefined) return secretRef(v, path);
  parameterGroup(v, path);
}

function entryRef(
  v: unknown,
  path: string,
  extra: readonly string[] = []
): Record<string, unknown> {
  const o = object(v, path, ['entry', 'digest', ...extra]);
  const entry = o.entry;
  if (entry !== undefined && !(Number.isSafeInteger(entry) && (entry as number) >= 0)) {
    fail(`${path}.entry`, 'must be a non-negative integer');
  }
  if (o.digest === undefined) fail(`${path}.digest`, 'is required');
  sha256Digests(o.digest, `${path}.digest`);
  return o;
}

function dataset(v: unknown, at: string): void {
  const o = object(v, at, ['name', 'uri', 'digest']);
  optional(o, 'name', at, (x, path) => string(x, path, 1, 256));
  if (o.uri === undefined) fail(`${at}.uri`, 'is required');
  uri(o.uri, `${at}.uri`);
  if (o.digest === undefined) fail(`${at}.digest`, 'is required');
  validateDigestSet(o.digest, `${at}.digest`, CTX);
}

const TOP_FIELDS = [
  'changeType',
  'model',
  'trainingData',
  'config',
  'environment',
  'author',
  'reason',
  'ticket',
  'createdAt',
  'previous',
  'approves',
  'preDetermined',
  'annotations',
] as const;

/**
 * Validates a governance predicate against the v1 rules (exactly the JSON Schema).
 * @throws LogError MALFORMED naming the first bad field, e.g.
 *   `invalid governance predicate: model.digest.sha256: is required`.
 */
export function validateGovernancePredicate(v: unknown): GovernancePredicate {
  const p = object(v, '', TOP_FIELDS);
  const type = p.changeType;
  if (type === undefined) fail('changeType', 'is required');
  if (!(CHANGE_TYPES as readonly unknown[]).includes(type)) {
    fail('changeType', `must be one of ${CHANGE_TYPES.join(', ')}`);
  }
  optional(p, 'model', '', (m, at) => {
    const o = object(m, at, ['id', 'version', 'digest', 'uri']);
    if (o.id === undefined) fail(`${at}.id`, 'is required');
    ident(o.id, `${at}.id`);
    optional(o, 'version', at, (x, path) => string(x, path, 1, 128));
    optional(o, 'digest', at, sha256Digests);
    optional(o, 'uri', at, uri);
  });
  optional(p, 'trainingData', '', (d, at) => {
    if (!Array.isArray(d) || d.length < 1 || d.length > 256) {
      fail(at, 'must be an array of 1 to 256 datasets');
    }
    (d as unknown[]).forEach((item, i) => dataset(item, `${at}[${i}]`));
  });
  optional(p, 'config', '', (c, at) => {
    const o = object(c, at, ['digest', 'uri', 'parameters']);
    if (o.digest === undefined) fail(`${at}.digest`, 'is required');
    sha256Digests(o.digest, `${at}.digest`);
    optional(o, 'uri', at, uri);
    optional(o, 'parameters', at, parameterGroup);
  });
  optional(p, 'environment', '', ident);
  optional(p, 'author', '', (x, at) => string(x, at, 1, 256));
  optional(p, 'reason', '', (x, at) => string(x, at, 1, 4096));
  optional(p, 'ticket', '', (x, at) => string(x, at, 1, 512));
  optional(p, 'createdAt', '', (x, at) => pattern(x, at, TIMESTAMP, 'an RFC 3339 UTC time'));
  optional(p, 'previous', '', (x, at) => entryRef(x, at));
  optional(p, 'approves', '', (x, at) => {
    const o = entryRef(x, at, ['decision']);
    if (o.decision !== 'approve' && o.decision !== 'reject') {
      fail(`${at}.decision`, 'must be "approve" or "reject"');
    }
  });
  optional(p, 'preDetermined', '', (x, at) => {
    if (typeof x !== 'boolean') fail(at, 'must be a boolean');
  });
  optional(p, 'annotations', '', (x, at) => {
    if (!isJsonObject(x)) fail(at, 'must be an object');
  });
  requireFor(p, type as ChangeType);
  return p as unknown as GovernancePredicate;
}

// The per-change-type requirements (the schema's allOf).
function requireFor(p: Record<string, unknown>, type: ChangeType): void {
  const need = (key: string): void => {
    if (p[key] === undefined) fail(key, `is required for ${type}`);
  };
  if (type === 'approval') need('approves');
  else {
    need('reason');
    if (p.approves !== undefined) fail('approves', 'only an approval approves');
  }
  if (type === 'model-update' || type === 'deployment' || type === 'rollback') {
    need('model');
    if ((p.model as Record<string, unknown>).digest === undefined) {
      fail('model.digest', `is required for ${type}`);
    }
  }
  if (type === 'safety-config') {
    need('model');
    need('config');
  }
  if (type === 'dataset') need('trainingData');
  if (type === 'deployment' || type === 'rollback') need('environment');
}

/**
 * Validates the predicate of a governance statement, and that the subjects carry what it
 * is about: the approved envelope's digest (approval), else the model digest and the
 * configuration digest when present, and every dataset digest (dataset). Search by subject
 * digest therefore finds every record about an artifact.
 * @throws LogError MALFORMED.
 */
export function validateGovernanceStatement(statement: Statement): GovernancePredicate {
  if (statement.predicateType !== GOVERNANCE_PREDICATE_TYPE) {
    fail('predicateType', `must be ${GOVERNANCE_PREDICATE_TYPE}`);
  }
  const p = validateGovernancePredicate(statement.predicate);
  const covered = (digest: DigestSet, what: string): void => {
    if (!statement.subject.some((s) => digestsMatch(s.digest, digest))) {
      invalid('in-toto statement', 'subject', `must include ${what}`);
    }
  };
  if (p.approves !== undefined) covered(p.approves.digest, 'the approved envelope digest');
  else {
    if (p.model?.digest !== undefined) covered(p.model.digest, 'the model digest');
    if (p.config !== undefined) covered(p.config.digest, 'the configuration digest');
    if (p.changeType === 'dataset') {
      for (const d of p.trainingData ?? []) covered(d.digest, `the digest of dataset ${d.uri}`);
    }
  }
  return p;
}
