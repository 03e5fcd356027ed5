/**
 * `candor record`: builds a governance record, signs it and logs it; exits 0 only once the
 * log has durably included it (see GOVERNANCE_EXIT), so a deployment job can gate on it.
 *
 *   candor record <change-type> --reason TEXT --key KEY [--model ID] [--model-digest D]
 *       [--model-version V] [--model-uri URI] [--dataset URI=DIGEST ...]
 *       [--config FILE] [--config-uri URI] [--param P ...] [--secret P ...] [--inline P ...]
 *       [--env E] [--ticket T] [--author A] [--time RFC3339] [--pre-determined]
 *       [--url URL] [--wait] [--witnessed] [--timeout S] [--policy FILE]
 *       [--proof-out FILE] [--envelope-out FILE] [--dry-run]
 *
 * Safe to retry: the same flags, files and key give the same envelope bytes (no clock is
 * read: the record's time is --time or SOURCE_DATE_EPOCH, else absent; Ed25519 and
 * candor's RFC 6979 ECDSA signatures are deterministic), and the log answers a
 * resubmission with the same index (`"duplicate": true`).
 *
 * On success it prints one JSON line on stdout: the log's receipt plus `envelopeDigest`
 * (the digest `candor approve` signs). --dry-run prints the envelope instead and sends
 * nothing; --envelope-out keeps a copy of exactly what was logged.
 */
import { parseArgs } from 'node:util';
import { parsePolicy } from '../client/policy.js';
import { snapshotConfig } from '../governance/config-snapshot.js';
import { parsePrivateKey, type SigningKey } from '../governance/keys.js';
import type { ChangeType, DatasetRef, GovernancePredicate } from '../governance/predicate.js';
import { CHANGE_TYPES } from '../governance/schema.js';
import { buildStatement, signStatement, type SignedRecord } from '../governance/record.js';
import { writeProofFile } from './proof-out.js';
import {
  GOVERNANCE_EXIT,
  asUsage,
  logUrl,
  nodeIo,
  parseDigestArg,
  readInput,
  recordTime,
  runCommand,
  timeoutMs,
  usage,
  withExit,
  type GovernanceIo,
} from './governance-io.js';
import { submitRecord, type SubmitOptions } from './record-submit.js';

const SYNOPSIS =
  'candor record <model-update|safety-config|dataset|deployment|rollback> --reason TEXT --key KEY ' +
  '[--model ID] [--model-digest D] [--dataset URI=DIGEST ...] [--config FILE] [--env E] ' +
  '[--ticket T] [--url URL] [--wait] [--witnessed] [--timeout S] [--proof-out FILE] (all flags: candor record --help)';

/** The flags every record-submitting command shares (record and approve). */
export const SUBMIT_FLAGS = {
  key: { type: 'string' },
  url: { type: 'string' },
  wait: { type: 'boolean' },
  witnessed: { type: 'boolean' },
  timeout: { type: 'string' },
  policy: { type: 'string' },
  'proof-out': { type: 'string' },
  'envelope-out': { type: 'string' },
  'dry-run': { type: 'boolean' },
  time: { type: 'string' },
} as const;

type SubmitFlagValues = {
  [K in keyof typeof SUBMIT_FLAGS]?: (typeof SUBMIT_FLAGS)[K]['type'] extends 'boolean'
    ? boolean
    : string;
};

/**
 * Signs `predicate` with --key and logs it (or prints it with --dry-run); prints the
 * receipt line. Shared by record and approve.
 */
export async function signAndSubmit(
  io: GovernanceIo,
  values: SubmitFlagValues,
  predicate: GovernancePredicate,
  signingKey?: SigningKey
): Promise<number> {
  if (values.key === undefined) throw usage('--key KEY is required');
  const options: SubmitOptions = {
    url: logUrl(io, values.url),
    witnessed: values.witnessed === true,
    wait: values.wait === true,
    timeoutMs: timeoutMs(values.timeout),
  };
  if (values.policy !== undefined) {
    options.policy = parsePolicy(await readInput(io, values.policy, 'policy'));
  }
  let statement;
  try {
    statement = buildStatement(predicate);
  } catch (err) {
    asUsage(err);
  }
  const key =
    signingKey ?? parsePrivateKey(await readInput(io, values.key, 'key'), `key ${values.key}`);
  const signed: SignedRecord = signStatement(statement, key.signer());
  if (values['envelope-out'] !== undefined)
    await io.writeFile(values['envelope-out'], signed.entry);
  if (values['dry-run'] === true) {
    io.out(Buffer.from(signed.entry).toString('utf8') + '\n');
    return GOVERNANCE_EXIT.OK;
  }
  const done = await submitRecord(io, signed.entry, options, signed.envelopeDigest);
  if (values['proof-out'] !== undefined) {
    try {
      await writeProofFile(done.receiptText, values['proof-out']);
    } catch (err) {
      throw withExit(GOVERNANCE_EXIT.ERROR, err);
    }
  }
  const r = done.receipt;
  io.out(
    JSON.stringify({
      ...(JSON.parse(done.receiptText) as object),
      envelopeDigest: signed.envelopeDigest,
      witnessed: options.witnessed,
    }) + '\n'
  );
  const again = r.duplicate ? ' (already logged: same entry)' : '';
  io.err(`logged as entry ${r.index}${again}; envelope sha256:${signed.envelopeDigest}\n`);
  return GOVERNANCE_EXIT.OK;
}

