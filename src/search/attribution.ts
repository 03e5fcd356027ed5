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
  if (envelope.signatures.length === 0) return { signer: null, why: 'UNSIGNED: the envelope has no signatures' };
  const message = pae(envelope.payloadType, envelope.payload);
  const verified: Submitter[] = [];
  let hintedBad: string | undefined;
  for (const sig of envelope.signatures) {
    const hinted = sig.keyid === '' ? [] : list.byKeyid(sig.keyid);
    const found = [...hinted, ...list.submitters.filter((s) => !hinted.includes(s))].find((s) =>
      verifySignature(s.publicKey, message, sig.sig)
    );
    if (found !== undefined) verified.push(found);
    else if (hinted.length > 0) hintedBad ??= hinted[0]!.name;
  }
  if (verified.length === 0) {
    const why =
      hintedBad !== undefined
        ? `BAD_SIGNATURE: a signature names ${hintedBad}'s key but does not verify under it`
        : 'UNKNOWN_KEY: no signature was made by a key on the submitter allowlist';
    return { signer: null, why };
  }
  const wanted = changeType === 'approval' ? ['approver'] : ['engineer', 'ci'];
  const chosen = verified.find((s) => s.roles.some((r) => wanted.includes(r))) ?? verified[0]!;
  return { signer: signerInfo(chosen) };
}
