// The rule engine on its own: each condition on signed records, with an injected clock
// (polls at chosen times), restarts through the JSON state, and fire-once.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, parseEnvelope, signEnvelope } from '../../src/governance/dsse.js';
import { INTOTO_PAYLOAD_TYPE } from '../../src/governance/intoto.js';
import type { GovernancePredicate } from '../../src/governance/predicate.js';
import { buildStatement } from '../../src/governance/record.js';
import { stableStringify } from '../../src/governance/strict-json.js';
import { parseSubmitters, type SubmitterList } from '../../src/governance/submitters.js';
import { RuleEngine } from '../../src/monitor/rules/engine.js';
import { parseRulesFile } from '../../src/monitor/rules/file.js';
import { isRulesState, type RuleAlert, type RulesState } from '../../src/monitor/rules/state.js';
import { utf8 } from '../../src/util/bytes.js';
import { SHA_A, SHA_B } from '../governance/helpers.js';
import { RKEYS, approval, deployment, recordsAllowlist, safetyConfig, signed } from '../governance/records-fixture.js';

const T0 = Date.UTC(2026, 2, 3, 12);
const MIN = 60_000;
const CTX = { origin: 'test.example/log', url: 'http://log.test' };
const spki = (k: (typeof RKEYS)[keyof typeof RKEYS]): string => Buffer.from(k.publicKey.spki).toString('base64');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A log's entries fed to an engine poll by poll, as the monitor does. */
class Feed {
  entries: Uint8Array[] = [];
  engine: RuleEngine;

  constructor(
    readonly rules: object,
    state?: RulesState,
    readonly list: SubmitterList = parseSubmitters(utf8(recordsAllowlist()))
  ) {
    this.engine = this.open(state);
  }

  open(state?: RulesState): RuleEngine {
    const config = parseRulesFile(utf8(JSON.stringify(this.rules)), { submitters: this.list });
    return new RuleEngine(config, state, CTX);
  }

  /** Appends an entry; returns its index. */
  add(entry: Uint8Array): number {
    this.entries.push(entry);
    return this.entries.length - 1;
  }

  /** A poll at time t: evaluates every entry not evaluated yet, then closes windows. */
  poll(t: number): RuleAlert[] {
    for (let i = this.engine.processed; i < this.entries.length; i++) {
      this.engine.process(i, this.entries[i]!, this.entries.length, t, this.list, t);
    }
    this.engine.closeWindows(t, t);
    return this.engine.takeFresh();
  }

  /** A restart: the state through JSON, as the state file keeps it. */
  restart(): void {
    const saved: unknown = JSON.parse(JSON.stringify(this.engine.state));
    expect(isRulesState(saved)).toBe(true);
    this.engine = this.open(saved as RulesState);
  }
}

const ids = (alerts: RuleAlert[]): string[] => alerts.map((a) => `${a.rule}@${a.entry.index}`).sort();

