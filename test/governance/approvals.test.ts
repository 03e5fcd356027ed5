/** The approval rule (src/search/approvals.ts) on its own. */
import { describe, expect, test } from 'vitest';
import { evaluateApprovals, whyNotApproved, type ApprovalView, type SignerInfo } from '../../src/search/approvals.js';

const signer = (name: string, roles: string[] = ['approver'], environments?: string[]): SignerInfo => ({
  name,
  keyid: `${name}-key`,
  roles,
  ...(environments === undefined ? {} : { environments }),
});
const change = { index: 10, signer: signer('alice', ['engineer']), author: 'u-7f3a', env: 'prod-eu' };
let next = 11;
const a = (who: SignerInfo | null, decision: 'approve' | 'reject' = 'approve', extra: Partial<ApprovalView> = {}): ApprovalView => ({
  index: next++,
  envelopeDigest: 'e'.repeat(64),
  signer: who,
  decision,
  time: '2026-03-03T12:00:00Z',
  ...extra,
});

describe('evaluateApprovals', () => {
  test('one approval by another approver approves', () => {
    const o = evaluateApprovals(change, [a(signer('bob'))]);
    expect(o).toMatchObject({ approved: true, approvedBy: ['bob'], rejectedBy: [] });
  });

  test('what does not count, and why', () => {
    const cases: [ApprovalView, RegExp][] = [
      [a(signer('alice', ['engineer', 'approver'])), /self-approval: alice signed the change/],
      [a(signer('u-7f3a')), /self-approval: u-7f3a is the change's author/],
      [a(signer('carol', ['engineer'])), /carol does not have the approver role/],
      [a(null), /no key on the allowlist/],
      [a(signer('bob'), 'approve', { index: 9 }), /before the change/],
      [a(signer('dan', ['approver'], ['staging', 'prod-us*'])), /dan may not approve changes in prod-eu/],
    ];
    for (const [view, why] of cases) {
      const o = evaluateApprovals(change, [view]);
      expect(o.approved).toBe(false);
      expect(o.approvals[0]!.counted).toBe(false);
      expect(o.approvals[0]!.why).toMatch(why);
      expect(whyNotApproved(o)).toMatch(why);
    }
    expect(evaluateApprovals(change, [a(signer('dan', ['approver'], ['prod-*']))]).approved).toBe(true);
  });

  test('an unattributed change is never approved; an unattributed approval never counts', () => {
    const forged = { ...change, signer: null, attributed: false, unattributed: 'BAD_SIGNATURE: forged' };
    const o = evaluateApprovals(forged, [a(signer('bob'))]);
    expect(o).toMatchObject({ approved: false, approvedBy: ['bob'], unattributed: 'BAD_SIGNATURE: forged' });
    expect(whyNotApproved(o)).toBe('the change itself is unattributed (BAD_SIGNATURE: forged)');
    // Signed by an approver, but not attributed (say its own environment is not bob's).
    const notHis = a(signer('bob'), 'approve', { attributed: false, unattributed: 'FORBIDDEN: bob may not record changes for environment x' });
    const p = evaluateApprovals(change, [notHis]);
    expect(p.approved).toBe(false);
    expect(p.approvals[0]).toMatchObject({ counted: false, why: 'the approval is not attributed (FORBIDDEN: bob may not record changes for environment x)' });
    // A retired key: no signer, and the reason says so.
    const retired = a(null, 'approve', { attributed: false, unattributed: 'RETIRED: signed by bob, whose key was retired at …' });
    expect(evaluateApprovals(change, [retired]).approvals[0]!.why).toMatch(/^the approval is not attributed \(RETIRED: signed by bob/);
    expect(evaluateApprovals({ ...change, attributed: true }, [a(signer('bob'), 'approve', { attributed: true })]).approved).toBe(true);
  });

  test("each approver's latest decision stands; a standing rejection vetoes", () => {
    expect(evaluateApprovals(change, [a(signer('bob')), a(signer('dan'), 'reject')])).toMatchObject({
      approved: false,
      approvedBy: ['bob'],
      rejectedBy: ['dan'],
    });
    expect(evaluateApprovals(change, [a(signer('dan'), 'reject'), a(signer('bob')), a(signer('dan'))]).approved).toBe(true);
    expect(evaluateApprovals(change, [a(signer('bob')), a(signer('bob'), 'reject')]).approved).toBe(false);
    expect(whyNotApproved(evaluateApprovals(change, [a(signer('bob'), 'reject')]))).toBe('rejected by bob');
    expect(whyNotApproved(evaluateApprovals(change, []))).toBe('it has no approval');
  });

  test('as of a time: later approvals do not count yet', () => {
    const late = a(signer('bob'), 'approve', { time: '2026-03-03T13:00:00Z' });
    expect(evaluateApprovals(change, [late], { asOf: Date.parse('2026-03-03T12:30:00Z') }).approvals[0]!.why).toMatch(/logged later/);
    expect(evaluateApprovals(change, [late], { asOf: Date.parse('2026-03-03T13:00:00Z') }).approved).toBe(true);
  });
});
