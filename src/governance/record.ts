/**
 * Building governance records: the statement for a change or an approval, serialized
 * deterministically (stableStringify) and signed into the canonical envelope candor logs.
 *
 * Determinism is what makes `candor record` safe to retry: the same inputs give the same
 * statement bytes, Ed25519 and candor's RFC 6979 ECDSA give the same signature, and the
 * canonical envelope is the same entry, which the log deduplicates. Nothing here reads
 * the clock: `createdAt` is set only when the caller passes it.
 *
 * Subjects, so that search by digest finds every record about an artifact:
 * - the model: `{"name": "model:<id>", "digest": <model digest>}` when the digest is known;
 * - the configuration: `{"name": "config:<model id>", "digest": <config digest>}`;
 * - for a dataset record, each dataset: `{"name": "dataset:<name or uri>", "digest": …}`;
 * - for an approval, the approved envelope: `{"name": "entry:<index>", "digest":
 *   {"sha256": <SHA-256 of the logged envelope>}}`.
 */
import { createHash } from 'node:crypto';
import { utf8 } from '../util/bytes.js';
import { type DsseSigner, encodeEnvelope, signEnvelope } from './dsse.js';
import { INTOTO_PAYLOAD_TYPE, STATEMENT_TYPE_V1, type Statement, type Subject } from './intoto.js';
import {
  GOVERNANCE_PREDICATE_TYPE,
  type GovernancePredicate,
  validateGovernanceStatement,
} from './predicate.js';
import { stableStringify } from './strict-json.js';

/** A signed record, ready to submit. */
export interface SignedRecord {
  statement: Statement;
  /** The canonical envelope bytes (the log entry). */
  entry: Uint8Array;
  /** Lowercase hex SHA-256 of `entry`. */
  envelopeDigest: string;
}

/** The subjects of a governance predicate (see the module comment). */
export function subjectsFor(p: GovernancePredicate): Subject[] {
  if (p.approves !== undefined) {
    const name = p.approves.entry === undefined ? 'entry' : `entry:${p.approves.entry}`;
    return [{ name, digest: { sha256: p.approves.digest.sha256! } }];
  }
  const subjects: Subject[] = [];
  if (p.model?.digest !== undefined) {
    subjects.push({ name: `model:${p.model.id}`, digest: p.model.digest });
  }
  if (p.config !== undefined) {
    subjects.push({ name: `config:${p.model?.id ?? 'config'}`, digest: p.config.digest });
  }
  if (p.changeType === 'dataset') {
    for (const d of p.trainingData ?? []) {
      subjects.push({ name: `dataset:${d.name ?? d.uri}`, digest: d.digest });
    }
  }
  return subjects;
}

/**
 * The in-toto statement of a governance predicate, validated.
 * @throws LogError MALFORMED when the predicate is not a valid governance predicate.
 */
export function buildStatement(predicate: GovernancePredicate): Statement {
  const statement: Statement = {
    _type: STATEMENT_TYPE_V1,
    subject: subjectsFor(predicate),
    predicateType: GOVERNANCE_PREDICATE_TYPE,
    predicate: predicate as unknown as Record<string, unknown>,
  };
  // Round-trip through JSON so `undefined` fields are checked as absent, as a reader sees them.
  validateGovernanceStatement(JSON.parse(stableStringify(statement)) as Statement);
  return statement;
}

/**
 * Serializes and signs a statement into the canonical envelope (deterministic).
 * @example
 * const { entry } = signStatement(buildStatement(predicate), parsePrivateKey(pem).signer());
 */
export function signStatement(statement: Statement, signer: DsseSigner): SignedRecord {
  const payload = utf8(stableStringify(statement));
  const entry = encodeEnvelope(signEnvelope(INTOTO_PAYLOAD_TYPE, payload, [signer]));
  return { statement, entry, envelopeDigest: createHash('sha256').update(entry).digest('hex') };
}

/**
 * The approval predicate for a logged change: its envelope digest, the decision, and the
 * change's model and environment copied for search. (A policy must read the environment
 * from the approved change itself: the copy is the approver's claim.)
 */
export function approvalFor(
  change: GovernancePredicate,
  approved: { envelopeDigest: string; entry?: number },
  options: { decision?: 'approve' | 'reject'; reason?: string; createdAt?: string } = {}
): GovernancePredicate {
  const p: GovernancePredicate = {
    changeType: 'approval',
    approves: {
      digest: { sha256: approved.envelopeDigest },
      decision: options.decision ?? 'approve',
      ...(approved.entry === undefined ? {} : { entry: approved.entry }),
    },
  };
  if (change.model !== undefined) p.model = change.model;
  if (change.environment !== undefined) p.environment = change.environment;
  if (options.reason !== undefined) p.reason = options.reason;
  if (options.createdAt !== undefined) p.createdAt = options.createdAt;
  return p;
}
