/**
 * Reading a pack's record files without `node:` modules, so that a pack verifies in a
 * browser too: the entry as a governance record (DSSE envelope, in-toto statement,
 * governance predicate: the checks of parseRecord in governance/verify-record.ts, with
 * SHA-256 from @noble/hashes), and the seam through which signatures are checked against
 * an allowlist (`AllowlistReader`; candor's command line plugs in node:crypto, see
 * src/cli/evidence-allowlist.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { parseEnvelope, type DsseEnvelope } from '../governance/dsse.js';
import { isInTotoPayloadType, parseStatement, type Statement } from '../governance/intoto.js';
import {
  GOVERNANCE_PREDICATE_TYPE,
  validateGovernanceStatement,
  type GovernancePredicate,
} from '../governance/predicate.js';
import type { SignerInfo } from '../search/approvals.js';
import { toHex } from '../util/bytes.js';
import { LogError } from '../util/errors.js';

/** Lowercase hex SHA-256. */
export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** A governance record read from its entry bytes (signatures not checked). */
export interface PackEntry {
  envelope: DsseEnvelope;
  statement: Statement;
  predicate: GovernancePredicate;
  /** Hex SHA-256 of the entry bytes. */
  envelopeDigest: string;
  /** Hex SHA-256 of the decoded payload. */
  payloadDigest: string;
}

/**
 * Reads entry bytes as a governance record: a DSSE envelope with an in-toto payload type,
 * an in-toto Statement v1, and a valid governance predicate.
 * @throws LogError MALFORMED or TOO_LARGE saying what is wrong.
 */
export function readPackEntry(entry: Uint8Array): PackEntry {
  const envelope = parseEnvelope(entry);
  if (!isInTotoPayloadType(envelope.payloadType)) {
    throw new LogError('MALFORMED', `unsupported payloadType ${JSON.stringify(envelope.payloadType)}`);
  }
  const statement = parseStatement(envelope.payload);
  if (statement.predicateType !== GOVERNANCE_PREDICATE_TYPE) {
    throw new LogError('MALFORMED', `not a governance record (predicate type ${JSON.stringify(statement.predicateType)})`);
  }
  return {
    envelope,
    statement,
    predicate: validateGovernanceStatement(statement),
    envelopeDigest: sha256Hex(entry),
    payloadDigest: sha256Hex(envelope.payload),
  };
}

/** Whether a record is attributed, and who signed it (search/attribution.ts). */
export interface PackAttribution {
  /** True when it counts as a governance record by `signer`. */
  attributed: boolean;
  /** The allowlisted key whose signature verified, or null when none did. */
  signer: SignerInfo | null;
  /** Why it is not attributed. */
  why?: string;
}

/** An allowlist, as far as a pack needs one: who signed a record, and does it count. */
export interface Allowlist {
  /**
   * The attribution of a record logged at `loggedAtMs` under this allowlist, by the rule
   * of attributeRecord (search/attribution.ts): a valid signature over the envelope's PAE
   * by a key not retired then, whose roles and environments permit the record.
   */
  attribute(entry: PackEntry, loggedAtMs: number): PackAttribution;
}

/**
 * Parses allowlist bytes (the `candor serve --submitters` file format).
 * @throws anything with a message when the bytes are not a valid allowlist.
 */
export type AllowlistReader = (bytes: Uint8Array) => Allowlist;
