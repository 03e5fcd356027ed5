/**
 * verifyRecord: everything candor checks before a governance record is logged, in order,
 * each failure with its own code (the HTTP layer maps them: src/server/errors.ts):
 *
 *   1. size: at most MAX_ENVELOPE_SIZE bytes                          TOO_LARGE   413
 *   2. a well-formed DSSE envelope (strict JSON, base64, limits)      MALFORMED   400
 *   3. at least one signature                                        UNSIGNED    400
 *   4. every signature verifies, over PAE, under an allowlisted key:
 *      - none does, and its keyid names an allowlisted key           BAD_SIGNATURE 403
 *        (the payload or the signature was altered, or the wrong key signed)
 *      - none does, and its keyid names no allowlisted key           UNKNOWN_KEY 403
 *      - two signatures by the same key                              MALFORMED   400
 *   5. payloadType is in-toto (checked after the signatures, as DSSE requires)  MALFORMED
 *   6. the payload is an in-toto Statement v1 with digests           MALFORMED   400
 *   7. a governance predicate is valid, and its subjects carry its digests  MALFORMED
 *   8. a signer may submit it: role `approver` for approvals, `engineer` or `ci` for
 *      anything else, and the record's environment among the signer's   FORBIDDEN 403
 *   9. the canonical envelope fits a log entry                       TOO_LARGE   413
 *
 * keyid is only a hint (DSSE): the hinted keys are tried first, then every other key, so
 * a wrong or foreign hint (cosign writes none) never rejects a good signature; the hint
 * only chooses between BAD_SIGNATURE and UNKNOWN_KEY when nothing verifies.
 *
 * What to log is `entry`, the canonical envelope (dsse.ts), not the request body: the
 * same envelope in any accepted spelling is then the same entry, and resubmissions
 * deduplicate. `envelopeDigest` (hex SHA-256 of `entry`) is what approvals name.
 * verifyRecord is a pure function of the bytes and the allowlist: the same input always
 * gives the same entry and digests.
 */
import { createHash } from 'node:crypto';
import { LogError } from '../util/errors.js';
import {
  type DsseEnvelope,
  MAX_ENVELOPE_SIZE,
  encodeEnvelope,
  pae,
  parseEnvelope,
} from './dsse.js';
import { isInTotoPayloadType, parseStatement, type Statement } from './intoto.js';
import { verifySignature } from './keys.js';
import {
  GOVERNANCE_PREDICATE_TYPE,
  type GovernancePredicate,
  validateGovernanceStatement,
} from './predicate.js';
import { allowsEnvironment, type Role, type Submitter, type SubmitterList } from './submitters.js';

