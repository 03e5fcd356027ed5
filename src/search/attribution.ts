/**
 * Who signed a logged record, and whether it counts: attributeRecord is THE rule by which
 * a logged record is attributed to a verified submitter (see it). Everything that reads
 * records uses it: the record index, the commands that check records against their own
 * allowlist, evidence packs and the monitor's rules. The log also takes raw entries on
 * POST /v1/entries, which nobody checked, so a record in the log proves nothing about who
 * made it until it is attributed.
 *
 * verifiedSigners is the part about signatures alone: the allowlisted keys that made a
 * valid signature over the envelope's PAE (the keyid hint only orders the tries, as in
 * verifyRecord).
 */
import { pae, type DsseEnvelope } from '../governance/dsse.js';
import { verifySignature } from '../governance/keys.js';
import type { GovernancePredicate } from '../governance/predicate.js';
import type { ChangeType } from '../governance/predicate-types.js';
import { inForceAt, type Submitter, type SubmitterList } from '../governance/submitters.js';
import { authorize } from '../governance/verify-record.js';
import { isLogError } from '../util/errors.js';
import type { SignerInfo } from './approvals.js';

/** The signer information of an allowlist entry. */
export function signerInfo(s: Submitter): SignerInfo {
  return {
    name: s.name,
    keyid: s.keyid,
    roles: [...s.roles],
    ...(s.environments === undefined ? {} : { environments: [...s.environments] }),
  };
}

/** The allowlisted keys that made a valid signature over an envelope (see verifiedSigners). */
export interface VerifiedSigners {
  /** Every allowlisted submitter whose signature verified, in signature order, each once. */
  signers: Submitter[];
  /** Why there is none (UNSIGNED, BAD_SIGNATURE or UNKNOWN_KEY and the reason). */
  why?: string;
}

/**
 * Checks every signature of `envelope` against the allowlist (the keyid hint only orders
 * the tries, as in verifyRecord) and returns the submitters whose keys made one.
 */
export function verifiedSigners(envelope: DsseEnvelope, list: SubmitterList): VerifiedSigners {
  if (envelope.signatures.length === 0) return { signers: [], why: 'UNSIGNED: the envelope has no signatures' };
  const message = pae(envelope.payloadType, envelope.payload);
  const verified: Submitter[] = [];
  let hintedBad: string | undefined;
  for (const sig of envelope.signatures) {
    const hinted = sig.keyid === '' ? [] : list.byKeyid(sig.keyid);
    const found = [...hinted, ...list.submitters.filter((s) => !hinted.includes(s))].find((s) =>
      verifySignature(s.publicKey, message, sig.sig)
    );
    if (found !== undefined) {
      if (!verified.includes(found)) verified.push(found);
    } else if (hinted.length > 0) hintedBad ??= hinted[0]!.name;
  }
  if (verified.length > 0) return { signers: verified };
  const why =
    hintedBad !== undefined
      ? `BAD_SIGNATURE: a signature names ${hintedBad}'s key but does not verify under it`
      : 'UNKNOWN_KEY: no signature was made by a key on the submitter allowlist';
  return { signers: [], why };
}

/**
 * The signer a record is attributed to among its verified signers: the first whose role
 * fits the record (approver for approvals, engineer or ci otherwise), else the first.
 */
export function chooseSigner(signers: readonly Submitter[], changeType: ChangeType | null): Submitter | undefined {
  const wanted = changeType === 'approval' ? ['approver'] : ['engineer', 'ci'];
  return signers.find((s) => s.roles.some((r) => wanted.includes(r))) ?? signers[0];
}

/**
 * Whether a logged record counts as a governance statement, and who signed it: the one
 * rule every reader of records applies (the record index and its search, `candor
 * history`, `state`, `verify-deployment`, `export` and `verify-export`, and the monitor's
 * rules), whatever endpoint logged the entry (POST /v1/entries takes any bytes).
 */
export interface RecordAttribution {
  /**
   * True when the record counts as a governance statement by `signer` (attributeRecord).
   * An unattributed record is never the state of a model, an approval, or the governing
   * record of a deployment; readers show it, if at all, marked as unattributed.
   */
  attributed: boolean;
  /**
   * The allowlisted key (in force when the record was logged) whose signature verified:
   * for an attributed record the one it is attributed to; for an unattributed one (not
   * permitted by its roles or environments), who signed it anyway. Null when no such key
   * signed it.
   */
  signer: SignerInfo | null;
  /** Why it is not attributed: a code (as verifyRecord would refuse it) and the reason. */
  why?: string;
}

/**
 * Attributes a logged record under `list`, the allowlist in force for the one asking (the
 * server's, or the `--submitters` file a command was given), judged at `loggedAtMs`, the
 * log's integration time of the record. It is attributed exactly when the log would have
 * accepted it on POST /v1/records at that time:
 * 1. a signature verifies over the envelope's PAE under an allowlisted key (UNSIGNED,
 *    BAD_SIGNATURE or UNKNOWN_KEY otherwise: a forged envelope that only names an
 *    allowlisted keyid is one of these);
 * 2. that key was not retired (its `until`) before `loggedAtMs` (RETIRED otherwise; a
 *    retired key counts as not on the list);
 * 3. its roles and environments permit the statement: `approver` for approvals, `engineer`
 *    or `ci` otherwise, and the record's environment among the key's (FORBIDDEN; the rule
 *    of verifyRecord, shared).
 * The signer is the first key that passes all three, else (FORBIDDEN) the one chooseSigner
 * picks among those that pass 1 and 2. Pure: the same record, list and time always give
 * the same answer, so anyone holding the allowlist file can check the log's attribution.
 */
export function attributeRecord(
  record: { envelope: DsseEnvelope; predicate: GovernancePredicate | undefined },
  list: SubmitterList | undefined,
  loggedAtMs: number
): RecordAttribution {
  const no = (why: string): RecordAttribution => ({ attributed: false, signer: null, why });
  if (list === undefined) return no('NO_ALLOWLIST: no submitter allowlist to check the signature against');
  const { signers, why } = verifiedSigners(record.envelope, list);
  if (signers.length === 0) return no(why!);
  const inForce = signers.filter((s) => inForceAt(s, loggedAtMs));
  if (inForce.length === 0) {
    const s = signers[0]!;
    const at = Number.isFinite(loggedAtMs) ? new Date(loggedAtMs).toISOString() : 'an unknown time';
    return no(
      `RETIRED: signed by ${s.name}, whose key was retired at ${s.until!}, before the log integrated it (${at})`
    );
  }
  try {
    return { attributed: true, signer: signerInfo(authorize(inForce, record.predicate)) };
  } catch (err) {
    if (!isLogError(err)) throw err;
    const chosen = chooseSigner(inForce, record.predicate?.changeType ?? null)!;
    return { attributed: false, signer: signerInfo(chosen), why: `${err.code}: ${err.message}` };
  }
}