describe('unexpected-signer and unverified-record', () => {
  it('judges each record by the rule\'s signers and the allowlist, and names why', () => {
    const list = parseSubmitters(utf8(recordsAllowlist()));
    const ciKeyid = list.submitters.find((s) => s.name === 'release-ci')!.keyid;
    const feed = new Feed({
      rules: [
        { name: 'prod-signers', condition: 'unexpected-signer', match: { env: 'prod-*' }, signers: ['release-ci'] },
        { name: 'as-allowlisted', condition: 'unexpected-signer' },
        { name: 'by-keyid', condition: 'unexpected-signer', match: { env: 'prod-eu-1' }, signers: [ciKeyid], allowlist: false },
      ],
    });
    const d = (env: string, reason = 'r'): GovernancePredicate => deployment('bot', env, SHA_A, { reason });
    const ok = feed.add(signed(d('prod-eu-1'), RKEYS.ci));
    const alice = feed.add(signed(d('prod-eu-1', 'alice'), RKEYS.alice));
    const ciElsewhere = feed.add(signed(d('prod-us'), RKEYS.ci));
    feed.add(signed(d('staging', 'alice staging'), RKEYS.alice));
    const mallory = feed.add(signed(d('prod-eu-1', 'mallory'), RKEYS.mallory));
    feed.add(approval(d('prod-eu-1'), feed.entries[ok]!, ok, RKEYS.bob)); // approvals: not judged here
    const bob = feed.add(signed(d('prod-eu-1', 'bob deploys'), RKEYS.bob)); // an approver, not a submitter
    // Co-signed by alice and release-ci: release-ci's signature is enough.
    const statement = utf8(stableStringify(buildStatement(d('prod-eu-1', 'co-signed'))));
    feed.add(encodeEnvelope(signEnvelope(INTOTO_PAYLOAD_TYPE, statement, [RKEYS.alice.signer(), RKEYS.ci.signer()])));
    // release-ci's signature over another statement: the payload was altered after signing.
    const env = parseEnvelope(signed(d('prod-eu-1', 'original'), RKEYS.ci));
    const altered = feed.add(encodeEnvelope({ ...env, payload: utf8(stableStringify(buildStatement(d('prod-eu-1', 'altered')))) }));

    const alerts = feed.poll(T0);
    expect(ids(alerts)).toEqual(
      [
        `as-allowlisted@${altered}`, `as-allowlisted@${bob}`, `as-allowlisted@${ciElsewhere}`, `as-allowlisted@${mallory}`,
        `by-keyid@${alice}`, `by-keyid@${altered}`, `by-keyid@${bob}`, `by-keyid@${mallory}`,
        `prod-signers@${alice}`, `prod-signers@${altered}`, `prod-signers@${bob}`, `prod-signers@${ciElsewhere}`, `prod-signers@${mallory}`,
        `unverified-record@${altered}`, `unverified-record@${bob}`, `unverified-record@${ciElsewhere}`,
        `unverified-record@${mallory}`,
      ].sort()
    );
    const get = (rule: string, index: number): RuleAlert => alerts.find((a) => a.rule === rule && a.entry.index === index)!;
    expect(get('prod-signers', alice).summary).toBe(
      `entry ${alice}: deployment of bot in prod-eu-1 by alice: signed by alice, not among the signers this rule allows (release-ci)`
    );
    expect(get('prod-signers', ciElsewhere).details.why).toBe(
      'signed by release-ci, whose allowlist entry does not cover prod-us (environments: staging, prod-eu-*)'
    );
    expect(get('as-allowlisted', bob).details.why).toMatch(/signed by bob \(roles: approver\), without the role engineer or ci/);
    expect(get('prod-signers', mallory).details.why).toMatch(/no key on the submitter allowlist made its signature \(UNKNOWN_KEY/);
    expect(get('unverified-record', altered).details.why).toMatch(/^BAD_SIGNATURE: a signature names release-ci's key/);
    // Signed by allowlisted keys that may not make these records: not attributed either.
    expect(get('unverified-record', ciElsewhere).summary).toBe(
      `entry ${ciElsewhere}: deployment of bot in prod-us by release-ci: not attributed: FORBIDDEN: ` +
        'release-ci may not record changes for environment prod-us (allowed: staging, prod-eu-*)'
    );
    expect(get('unverified-record', bob).details.why).toMatch(/^FORBIDDEN: bob \(roles: approver\) may not submit deployment records/);
    const alert = get('prod-signers', alice);
    expect(alert).toMatchObject({
      type: 'rule-alert',
      condition: 'unexpected-signer',
      severity: 'page',
      origin: CTX.origin,
      url: CTX.url,
      time: new Date(T0).toISOString(),
      entry: { index: alice, envelopeDigest: sha256(feed.entries[alice]!), checkpointSize: feed.entries.length, observed: new Date(T0).toISOString() },
      record: { changeType: 'deployment', model: { id: 'bot' }, env: 'prod-eu-1', reason: 'alice', signer: { name: 'alice', roles: ['engineer'] } },
      details: { allowed: ['release-ci'], allowlist: true, verifiedSigners: [{ name: 'alice' }] },
    });
    expect(alert.id).toMatch(/^[0-9a-f]{32}$/);
    expect(alert.entry.leafHash).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(get('prod-signers', mallory).record.signer).toBeNull();
  });
});

describe('missing-reason', () => {
  it('flags empty, placeholder and short reasons, and missing tickets where required', () => {
    const feed = new Feed({
      rules: [
        { name: 'reasons', condition: 'missing-reason' },
        { name: 'tickets', condition: 'missing-reason', match: { changeType: 'safety-config' }, minLength: 12, requireTicket: true },
      ],
    });
    const d = (reason: string, extra: Partial<GovernancePredicate> = {}): GovernancePredicate =>
      deployment('bot', 'prod', SHA_A, { reason, ...extra });
    const na = feed.add(signed(d('n/a'), RKEYS.alice));
    const naDot = feed.add(signed(d('  N/A. '), RKEYS.alice));
    const blank = feed.add(signed(d(' '), RKEYS.alice));
    const fix = feed.add(signed(d('Fix!'), RKEYS.alice));
    const good = feed.add(signed(d('Q3 retrain'), RKEYS.alice));
    feed.add(approval(d('Q3 retrain'), feed.entries[good]!, good, RKEYS.bob)); // approvals need no reason
    const forged = feed.add(signed(d('n/a', { ticket: 'x' }), RKEYS.mallory)); // not verified: not judged
    const cfg = '{"temperature":"0.2"}';
    const short = feed.add(signed(safetyConfig('bot', 'prod', cfg, { reason: 'short', ticket: 'AI-1' }), RKEYS.alice));
    const noTicket = feed.add(signed(safetyConfig('bot', 'prod', cfg, { reason: 'Lower refusals on billing' }), RKEYS.alice));
    feed.add(signed(safetyConfig('bot', 'prod', cfg, { reason: 'Lower refusals on billing', ticket: 'AI-2' }), RKEYS.alice));

    const alerts = feed.poll(T0);
    expect(ids(alerts)).toEqual(
      [`reasons@${na}`, `reasons@${naDot}`, `reasons@${blank}`, `reasons@${fix}`, `tickets@${short}`, `tickets@${noTicket}`, `unverified-record@${forged}`].sort()
    );
    const why = (rule: string, i: number): unknown => alerts.find((a) => a.rule === rule && a.entry.index === i)!.details.why;
    expect(why('reasons', na)).toBe('the reason "n/a" is a placeholder');
    expect(why('reasons', blank)).toBe('the reason is empty');
    expect(why('tickets', short)).toBe('the reason "short" is shorter than 12 characters');
    expect(why('tickets', noTicket)).toBe('it names no ticket');
    expect(alerts.find((a) => a.entry.index === na)).toMatchObject({ severity: 'notify', details: { reason: 'n/a', ticket: null } });
  });
});

describe('parameter-lowered', () => {
  const rules = {
    rules: [
      {
        name: 'guardrails',
        condition: 'parameter-lowered',
        parameters: [
          { name: 'guardrail.*_threshold', risky: 'decrease' },
          { name: 'temperature', risky: 'increase' },
          { name: 'guardrail.pii_filter', risky: 'disable' },
          { name: 'allow_unsafe', risky: 'enable' },
          { name: 'system_prompt', risky: 'change' },
        ],
      },
    ],
  };
  const cfg = (o: Record<string, unknown>): string =>
    JSON.stringify({ temperature: '0.2', system_prompt: 'Be helpful.', ...o, guardrail: { toxicity_threshold: '0.85', pii_filter: true, ...(o.guardrail as object) } });
  // alice (engineer, every environment): release-ci may not record changes in prod or
  // prod-eu, and a record its allowlist entry does not permit is unattributed (not compared).
  const change = (env: string, config: string, key = RKEYS.alice): Uint8Array =>
    signed(safetyConfig('bot', env, config, { reason: `config change ${sha256(utf8(config)).slice(0, 8)}` }), key);

  it('compares each config with the previous one of the same model and environment, exactly', () => {
    const feed = new Feed(rules);
    const steps: [Uint8Array, string[]][] = [
      [change('prod', cfg({})), []], // first config: nothing to compare with
      [change('prod', cfg({ temperature: 0.2, guardrail: { toxicity_threshold: '0.850' } })), []], // "0.850" = "0.85", 0.2 = "0.2"
      [change('prod', cfg({ guardrail: { toxicity_threshold: '0.80' } })), ['guardrail.toxicity_threshold decreased']],
      [change('prod', cfg({ guardrail: { toxicity_threshold: '0.8' } })), []], // "0.8" = "0.80"
      [change('prod', cfg({ temperature: '0.7', guardrail: { toxicity_threshold: '0.9' } })), ['temperature increased']], // raising a threshold is safe
      [change('prod', cfg({ temperature: '0.7', system_prompt: 'Be brief.', guardrail: { toxicity_threshold: '0.9', pii_filter: false } })), ['guardrail.pii_filter disabled', 'system_prompt changed']],
      [change('prod', JSON.stringify({ temperature: '0.7', system_prompt: 'Be brief.', guardrail: { pii_filter: false } })), ['guardrail.toxicity_threshold removed']],
      [change('prod', cfg({ temperature: '0.7', system_prompt: 'Be brief.', guardrail: { toxicity_threshold: '0.5', pii_filter: false } })), []], // missing before: added, nothing lowered
      [change('prod', cfg({ temperature: '0.7', system_prompt: 'Be brief.', allow_unsafe: true, guardrail: { toxicity_threshold: '0.5', pii_filter: false } })), ['allow_unsafe enabled']],
      [change('staging', cfg({ guardrail: { toxicity_threshold: '0.1' } })), []], // another environment: its own baseline
      [change('prod', cfg({ guardrail: { toxicity_threshold: '0.99' } }), RKEYS.mallory), []], // unverified: not compared, not remembered
      [signed(deployment('bot', 'prod', SHA_B, { reason: 'no config' }), RKEYS.ci), []], // no config: baseline unchanged
      [change('prod', cfg({ temperature: '0.7', system_prompt: 'Be brief.', allow_unsafe: true, guardrail: { toxicity_threshold: '0.6', pii_filter: false } })), []], // 0.5 -> 0.6, not 0.99 -> 0.6
      [change('prod', cfg({ temperature: '0.7', system_prompt: 'Be brief.', allow_unsafe: true, guardrail: { toxicity_threshold: 'high', pii_filter: false } })), ['guardrail.toxicity_threshold changed']],
    ];
    let t = T0;
    steps.forEach(([entry, expected], i) => {
      feed.add(entry);
      const alerts = feed.poll((t += MIN)).filter((a) => a.rule === 'guardrails');
      const found = alerts.flatMap((a) => (a.details.parameters as { path: string; movement: string }[]).map((p) => `${p.path} ${p.movement}`));
      expect(found, `step ${i}`).toEqual(expected);
    });
  });

  it('names the earlier entry and both values as evidence', () => {
    const feed = new Feed(rules);
    const before = feed.add(change('prod-eu', cfg({})));
    feed.add(change('staging', cfg({ guardrail: { toxicity_threshold: '0.7' } })));
    const after = feed.add(change('prod-eu', cfg({ guardrail: { toxicity_threshold: '0.80' } })));
    const [alert, ...rest] = feed.poll(T0);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: 'guardrails',
      condition: 'parameter-lowered',
      severity: 'notify',
      entry: { index: after, envelopeDigest: sha256(feed.entries[after]!) },
      details: {
        previous: { index: before, envelopeDigest: sha256(feed.entries[before]!) },
        parameters: [{ path: 'guardrail.toxicity_threshold', risky: 'decrease', movement: 'decreased', old: '0.85', new: '0.80' }],
      },
    });
    expect(alert!.summary).toBe(
      `entry ${after}: safety-config of bot in prod-eu by alice: guardrail.toxicity_threshold decreased "0.85" -> "0.80" (previous config: entry ${before})`
    );
    expect(alert!.details.configDigest).toBe(alert!.record.configDigest);
  });

  it('ignoreRemoved, and a secret is shown only as its digest', () => {
    const feed = new Feed({
      rules: [{ name: 'p', condition: 'parameter-lowered', ignoreRemoved: true, parameters: [{ name: 'guardrail.*', risky: 'decrease' }, { name: 'system_prompt', risky: 'change' }] }],
    });
    feed.add(change('prod', cfg({})));
    feed.add(change('prod', JSON.stringify({ temperature: '0.2', system_prompt: 'Be brief.' })));
    const [alert, ...rest] = feed.poll(T0);
    expect(rest).toEqual([]);
    const promptDigest = (s: string): string => createHash('sha256').update(s).digest('hex');
    expect(alert!.summary).toContain(`system_prompt changed <secret sha256:${promptDigest('Be helpful.')}> -> <secret sha256:${promptDigest('Be brief.')}>`);
    expect(JSON.stringify(alert)).not.toContain('Be brief.');
  });
});