/** A record that passed verifyRecord. */
export interface VerifiedRecord {
  /** The canonical envelope bytes: what the log stores as the entry. */
  entry: Uint8Array;
  /** Lowercase hex SHA-256 of `entry`: the digest approvals name. */
  envelopeDigest: string;
  /** Lowercase hex SHA-256 of the payload (the statement bytes). */
  payloadDigest: string;
  envelope: DsseEnvelope;
  statement: Statement;
  /** The governance predicate; undefined for statements of other predicate types. */
  predicate: GovernancePredicate | undefined;
  /** The allowlisted submitter whose signature authorizes the record. */
  signer: Submitter;
  /** The signer's allowlist keyid. */
  keyid: string;
  /** Every allowlisted submitter whose signature verified, in signature order. */
  signers: Submitter[];
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// The allowlisted submitter whose key made `sig`, trying the keyid's keys first.
function signerOf(
  message: Uint8Array,
  sig: { keyid: string; sig: Uint8Array },
  list: SubmitterList,
  i: number
): Submitter {
  const hinted = sig.keyid === '' ? [] : list.byKeyid(sig.keyid);
  const others = list.submitters.filter((s) => !hinted.includes(s));
  for (const s of [...hinted, ...others]) {
    if (verifySignature(s.publicKey, message, sig.sig)) return s;
  }
  const which = `signature ${i}${sig.keyid === '' ? '' : ` (keyid ${JSON.stringify(sig.keyid)})`}`;
  if (hinted.length > 0) {
    throw new LogError(
      'BAD_SIGNATURE',
      `${which} does not verify under the key of ${hinted[0]!.name}: ` +
        'the statement or the signature was altered, or another key signed'
    );
  }
  throw new LogError('UNKNOWN_KEY', `${which} was not made by any key on the submitter allowlist`);
}

// Steps 5 to 7: the payload type, the statement and a governance predicate.
function readStatement(envelope: DsseEnvelope): {
  statement: Statement;
  predicate: GovernancePredicate | undefined;
} {
  if (!isInTotoPayloadType(envelope.payloadType)) {
    throw new LogError(
      'MALFORMED',
      `unsupported payloadType ${JSON.stringify(envelope.payloadType)}: ` +
        'candor logs in-toto statements (application/vnd.in-toto+json)'
    );
  }
  const statement = parseStatement(envelope.payload);
  const predicate =
    statement.predicateType === GOVERNANCE_PREDICATE_TYPE
      ? validateGovernanceStatement(statement)
      : undefined;
  return { statement, predicate };
}

/** The role a statement needs: approvals need `approver`, anything else `engineer` or `ci`. */
export function rolesFor(predicate: GovernancePredicate | undefined): readonly Role[] {
  return predicate?.changeType === 'approval' ? ['approver'] : ['engineer', 'ci'];
}

/**
 * Check 8 of verifyRecord: the first of `signers` (allowlisted keys whose signatures
 * verified) whose role and environments permit the statement. Shared with the attribution
 * of logged records (search/attribution.ts), so that what the log accepts and what counts
 * as attributed follow one rule.
 * @throws LogError FORBIDDEN saying which role or environment is missing.
 */
export function authorize(
  signers: readonly Submitter[],
  predicate: GovernancePredicate | undefined
): Submitter {
  const roles = rolesFor(predicate);
  const env = predicate?.environment;
  const allowed = signers.find(
    (s) =>
      s.roles.some((r) => roles.includes(r)) && (env === undefined || allowsEnvironment(s, env))
  );
  if (allowed !== undefined) return allowed;
  const what = predicate === undefined ? 'statements' : `${predicate.changeType} records`;
  const withRole = signers.find((s) => s.roles.some((r) => roles.includes(r)));
  if (withRole === undefined) {
    const first = signers[0]!;
    throw new LogError(
      'FORBIDDEN',
      `${first.name} (roles: ${first.roles.join(', ')}) may not submit ${what}: ` +
        `it needs the role ${roles.join(' or ')}`
    );
  }
  throw new LogError(
    'FORBIDDEN',
    `${withRole.name} may not record changes for environment ${env}` +
      ` (allowed: ${(withRole.environments ?? []).join(', ')})`
  );
}

/**
 * Checks a submitted envelope against the allowlist (see the module comment for the
 * checks and their order).
 * @returns the verified record; log its `entry`.
 * @throws LogError TOO_LARGE, MALFORMED, UNSIGNED, BAD_SIGNATURE, UNKNOWN_KEY or FORBIDDEN.
 * @example
 * const record = verifyRecord(new Uint8Array(await c.req.arrayBuffer()), registry.current);
 * const result = await log.add(record.entry);
 */
export function verifyRecord(envelopeBytes: Uint8Array, submitters: SubmitterList): VerifiedRecord {
  const envelope = parseEnvelope(envelopeBytes);
  if (envelope.signatures.length === 0) {
    throw new LogError('UNSIGNED', 'the envelope has no signatures; sign it with a submitter key');
  }
  const message = pae(envelope.payloadType, envelope.payload);
  const signers: Submitter[] = [];
  envelope.signatures.forEach((sig, i) => {
    const s = signerOf(message, sig, submitters, i);
    if (signers.includes(s)) {
      throw new LogError('MALFORMED', `malformed DSSE envelope: ${s.name}'s key signed twice`);
    }
    signers.push(s);
  });
  const { statement, predicate } = readStatement(envelope);
  const signer = authorize(signers, predicate);
  const entry = encodeEnvelope(envelope);
  if (entry.length > MAX_ENVELOPE_SIZE) {
    throw new LogError(
      'TOO_LARGE',
      `the canonical envelope is ${entry.length} bytes; at most ${MAX_ENVELOPE_SIZE}`
    );
  }
  return {
    entry,
    envelopeDigest: sha256Hex(entry),
    payloadDigest: sha256Hex(envelope.payload),
    envelope,
    statement,
    predicate,
    signer,
    keyid: signer.keyid,
    signers,
  };
}

/** A logged record read back, its signatures NOT checked (see parseRecord). */
export interface ParsedRecord {
  envelope: DsseEnvelope;
  statement: Statement;
  /** The governance predicate; undefined for statements of other predicate types. */
  predicate: GovernancePredicate | undefined;
  /** Lowercase hex SHA-256 of the entry bytes as given. */
  envelopeDigest: string;
}

/**
 * Reads a logged entry as a record: checks 1, 2 and 5 to 7 of verifyRecord, without the
 * signatures and the allowlist (which may have changed since it was logged). For
 * indexes rebuilt from the log, monitors and the CLI, which trust the log's checks or
 * verify signatures against their own keys.
 * @throws LogError TOO_LARGE or MALFORMED.
 */
export function parseRecord(entry: Uint8Array): ParsedRecord {
  const envelope = parseEnvelope(entry);
  return { envelope, ...readStatement(envelope), envelopeDigest: sha256Hex(entry) };
}
