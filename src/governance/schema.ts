/**
 * The JSON Schema (draft-07) of the governance predicate, v1. It is built into candor as
 * this object (so it is in the published `dist/`, which the package's `files` is limited
 * to) and lives in the repository as `schemas/governance-record-v1.schema.json`
 * (test/governance/predicate.test.ts checks the two are identical and that the schema and
 * the hand-written validator in predicate.ts agree on a table of examples; rewrite the
 * file with `UPDATE_SCHEMA=1 npx vitest run test/governance/predicate.test.ts`).
 *
 * Draft-07 rather than 2020-12 because it is what most validators in CI tools support.
 * Rules that span the statement (the subjects must carry the digests the predicate names)
 * are not expressible here; predicate.ts checks them in validateGovernanceStatement.
 */
import { ALGORITHM_NAME_PATTERN, HEX_DIGEST_LENGTHS, VARIABLE_HEX_ALGORITHMS } from './intoto.js';

/** The predicate type URI of candor governance records, version 1. */
export const GOVERNANCE_PREDICATE_TYPE = 'https://candor.dev/governance-record/v1';

/** The change types of a governance record. */
export const CHANGE_TYPES = [
  'model-update',
  'safety-config',
  'dataset',
  'deployment',
  'approval',
  'rollback',
] as const;

/** Model ids and environment names: no white space, at most 256 characters. */
export const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}$';
/** Configuration parameter names (`temperature`, `guardrail.toxicity_threshold`). */
export const PARAMETER_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$';
/** A URI: a scheme, a colon, no white space. */
export const URI_PATTERN = '^[A-Za-z][A-Za-z0-9+.-]*:\\S+$';
/** RFC 3339 date-time in UTC (`2026-03-03T14:32:00Z`, optional fraction). */
export const TIMESTAMP_PATTERN =
  '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]{1,9})?Z$';

// Case-insensitive by character classes: JSON Schema patterns have no flags.
const anyCase = (word: string): string => word.replace(/[a-z]/g, (c) => `[${c.toUpperCase()}${c}]`);
const SECRET_WORDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'credentials?',
  'api[_-]?key',
  'private[_-]?key',
  'access[_-]?key',
  'secret[_-]?key',
  '(auth|access|bearer|refresh)[_-]?token',
];
/**
 * Parameter names that hold credentials (`api_key`, `db.password`, `auth-token`, any case).
 * Their values must be digest references: a leaf of the log can never be erased.
 */
export const SECRET_NAME_PATTERN = `(^|[._:/-])(${SECRET_WORDS.map(anyCase).join('|')})$`;

const str = (min: number, max: number): Record<string, unknown> => ({
  type: 'string',
  minLength: min,
  maxLength: max,
});

function digestSetSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [alg, lengths] of Object.entries(HEX_DIGEST_LENGTHS)) {
    const alternatives = lengths.map((n) => `[0-9a-f]{${n}}`).join('|');
    properties[alg] = { type: 'string', pattern: `^(${alternatives})$` };
  }
  for (const alg of VARIABLE_HEX_ALGORITHMS) {
    properties[alg] = { type: 'string', maxLength: 1024, pattern: '^([0-9a-f]{2})+$' };
  }
  return {
    type: 'object',
    minProperties: 1,
    maxProperties: 16,
    propertyNames: { pattern: ALGORITHM_NAME_PATTERN },
    properties,
    additionalProperties: str(1, 1024),
  };
}

const changeIs = (...types: string[]): Record<string, unknown> => ({
  properties: { changeType: types.length === 1 ? { const: types[0] } : { enum: types } },
});

