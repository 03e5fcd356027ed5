/**
 * Who signed a logged record, by its signatures alone: the allowlisted keys that made a
 * valid signature over the envelope's PAE (the keyid hint only orders the tries, as in
 * verifyRecord). Unlike verifyRecord it does not authorize anything: roles and
 * environments are judged later, by whoever uses the answer (approvals.ts judges an
 * approver's role against the approved change's environment). Used by the record index
 * and by the commands that check records against their own allowlist.
 */
import { pae, type DsseEnvelope } from '../governance/dsse.js';
import { verifySignature } from '../governance/keys.js';
import type { ChangeType } from '../governance/predicate-types.js';
import type { Submitter, SubmitterList } from '../governance/submitters.js';
import type { SignerInfo } from './approvals.js';

/** The signer of a record, or null and why not. */
export interface Attribution {
  signer: SignerInfo | null;
  /** Why there is no signer. */
  why?: string;
}

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
 * Attributes `envelope` (see the module comment). With several signers, the first one
 * whose role fits the record (approver for approvals, engineer or ci otherwise) is named,
 * else the first.
 */
export function attributeSigner(
  envelope: DsseEnvelope,
  list: SubmitterList | undefined,
  changeType: ChangeType | null
): Attribution {
  if (list === undefined) return { signer: null, why: 'no submitter allowlist was loaded' };
  const { signers, why } = verifiedSigners(envelope, list);
  const chosen = chooseSigner(signers, changeType);
  if (chosen === undefined) return { signer: null, why: why! };
  return { signer: signerInfo(chosen) };
}