function datasets(specs: string[]): DatasetRef[] {
  return specs.map((spec) => {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw usage(`--dataset must be URI=DIGEST, got "${spec}"`);
    return { uri: spec.slice(0, eq), digest: parseDigestArg(spec.slice(eq + 1), '--dataset') };
  });
}

/** The predicate the record flags describe (files read through `io`). */
async function predicateFromFlags(
  io: GovernanceIo,
  changeType: ChangeType,
  v: Record<string, string | boolean | string[] | undefined>
): Promise<GovernancePredicate> {
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const list = (k: string): string[] => (v[k] as string[] | undefined) ?? [];
  const reason = str('reason');
  if (reason === undefined) throw usage('--reason TEXT is required');
  const p: GovernancePredicate = { changeType, reason };
  const modelId = str('model');
  if (modelId !== undefined) {
    p.model = { id: modelId };
    if (str('model-version') !== undefined) p.model.version = str('model-version')!;
    if (str('model-digest') !== undefined)
      p.model.digest = parseDigestArg(str('model-digest')!, '--model-digest');
    if (str('model-uri') !== undefined) p.model.uri = str('model-uri')!;
  } else if (['model-digest', 'model-version', 'model-uri'].some((k) => v[k] !== undefined)) {
    throw usage('--model-digest, --model-version and --model-uri need --model ID');
  }
  if (list('dataset').length > 0) p.trainingData = datasets(list('dataset'));
  const configFile = str('config');
  if (configFile !== undefined) {
    const bytes = await readInput(io, configFile, 'config');
    const select = list('param');
    try {
      p.config = snapshotConfig(bytes, {
        secrets: list('secret'),
        inline: list('inline'),
        ...(select.length > 0 ? { select } : {}),
        ...(str('config-uri') !== undefined ? { uri: str('config-uri')! } : {}),
      });
    } catch (err) {
      asUsage(err);
    }
  } else if (
    ['param', 'secret', 'inline', 'config-uri'].some(
      (k) => list(k).length > 0 || typeof v[k] === 'string'
    )
  ) {
    throw usage('--param, --secret, --inline and --config-uri need --config FILE');
  }
  for (const [flag, field] of [
    ['env', 'environment'],
    ['ticket', 'ticket'],
    ['author', 'author'],
  ] as const) {
    if (str(flag) !== undefined) p[field] = str(flag)!;
  }
  const createdAt = recordTime(io, str('time'));
  if (createdAt !== undefined) p.createdAt = createdAt;
  if (v['pre-determined'] === true) p.preDetermined = true;
  return p;
}

/** The parseArgs options of `candor record`. */
export const RECORD_OPTIONS = {
  ...SUBMIT_FLAGS,
  reason: { type: 'string' },
  model: { type: 'string' },
  'model-digest': { type: 'string' },
  'model-version': { type: 'string' },
  'model-uri': { type: 'string' },
  dataset: { type: 'string', multiple: true },
  config: { type: 'string' },
  'config-uri': { type: 'string' },
  param: { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  inline: { type: 'string', multiple: true },
  env: { type: 'string' },
  ticket: { type: 'string' },
  author: { type: 'string' },
  'pre-determined': { type: 'boolean' },
} as const;

/**
 * Runs `candor record` with the arguments after `record`; resolves with the exit code
 * (GOVERNANCE_EXIT). Never throws and never exits the process.
 */
export function recordCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('record', io, SYNOPSIS, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: RECORD_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [changeType, ...extra] = positionals;
    if (changeType === 'approval') throw usage('approvals are made with candor approve --entry N');
    if (changeType === undefined || !(CHANGE_TYPES as readonly string[]).includes(changeType)) {
      throw usage(
        `the change type must be one of ${CHANGE_TYPES.filter((t) => t !== 'approval').join(', ')}`
      );
    }
    if (extra.length > 0) throw usage(`unexpected argument "${extra[0]}"`);
    const predicate = await predicateFromFlags(io, changeType as ChangeType, values);
    return signAndSubmit(io, values, predicate);
  });
}
