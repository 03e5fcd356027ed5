/**
 * The governance predicate: the JSON Schema in the repository is the one the package
 * ships, and an independent JSON Schema implementation (ajv, draft-07) agrees with the
 * hand-written validator on every example below.
 *
 * ajv comes from the dev tree (eslint depends on it); it is only used here.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import Ajv from 'ajv';
import { GOVERNANCE_RECORD_SCHEMA } from '../../src/governance/schema.js';
import {
  GOVERNANCE_PREDICATE_TYPE,
  validateGovernancePredicate,
  validateGovernanceStatement,
} from '../../src/governance/predicate.js';
import { validateStatement } from '../../src/governance/intoto.js';
import { buildStatement, subjectsFor } from '../../src/governance/record.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import { utf8 } from '../../src/util/bytes.js';
import { SHA_A, SHA_B, SHA_C, modelUpdate } from './helpers.js';

const SCHEMA_FILE = new URL('../../schemas/governance-record-v1.schema.json', import.meta.url);

test('schemas/governance-record-v1.schema.json is the schema the package ships', () => {
  const text = JSON.stringify(GOVERNANCE_RECORD_SCHEMA, null, 2) + '\n';
  if (process.env.UPDATE_SCHEMA === '1') writeFileSync(SCHEMA_FILE, text);
  expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(text);
});

const ajv = new Ajv({ allErrors: true });
test('the schema is valid draft-07', () => {
  expect(ajv.validateSchema(GOVERNANCE_RECORD_SCHEMA)).toBe(true);
});
const schemaAccepts = ajv.compile(GOVERNANCE_RECORD_SCHEMA);

function validatorAccepts(v: unknown): boolean {
  try {
    validateGovernancePredicate(v);
    return true;
  } catch {
    return false;
  }
}

const model = { id: 'fraud-detector', digest: { sha256: SHA_A } };
const config = { digest: { sha256: SHA_B } };
const secret = { digest: { sha256: SHA_C } };
const approves = { entry: 3, digest: { sha256: SHA_C }, decision: 'approve' };
const mu = (extra: object): object => ({ ...modelUpdate(), ...extra });

const EXAMPLES: Array<[string, unknown, boolean]> = [
  ['a minimal model update', modelUpdate(), true],
  [
    'a full model update',
    mu({
      trainingData: [{ name: 'q3', uri: 's3://b/q3.parquet', digest: { sha256: SHA_B } }],
      config: { ...config, uri: 's3://c', parameters: { temperature: '0.2' } },
      environment: 'prod-eu',
      author: 'alice',
      ticket: 'AI-123',
      createdAt: '2026-03-03T14:32:00Z',
      previous: { entry: 1, digest: { sha256: SHA_C } },
      preDetermined: true,
      annotations: { x: [1] },
    }),
    true,
  ],
  [
    'a safety-config change',
    { changeType: 'safety-config', model: { id: 'bot' }, config, reason: 'r' },
    true,
  ],
  [
    'a dataset record',
    {
      changeType: 'dataset',
      trainingData: [{ uri: 'hf://d@1', digest: { gitCommit: 'a'.repeat(40) } }],
      reason: 'r',
    },
    true,
  ],
  ['a deployment', { changeType: 'deployment', model, environment: 'prod', reason: 'r' }, true],
  ['a rollback', { changeType: 'rollback', model, environment: 'prod', reason: 'r' }, true],
  ['an approval', { changeType: 'approval', approves }, true],
  [
    'a rejection with reason and copies',
    {
      changeType: 'approval',
      approves: { ...approves, decision: 'reject' },
      model,
      environment: 'prod',
      reason: 'no',
    },
    true,
  ],
  ['not an object', 'model-update', false],
  ['no changeType', { model, reason: 'r' }, false],
  ['an unknown changeType', mu({ changeType: 'prompt' }), false],
  ['an unknown field', mu({ enviroment: 'prod' }), false],
  ['no reason', { changeType: 'model-update', model }, false],
  ['an empty reason', mu({ reason: '' }), false],
  ['a reason of 4097 characters', mu({ reason: 'x'.repeat(4097) }), false],
  ['a reason of 4096 astral characters', mu({ reason: '😀'.repeat(4096) }), true],
  ['a model update without model', { changeType: 'model-update', reason: 'r' }, false],
  ['a model update without model digest', mu({ model: { id: 'm' } }), false],
  [
    'a model digest without sha256',
    mu({ model: { id: 'm', digest: { sha512: 'a'.repeat(128) } } }),
    false,
  ],
  [
    'a model digest with sha256 and sha512',
    mu({ model: { id: 'm', digest: { sha256: SHA_A, sha512: 'a'.repeat(128) } } }),
    true,
  ],
  ['a model id with a space', mu({ model: { ...model, id: 'fraud detector' } }), false],
  ['a model id with org/name@rev', mu({ model: { ...model, id: 'org/model@v1.2+x' } }), true],
  ['a model with an unknown field', mu({ model: { ...model, weights: 'x' } }), false],
  ['a model uri without scheme', mu({ model: { ...model, uri: '/models/x' } }), false],
  ['an empty model version', mu({ model: { ...model, version: '' } }), false],
  [
    'a safety-config without config',
    { changeType: 'safety-config', model: { id: 'bot' }, reason: 'r' },
    false,
  ],
  ['a safety-config without model', { changeType: 'safety-config', config, reason: 'r' }, false],
  ['a config without digest', mu({ config: { parameters: {} } }), false],
  [
    'nested parameter groups and arrays',
    mu({
      config: {
        ...config,
        parameters: {
          guardrail: { toxicity: { threshold: '0.85' } },
          stop: ['###', null, 1.5, true],
          empty: {},
        },
      },
    }),
    true,
  ],
  [
    'a secret parameter as a digest',
    mu({
      config: { ...config, parameters: { system_prompt: { ...secret, uri: 's3://p/v12.txt' } } },
    }),
    true,
  ],
  [
    'a secret with an extra field',
    mu({ config: { ...config, parameters: { system_prompt: { ...secret, value: 'x' } } } }),
    false,
  ],
  [
    'a group named digest',
    mu({ config: { ...config, parameters: { g: { digest: 'x' } } } }),
    false,
  ],
  [
    'a top-level parameter named digest',
    mu({ config: { ...config, parameters: { digest: secret } } }),
    false,
  ],
  ['a clear-text api_key', mu({ config: { ...config, parameters: { api_key: 'sk-123' } } }), false],
  [
    'a clear-text DB.Password in a group',
    mu({ config: { ...config, parameters: { db: { Password: 'x' } } } }),
    false,
  ],
  [
    'an auth-token as a digest',
    mu({ config: { ...config, parameters: { 'auth-token': secret } } }),
    true,
  ],
  [
    'max_tokens is not a secret',
    mu({ config: { ...config, parameters: { max_tokens: 1024, eos_token: '</s>' } } }),
    true,
  ],
  [
    'a parameter name with a space',
    mu({ config: { ...config, parameters: { 'top p': 1 } } }),
    false,
  ],
  [
    'a parameter string of 4097 characters',
    mu({ config: { ...config, parameters: { p: 'x'.repeat(4097) } } }),
    false,
  ],
  ['257 array items', mu({ config: { ...config, parameters: { p: Array(257).fill(0) } } }), false],
  ['a dataset record without datasets', { changeType: 'dataset', reason: 'r' }, false],
  ['an empty trainingData', mu({ trainingData: [] }), false],
  ['a dataset without uri', mu({ trainingData: [{ digest: { sha256: SHA_B } }] }), false],
  [
    'a dataset digest with md5 only',
    mu({ trainingData: [{ uri: 'x:y', digest: { md5: 'a'.repeat(32) } }] }),
    true,
  ],
  [
    'a dataset digest with an unknown algorithm',
    mu({ trainingData: [{ uri: 'x:y', digest: { xxh3: 'whatever' } }] }),
    true,
  ],
  [
    'a dataset digest with uppercase sha256',
    mu({ trainingData: [{ uri: 'x:y', digest: { sha256: SHA_B.toUpperCase() } }] }),
    false,
  ],
  [
    '17 digests',
    mu({
      trainingData: [
        {
          uri: 'x:y',
          digest: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`a${i}`, 'v'])),
        },
      ],
    }),
    false,
  ],
  ['a deployment without environment', { changeType: 'deployment', model, reason: 'r' }, false],
  [
    'a deployment without model digest',
    { changeType: 'deployment', model: { id: 'm' }, environment: 'prod', reason: 'r' },
    false,
  ],
  ['an environment with a space', mu({ environment: 'prod eu' }), false],
  ['a rollback without environment', { changeType: 'rollback', model, reason: 'r' }, false],
  ['an approval without approves', { changeType: 'approval', reason: 'r' }, false],
  ['approves on a model update', mu({ approves }), false],
  [
    'an approval without decision',
    { changeType: 'approval', approves: { digest: { sha256: SHA_C } } },
    false,
  ],
  [
    'an approval with decision "maybe"',
    { changeType: 'approval', approves: { ...approves, decision: 'maybe' } },
    false,
  ],
  [
    'an approval of a negative entry',
    { changeType: 'approval', approves: { ...approves, entry: -1 } },
    false,
  ],
  [
    'an approval of entry 1.5',
    { changeType: 'approval', approves: { ...approves, entry: 1.5 } },
    false,
  ],
  [
    'an approval of entry 2^53',
    { changeType: 'approval', approves: { ...approves, entry: 2 ** 53 } },
    false,
  ],
  [
    'an approval of a digest without sha256',
    { changeType: 'approval', approves: { ...approves, digest: { sha512: 'a'.repeat(128) } } },
    false,
  ],
  ['createdAt with a fraction', mu({ createdAt: '2026-03-03T14:32:00.123Z' }), true],
  ['createdAt with an offset', mu({ createdAt: '2026-03-03T14:32:00+01:00' }), false],
  ['createdAt month 13', mu({ createdAt: '2026-13-03T14:32:00Z' }), false],
  ['a ticket of 513 characters', mu({ ticket: 't'.repeat(513) }), false],
  ['a numeric author', mu({ author: 7 }), false],
  ['preDetermined as a string', mu({ preDetermined: 'yes' }), false],
  ['annotations as an array', mu({ annotations: [] }), false],
  ['previous without digest', mu({ previous: { entry: 1 } }), false],
];

describe('the schema and the validator agree', () => {
  test.each(EXAMPLES)('%s', (_name, example, valid) => {
    expect(schemaAccepts(example)).toBe(valid);
    expect(validatorAccepts(example)).toBe(valid);
  });
});

test('validator errors name the field', () => {
  expect(() => validateGovernancePredicate(mu({ model: { id: 'm' } }))).toThrow(
    'invalid governance predicate: model.digest: is required for model-update'
  );
  expect(() =>
    validateGovernancePredicate(
      mu({ config: { ...config, parameters: { db: { password: 'x' } } } })
    )
  ).toThrow(/config\.parameters\.db\.password: looks like a secret/);
  expect(() => validateGovernancePredicate(mu({ enviroment: 'prod' }))).toThrow(
    /enviroment: unknown field/
  );
});

describe('validateGovernanceStatement: subjects carry the digests', () => {
  const statement = (predicate: object, subject = subjectsFor(predicate as never)): unknown => ({
    _type: 'https://in-toto.io/Statement/v1',
    subject,
    predicateType: GOVERNANCE_PREDICATE_TYPE,
    predicate,
  });
  test('built statements pass', () => {
    const p = mu({ config: { ...config, parameters: {} } });
    const s = buildStatement(p as never);
    expect(s.subject.map((x) => x.name)).toEqual(['model:fraud-detector', 'config:fraud-detector']);
    expect(validateGovernanceStatement(validateStatement(statement(p)))).toEqual(p);
  });
  test.each([
    ['the model digest', mu({}), [{ digest: { sha256: SHA_B } }], /must include the model digest/],
    [
      'the config digest',
      mu({ config }),
      [{ digest: { sha256: SHA_A } }],
      /must include the configuration digest/,
    ],
    [
      'the approved digest',
      { changeType: 'approval', approves },
      [{ digest: { sha256: SHA_A } }],
      /approved envelope digest/,
    ],
    [
      'each dataset',
      {
        changeType: 'dataset',
        reason: 'r',
        trainingData: [
          { uri: 'a:b', digest: { sha256: SHA_A } },
          { uri: 'c:d', digest: { sha256: SHA_B } },
        ],
      },
      [{ digest: { sha256: SHA_A } }],
      /dataset c:d/,
    ],
  ])('refuses a statement whose subjects lack %s', (_name, p, subject, why) => {
    expect(() =>
      validateGovernanceStatement(validateStatement(statement(p, subject as never)))
    ).toThrow(why);
  });
  test('refuses another predicate type', () => {
    const s = validateStatement({
      ...(statement(mu({})) as object),
      predicateType: 'https://example/x',
    });
    expect(() => validateGovernanceStatement(s)).toThrow(/predicateType/);
  });
});

describe('the examples in docs/governance.md are valid', () => {
  const doc = readFileSync(new URL('../../docs/governance.md', import.meta.url), 'utf8');
  const example = (name: string): string => {
    const m = new RegExp(`<!-- example: ${name} -->\\n\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(
      doc
    );
    if (m === null) throw new Error(`no example ${name} in docs/governance.md`);
    return m[1]!;
  };
  test.each(['statement', 'approval'])('the %s', (name) => {
    const p = validateGovernanceStatement(validateStatement(JSON.parse(example(name))));
    expect(schemaAccepts(p)).toBe(true);
  });
  test('the allowlist', () => {
    const list = parseSubmitters(utf8(example('submitters')));
    expect(list.submitters.map((s) => [s.name, s.publicKey.algorithm])).toEqual([
      ['alice', 'ed25519'],
      ['bob', 'ecdsa-p256'],
      ['release-ci', 'ed25519'],
    ]);
  });
});
