/**
 * Which approvals of a change count, and whether the change is approved. One rule for
 * the server's search answers and for the commands that check them (`candor state`,
 * `candor verify-deployment`), which apply it to records they verified themselves.
 *
 * An approval counts when:
 * - it was logged after the change (a higher index) and, with `asOf`, at or before then;
 * - its signer is known (its signature verifies under an allowlisted key), has the
 *   `approver` role, and may act for the change's environment (the environment is read
 *   from the change, never from the approval, which only copies it);
 * - the approval itself is attributed (attribution.ts: `attributed` not false);
 * - its signer is not the change's signer, nor the change's `author` (on whose behalf CI
 *   signed): nobody approves their own change.
 * Each approver's latest counted decision stands. A change is approved when it is itself
 * attributed, at least one approver's latest decision is `approve` and none's is `reject`:
 * an unattributed change is never approved, whatever approvals name it.
 */

/** Who signed a record, as the allowlist names them. */
export interface SignerInfo {
  name: string;
  keyid: string;
  roles: string[];
  /** The environments the key may act for (patterns); absent: all. */
  environments?: string[];
}

/** An approval record of a change. */
export interface ApprovalView {
  index: number;
  envelopeDigest: string;
  /** Null when no allowlisted key made its signature. */
  signer: SignerInfo | null;
  decision: 'approve' | 'reject';
  /** When the log integrated it (RFC 3339). */
  time: string;
  reason?: string;
  /** False when the approval is not attributed (attribution.ts); absent: as `signer` says. */
  attributed?: boolean;
  /** Why it is not attributed. */
  unattributed?: string;
}

/** An approval with the verdict on it. */
export interface ApprovalVerdict extends ApprovalView {
  counted: boolean;
  /** Why it does not count. */
  why?: string;
}

/** The change the approvals are about. */
export interface ChangeView {
  index: number;
  signer: SignerInfo | null;
  author?: string | undefined;
  /** The change's environment: an approver must be allowed there. */
  env?: string | null | undefined;
  /** False when the change is not attributed: then it is never approved. */
  attributed?: boolean | undefined;
  /** Why it is not attributed. */
  unattributed?: string | undefined;
}

/** The outcome of evaluateApprovals. */
export interface ApprovalOutcome {
  approved: boolean;
  /** Every approval, in log order, with its verdict. */
  approvals: ApprovalVerdict[];
  /** Names whose latest counted decision is approve. */
  approvedBy: string[];
  /** Names whose latest counted decision is reject. */
  rejectedBy: string[];
  /** Set when the change itself is not attributed (why), which alone makes it unapproved. */
  unattributed?: string;
}

/**
 * Applies the rule in the module comment.
 * @param options.asOf only approvals logged at or before this time (ms since the epoch).
 */
export function evaluateApprovals(
  change: ChangeView,
  approvals: readonly ApprovalView[],
  options: { asOf?: number } = {}
): ApprovalOutcome {
  const sorted = [...approvals].sort((a, b) => a.index - b.index);
  const latest = new Map<string, 'approve' | 'reject'>();
  const verdicts = sorted.map((a): ApprovalVerdict => {
    const why = disqualify(change, a, options.asOf);
    if (why !== undefined) return { ...a, counted: false, why };
    latest.set(a.signer!.name, a.decision);
    return { ...a, counted: true };
  });
  const approvedBy = [...latest].filter(([, d]) => d === 'approve').map(([n]) => n);
  const rejectedBy = [...latest].filter(([, d]) => d === 'reject').map(([n]) => n);
  const outcome: ApprovalOutcome = {
    approved: change.attributed !== false && approvedBy.length > 0 && rejectedBy.length === 0,
    approvals: verdicts,
    approvedBy,
    rejectedBy,
  };
  if (change.attributed === false) {
    outcome.unattributed = change.unattributed ?? 'no allowlisted submitter may have made it';
  }
  return outcome;
}

function disqualify(change: ChangeView, a: ApprovalView, asOf: number | undefined): string | undefined {
  if (a.index <= change.index) return `logged (entry ${a.index}) before the change it names`;
  if (asOf !== undefined && Date.parse(a.time) > asOf) return `logged later, at ${a.time}`;
  if (a.signer === null) {
    return a.unattributed?.startsWith('RETIRED') === true
      ? `the approval is not attributed (${a.unattributed})`
      : 'its signature matches no key on the allowlist';
  }
  const name = a.signer.name;
  if (!a.signer.roles.includes('approver')) return `${name} does not have the approver role`;
  const env = change.env ?? undefined;
  if (env !== undefined && !mayActIn(a.signer.environments, env)) {
    return `${name} may not approve changes in ${env}`;
  }
  if (a.attributed === false) return `the approval is not attributed (${a.unattributed ?? 'unknown reason'})`;
  if (change.signer !== null && name === change.signer.name) {
    return `self-approval: ${name} signed the change`;
  }
  if (change.author !== undefined && name === change.author) {
    return `self-approval: ${name} is the change's author`;
  }
  return undefined;
}

/** The allowlist's environment rule (submitters.ts allowsEnvironment): a trailing `*` matches any suffix. */
function mayActIn(patterns: readonly string[] | undefined, env: string): boolean {
  if (patterns === undefined) return true;
  return patterns.some((p) => (p.endsWith('*') ? env.startsWith(p.slice(0, -1)) : env === p));
}

/** A one-line account of why a change is not approved (for error messages). */
export function whyNotApproved(outcome: ApprovalOutcome): string {
  if (outcome.unattributed !== undefined) return `the change itself is unattributed (${outcome.unattributed})`;
  if (outcome.rejectedBy.length > 0) return `rejected by ${outcome.rejectedBy.join(', ')}`;
  if (outcome.approvals.length === 0) return 'it has no approval';
  const reasons = outcome.approvals.map((a) => {
    const who = a.signer?.name ?? 'an unknown key';
    return a.counted ? `entry ${a.index} by ${who}: ${a.decision}` : `entry ${a.index} by ${who} not counted: ${a.why}`;
  });
  return `no approval counts (${reasons.join('; ')})`;
}