describe('unapproved-change', () => {
  const rules = { rules: [{ name: 'prod-approval', condition: 'unapproved-change', match: { env: 'prod-*' }, within: '30m' }] };
  const change = (reason: string, extra: Partial<GovernancePredicate> = {}): GovernancePredicate =>
    deployment('bot', 'prod-eu-1', SHA_A, { reason, ...extra });

  it('a counted approval within the window closes it without an alert; the window never closes in the poll that opened it', () => {
    const feed = new Feed({ rules: [{ ...rules.rules[0], within: '1ms' }] });
    const c = change('fast');
    const i = feed.add(signed(c, RKEYS.ci));
    expect(feed.poll(T0)).toEqual([]); // deadline T0+1ms: not closed at T0
    expect(feed.engine.state.pending).toHaveLength(1);
    expect(ids(feed.poll(T0 + 1))).toEqual([`prod-approval@${i}`]);

    const ok = new Feed(rules);
    const j = ok.add(signed(c, RKEYS.ci));
    expect(ok.poll(T0)).toEqual([]);
    ok.add(approval(c, ok.entries[j]!, j, RKEYS.bob));
    expect(ok.poll(T0 + 10 * MIN)).toEqual([]);
    expect(ok.poll(T0 + 29 * MIN)).toEqual([]);
    expect(ok.engine.state.pending).toHaveLength(1);
    expect(ok.poll(T0 + 30 * MIN)).toEqual([]);
    expect(ok.engine.state.pending).toEqual([]);
  });

  it('approvals that do not count: self-approval by signer or author, wrong environment, no allowlisted key, vetoed', () => {
    const list = parseSubmitters(
      utf8(recordsAllowlist([{ name: 'eve', roles: ['approver'], environments: ['staging'], publicKey: spki(RKEYS.mallory) }]))
    );
    const feed = new Feed(rules, undefined, list);
    const outsider = new Feed(rules); // mallory is on no allowlist here
    type Case = [Feed, GovernancePredicate, (typeof RKEYS)['ci'], (c: GovernancePredicate, e: Uint8Array, i: number) => Uint8Array[], RegExp];
    const cases: Case[] = [
      [feed, change('by dave'), RKEYS.dave, (c, e, i) => [approval(c, e, i, RKEYS.dave)], /self-approval: dave signed the change/],
      [feed, change('for bob', { author: 'bob' }), RKEYS.ci, (c, e, i) => [approval(c, e, i, RKEYS.bob)], /self-approval: bob is the change's author/],
      [feed, change('eve'), RKEYS.ci, (c, e, i) => [approval(c, e, i, RKEYS.mallory)], /eve may not approve changes in prod-eu-1/],
      [feed, change('vetoed'), RKEYS.ci, (c, e, i) => [approval(c, e, i, RKEYS.bob), approval(c, e, i, RKEYS.dave, 'reject')], /rejected by dave/],
      [outsider, change('outsider'), RKEYS.ci, (c, e, i) => [approval(c, e, i, RKEYS.mallory)], /its signature matches no key on the allowlist/],
    ];
    const approvalAlerts = (alerts: RuleAlert[]): RuleAlert[] => alerts.filter((a) => a.rule === 'prod-approval');
    for (const [f, c, key, approvals, why] of cases) {
      const start = f.entries.length;
      const i = f.add(signed(c, key));
      for (const a of approvals(c, f.entries[i]!, i)) f.add(a);
      const t = T0 + start * 100 * MIN;
      expect(approvalAlerts(f.poll(t))).toEqual([]);
      const alerts = approvalAlerts(f.poll(t + 30 * MIN));
      expect(ids(alerts), why.source).toEqual([`prod-approval@${i}`]);
      expect(alerts[0]!.details.why).toMatch(why);
      expect(alerts[0]!.details).toMatchObject({ within: '30m', deadline: new Date(t + 30 * MIN).toISOString(), closedAt: new Date(t + 30 * MIN).toISOString() });
    }
    // The outsider's approval is itself an unverified record.
    expect(outsider.engine.state.fired).toHaveLength(2);
  });

  it('an approval after the window does not undo the alert; one already in the closing checkpoint counts', () => {
    const feed = new Feed(rules);
    const late = change('late');
    const i = feed.add(signed(late, RKEYS.ci));
    expect(feed.poll(T0)).toEqual([]);
    const alerts = feed.poll(T0 + 31 * MIN);
    expect(ids(alerts)).toEqual([`prod-approval@${i}`]);
    expect(alerts[0]!.details.why).toBe('it has no approval');
    feed.add(approval(late, feed.entries[i]!, i, RKEYS.bob));
    expect(feed.poll(T0 + 40 * MIN)).toEqual([]);
    expect(feed.engine.state.pending).toEqual([]);

    // Logged after the deadline but before any poll saw the window close: the monitor
    // cannot tell it from one logged just in time, so it counts.
    const lenient = new Feed(rules);
    const c = change('lenient');
    const j = lenient.add(signed(c, RKEYS.ci));
    expect(lenient.poll(T0)).toEqual([]);
    lenient.add(approval(c, lenient.entries[j]!, j, RKEYS.bob));
    expect(lenient.poll(T0 + 40 * MIN)).toEqual([]);
  });

  it('survives restarts in the middle of a window, and fires once', () => {
    const feed = new Feed(rules);
    const unapproved = feed.add(signed(change('unapproved'), RKEYS.ci));
    const c = change('approved later');
    const approved = feed.add(signed(c, RKEYS.ci));
    feed.add(signed(deployment('bot', 'staging', SHA_A, { reason: 'staging needs none' }), RKEYS.ci));
    expect(feed.poll(T0)).toEqual([]);
    expect(feed.engine.state.pending.map((w) => w.entry.index)).toEqual([unapproved, approved]);
    feed.restart();
    expect(feed.poll(T0 + 10 * MIN)).toEqual([]);
    feed.add(approval(c, feed.entries[approved]!, approved, RKEYS.bob));
    feed.restart();
    expect(feed.poll(T0 + 20 * MIN)).toEqual([]);
    feed.restart();
    expect(feed.engine.state.pending[1]!.approvals.map((a) => a.signer?.name)).toEqual(['bob']);
    expect(ids(feed.poll(T0 + 30 * MIN))).toEqual([`prod-approval@${unapproved}`]);
    feed.restart();
    expect(feed.poll(T0 + 60 * MIN)).toEqual([]);
    expect(feed.engine.state).toMatchObject({ processed: 4, pending: [] });
    expect(feed.engine.state.outbox.map((o) => o.alert.entry.index)).toEqual([unapproved]);
  });
});

describe('fire once', () => {
  it('an entry evaluated again (after a crash) or a state rewound never raises an alert twice', () => {
    const feed = new Feed({ rules: [{ name: 'reasons', condition: 'missing-reason' }] });
    const entry = signed(deployment('bot', 'prod', SHA_A, { reason: 'n/a' }), RKEYS.alice);
    feed.add(entry);
    expect(ids(feed.poll(T0))).toEqual(['reasons@0']);
    feed.engine.process(0, entry, 1, T0, feed.list, T0); // below processed: skipped
    expect(feed.engine.takeFresh()).toEqual([]);
    // Even a state whose position went back (but which remembers what fired) stays quiet.
    const rewound = { ...structuredClone(feed.engine.state), processed: 0, outbox: [] };
    feed.engine = feed.open(rewound);
    expect(feed.poll(T0 + MIN)).toEqual([]);
    expect(feed.engine.state.fired).toHaveLength(1);
    expect(() => feed.engine.process(5, entry, 6, T0, feed.list, T0)).toThrow(/rules skipped entries 1 to 4/);
  });

  it('the state file shape is checked', () => {
    const feed = new Feed({ rules: [{ name: 'reasons', condition: 'missing-reason' }] });
    feed.add(signed(deployment('bot', 'prod', SHA_A, { reason: 'n/a' }), RKEYS.alice));
    feed.poll(T0);
    const good = JSON.parse(JSON.stringify(feed.engine.state)) as Record<string, unknown>;
    expect(isRulesState(good)).toBe(true);
    expect(isRulesState({ ...good, processed: -1 })).toBe(false);
    expect(isRulesState({ ...good, fired: [1] })).toBe(false);
    const outbox = good.outbox as { deliveries: { status: string }[] }[];
    outbox[0]!.deliveries[0]!.status = 'sent';
    expect(isRulesState(good)).toBe(false);
  });
});