/** The governance predicate's JSON Schema (see the module comment and docs/governance.md). */
export const GOVERNANCE_RECORD_SCHEMA: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: `${GOVERNANCE_PREDICATE_TYPE}/schema.json`,
  title: 'candor governance record predicate, v1',
  description:
    `The predicate of an in-toto Statement v1 whose predicateType is ${GOVERNANCE_PREDICATE_TYPE}. ` +
    'See docs/governance.md.',
  type: 'object',
  additionalProperties: false,
  required: ['changeType'],
  properties: {
    changeType: { enum: [...CHANGE_TYPES] },
    model: { $ref: '#/definitions/model' },
    trainingData: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: { $ref: '#/definitions/dataset' },
    },
    config: { $ref: '#/definitions/config' },
    environment: { $ref: '#/definitions/identifier' },
    author: str(1, 256),
    reason: str(1, 4096),
    ticket: str(1, 512),
    createdAt: { type: 'string', pattern: TIMESTAMP_PATTERN },
    previous: { $ref: '#/definitions/entryRef' },
    approves: { $ref: '#/definitions/approval' },
    preDetermined: { type: 'boolean' },
    annotations: { type: 'object' },
  },
  allOf: [
    {
      if: changeIs('approval'),
      then: { required: ['approves'] },
      else: { required: ['reason'], not: { required: ['approves'] } },
    },
    {
      if: changeIs('model-update', 'deployment', 'rollback'),
      then: { required: ['model'], properties: { model: { required: ['digest'] } } },
    },
    { if: changeIs('safety-config'), then: { required: ['model', 'config'] } },
    { if: changeIs('dataset'), then: { required: ['trainingData'] } },
    { if: changeIs('deployment', 'rollback'), then: { required: ['environment'] } },
  ],
  definitions: {
    identifier: { type: 'string', pattern: IDENTIFIER_PATTERN },
    uri: { type: 'string', maxLength: 2048, pattern: URI_PATTERN },
    digestSet: digestSetSchema(),
    sha256DigestSet: { allOf: [{ $ref: '#/definitions/digestSet' }, { required: ['sha256'] }] },
    model: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      properties: {
        id: { $ref: '#/definitions/identifier' },
        version: str(1, 128),
        digest: { $ref: '#/definitions/sha256DigestSet' },
        uri: { $ref: '#/definitions/uri' },
      },
    },
    dataset: {
      type: 'object',
      additionalProperties: false,
      required: ['uri', 'digest'],
      properties: {
        name: str(1, 256),
        uri: { $ref: '#/definitions/uri' },
        digest: { $ref: '#/definitions/digestSet' },
      },
    },
    config: {
      type: 'object',
      additionalProperties: false,
      required: ['digest'],
      properties: {
        digest: { $ref: '#/definitions/sha256DigestSet' },
        uri: { $ref: '#/definitions/uri' },
        parameters: { $ref: '#/definitions/parameterGroup' },
      },
    },
    parameterGroup: {
      type: 'object',
      maxProperties: 512,
      propertyNames: { pattern: PARAMETER_NAME_PATTERN },
      not: { required: ['digest'] },
      patternProperties: { [SECRET_NAME_PATTERN]: { $ref: '#/definitions/secretRef' } },
      additionalProperties: { $ref: '#/definitions/parameter' },
    },
    parameter: {
      anyOf: [
        str(0, 4096),
        { type: ['number', 'boolean', 'null'] },
        { $ref: '#/definitions/secretRef' },
        { $ref: '#/definitions/parameterGroup' },
        { type: 'array', maxItems: 256, items: { $ref: '#/definitions/parameter' } },
      ],
    },
    secretRef: {
      type: 'object',
      additionalProperties: false,
      required: ['digest'],
      properties: {
        digest: { $ref: '#/definitions/digestSet' },
        uri: { $ref: '#/definitions/uri' },
      },
    },
    entryRef: {
      type: 'object',
      additionalProperties: false,
      required: ['digest'],
      properties: {
        entry: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        digest: { $ref: '#/definitions/sha256DigestSet' },
      },
    },
    approval: {
      type: 'object',
      additionalProperties: false,
      required: ['digest', 'decision'],
      properties: {
        entry: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        digest: { $ref: '#/definitions/sha256DigestSet' },
        decision: { enum: ['approve', 'reject'] },
      },
    },
  },
};
