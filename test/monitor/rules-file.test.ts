// The alert rules file: a full example parses into what the engine needs; bad files are
// refused with an error naming the field; `candor monitor check-rules` and the flags.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorCommand, type MonitorIo } from '../../src/cli/monitor.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import {
  BUILTIN_UNVERIFIED_RULE,
  matches,
  parseDuration,
  parseRulesFile,
  type Rule,
} from '../../src/monitor/rules/file.js';
import { isRuleAlert } from '../../src/monitor/rules/state.js';
import { utf8 } from '../../src/util/bytes.js';
import { recordsAllowlist } from '../governance/records-fixture.js';
import { POLICY, now } from './helpers.js';

const list = parseSubmitters(utf8(recordsAllowlist()));
const env = (name: string): string | undefined =>
  ({ PAGER_URL: 'https://pager.example/hook', PAGER_SECRET: 'whsec_c2VjcmV0IGtleSBieXRlcw==' })[name];
const parse = (v: unknown): ReturnType<typeof parseRulesFile> =>
  parseRulesFile(utf8(typeof v === 'string' ? v : JSON.stringify(v)), { submitters: list, env });
const error = (v: unknown): string => {
  try {
    parse(v);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the rules file to be refused');
};

export const FULL_EXAMPLE = {
  notify: ['stdout', 'pager'],
  actions: {
    pager: { type: 'webhook', urlEnv: 'PAGER_URL', secretEnv: 'PAGER_SECRET', attempts: 5, backoff: '2s', maxBackoff: '1m' },
    register: { type: 'file', path: '/var/log/candor/alerts.jsonl' },
    ticket: { type: 'command', command: '/etc/candor/open-ticket.sh', timeout: '20s' },
  },
  rules: [
    {
      name: 'prod-signers',
      condition: 'unexpected-signer',
      description: 'Only the release pipeline deploys to production.',
      references: ['ISO/IEC 42001 A.6.2.5'],
      match: { env: ['prod-*'] },
      signers: ['release-ci'],
    },
    {
      name: 'prod-approval',
      condition: 'unapproved-change',
      match: { env: 'prod-*', changeType: ['model-update', 'safety-config', 'deployment', 'rollback'] },
      within: '30m',
      actions: ['pager', 'ticket'],
    },
    {
      name: 'guardrails',
      condition: 'parameter-lowered',
      match: { model: 'support-*' },
      parameters: [
        { name: 'guardrail.*_threshold', risky: 'decrease' },
        { name: 'temperature', risky: 'increase' },
        { name: 'guardrail.pii_filter', risky: 'disable' },
        { name: 'system_prompt', risky: 'change' },
      ],
    },
    { name: 'reasons', condition: 'missing-reason', severity: 'page', requireTicket: true, minLength: 10, actions: 'register' },
  ],
};

describe('parseRulesFile', () => {
  it('parses a full example, with defaults, and adds the built-in unverified-record rule', () => {
    const config = parse(FULL_EXAMPLE);
    expect(config.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(config.rules.map((r) => [r.name, r.condition, r.severity, r.actions])).toEqual([
      ['prod-signers', 'unexpected-signer', 'page', ['stdout', 'pager']],
      ['prod-approval', 'unapproved-change', 'page', ['pager', 'ticket']],
      ['guardrails', 'parameter-lowered', 'notify', ['stdout', 'pager']],
      ['reasons', 'missing-reason', 'page', ['register']],
      [BUILTIN_UNVERIFIED_RULE, 'unverified-record', 'page', ['stdout', 'pager']],
    ]);
    const [signers, approval, guardrails, reasons] = config.rules as [Rule, Rule, Rule, Rule];
    expect(signers).toMatchObject({ signers: ['release-ci'], allowlist: true, references: ['ISO/IEC 42001 A.6.2.5'] });
    expect(approval).toMatchObject({ within: '30m', withinMs: 30 * 60_000 });
    expect(guardrails).toMatchObject({ ignoreRemoved: false });
    expect(reasons).toMatchObject({ minLength: 10, requireTicket: true });
    expect((reasons as { placeholders: string[] }).placeholders).toContain('n/a');
    const pager = config.actions.get('pager');
    expect(pager).toMatchObject({
      type: 'webhook',
      url: 'https://pager.example/hook',
      retry: { attempts: 5, backoffMs: 2000, maxBackoffMs: 60_000 },
      timeoutMs: 10_000,
    });
    expect(Buffer.from((pager as { secret: Uint8Array }).secret).toString()).toBe('secret key bytes');
    expect(config.actions.get('ticket')).toMatchObject({ timeoutMs: 20_000, retry: { attempts: 8, backoffMs: 1000 } });
  });

  it('matches: env and model patterns, change types, approvals only when asked', () => {
    const config = parse(FULL_EXAMPLE);
    const [signers, approval, guardrails] = config.rules as [Rule, Rule, Rule];
    const rec = (env?: string, model?: string, changeType?: 'deployment' | 'approval' | 'dataset') => ({ env, model, changeType });
    expect(matches(signers, rec('prod-eu-1', 'x', 'deployment'))).toBe(true);
    expect(matches(signers, rec('production', 'x', 'deployment'))).toBe(false);
    expect(matches(signers, rec(undefined, 'x', 'deployment'))).toBe(false);
    expect(matches(signers, rec('prod-eu', 'x', 'approval'))).toBe(false); // approvals only when listed
    expect(matches(approval, rec('prod-eu', 'x', 'dataset'))).toBe(false);
    expect(matches(guardrails, rec('staging', 'support-bot', 'deployment'))).toBe(true);
    expect(matches(guardrails, rec('staging', 'fraud', 'deployment'))).toBe(false);
    const unverified = config.rules.at(-1)!;
    expect(matches(unverified, rec(undefined, undefined, 'approval'))).toBe(true);
    expect(matches(unverified, rec(undefined, undefined, undefined))).toBe(true);
    // A pattern is the whole value; * is any run of characters, dots included.
    const dotted = parse({ rules: [{ name: 'p', condition: 'parameter-lowered', parameters: [{ name: 'guardrail.*_threshold', risky: 'decrease' }] }] });
    const re = (dotted.rules[0] as { parameters: { re: RegExp }[] }).parameters[0]!.re;
    expect(['guardrail.toxicity_threshold', 'guardrail.a.b_threshold'].map((p) => re.test(p))).toEqual([true, true]);
    expect(['guardrail_toxicity_threshold', 'guardrail.threshold2', 'xguardrail.a_threshold'].map((p) => re.test(p))).toEqual([false, false, false]);
  });

  it('durations', () => {
    expect(parseDuration('30m', 'x')).toBe(1_800_000);
    expect(parseDuration('1h30m', 'x')).toBe(5_400_000);
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('2d', 'x')).toBe(172_800_000);
    for (const bad of ['30', '30 min', '0s', '-1m', '1.5h', '', '367d', 'm', 30]) {
      expect(() => parseDuration(bad, 'rules[1].within')).toThrow(/rules\[1\]\.within: .* (is not a duration|must be above 0)/);
    }
  });

  it('refuses bad files with an error naming the field', () => {
    const rule = (extra: object): object => ({ rules: [{ name: 'r', condition: 'unapproved-change', within: '30m', ...extra }] });
    const cases: [unknown, RegExp][] = [
      ['{"rules": [', /rules file is not valid JSON/],
      ['{"rules": [], "rules": []}', /not valid JSON.*(duplicate|twice)/i],
      [[], /\(top\): must be an object/],
      [{ rule: [] }, /rules file: rule: is not a known field/],
      [{ rules: [] }, /rules: must be an array of 1 to 256 rules/],
      [rule({ wihtin: '1h' }), /rules\[0\]\.wihtin: is not a known field/],
      [rule({ signers: ['release-ci'] }), /rules\[0\]\.signers: is a field of unexpected-signer rules, not of unapproved-change/],
      [rule({ within: '30 min' }), /rules\[0\]\.within: "30 min" is not a duration/],
      [{ rules: [{ name: 'r', condition: 'unapproved-change' }] }, /rules\[0\]\.within: is required/],
      [rule({ condition: 'unapproved' }), /rules\[0\]\.condition: must be one of unexpected-signer, /],
      [rule({ name: 'bad name' }), /rules\[0\]\.name: must be/],
      [{ rules: [{ name: 'r', condition: 'missing-reason' }, { name: 'r', condition: 'missing-reason' }] }, /rules\[1\]\.name: "r" is used by another rule/],
      [rule({ severity: 'urgent' }), /rules\[0\]\.severity: must be one of info, notify, page/],
      [rule({ match: { env: 'prod-[eu]' } }), /rules\[0\]\.match\.env: "prod-\[eu\]" is not a valid environment pattern/],
      [rule({ match: { env: ['prod-*', 'pr od'] } }), /rules\[0\]\.match\.env\[1\]: "pr od" is not a valid/],
      [rule({ match: { enviroment: 'prod' } }), /rules\[0\]\.match\.enviroment: is not a known field/],
      [rule({ match: { changeType: ['deploy'] } }), /rules\[0\]\.match\.changeType\[0\]: "deploy" is not one of model-update/],
      [rule({ match: { changeType: 'approval' } }), /rules\[0\]\.match\.changeType: approvals are not changes/],
      [rule({ match: { env: [] } }), /rules\[0\]\.match\.env: must be a string or a non-empty array/],
      [rule({ actions: ['pagr'] }), /rules\[0\]\.actions\[0\]: no action named "pagr"/],
      [{ notify: ['nope'], rules: [{ name: 'r', condition: 'missing-reason' }] }, /notify\[0\]: no action named "nope"/],
      [{ rules: [{ name: 'r', condition: 'unexpected-signer', signers: ['relase-ci'] }] }, /rules\[0\]\.signers\[0\]: "relase-ci" is neither the name nor the keyid of a key on the submitter allowlist/],
      [{ rules: [{ name: 'r', condition: 'unexpected-signer', allowlist: false }] }, /rules\[0\]: an unexpected-signer rule needs "signers"/],
      [{ rules: [{ name: 'r', condition: 'unexpected-signer', allowlist: 'yes' }] }, /rules\[0\]\.allowlist: must be true or false/],
      [{ rules: [{ name: 'r', condition: 'parameter-lowered', parameters: [] }] }, /rules\[0\]\.parameters: must be a non-empty array/],
      [{ rules: [{ name: 'r', condition: 'parameter-lowered', parameters: [{ name: 'a b', risky: 'decrease' }] }] }, /rules\[0\]\.parameters\[0\]\.name: "a b" is not a valid parameter pattern/],
      [{ rules: [{ name: 'r', condition: 'parameter-lowered', parameters: [{ name: 'a', risky: 'lower' }] }] }, /rules\[0\]\.parameters\[0\]\.risky: must be one of decrease, increase, disable, enable, change/],
      [{ rules: [{ name: 'r', condition: 'parameter-lowered', parameters: [{ name: 'a', risky: 'decrease', why: 1 }] }] }, /rules\[0\]\.parameters\[0\]\.why: is not a known field/],
      [{ rules: [{ name: 'r', condition: 'missing-reason', minLength: 0 }] }, /rules\[0\]\.minLength: must be a whole number from 1 to 4096/],
      [{ rules: [{ name: 'r', condition: 'missing-reason', placeholders: ['ok', ' '] }] }, /rules\[0\]\.placeholders: must be an array of non-blank strings/],
      [{ rules: [{ name: 'unverified-record', condition: 'missing-reason' }] }, /the name "unverified-record" is kept for the built-in rule/],
      [{ actions: { stdout: { type: 'stdout' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.stdout: is built in/],
      [{ actions: { p: { type: 'pager' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.type: must be one of stdout, file, webhook, command/],
      [{ actions: { p: { type: 'webhook' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p: needs exactly one of url and urlEnv/],
      [{ actions: { p: { type: 'webhook', url: 'ftp://x' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.url: must be an http\(s\) URL/],
      [{ actions: { p: { type: 'webhook', urlEnv: 'UNSET_VAR' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.urlEnv: the environment variable UNSET_VAR is not set/],
      [{ actions: { p: { type: 'webhook', url: 'https://x', secretEnv: 'bad-name' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.secretEnv: must be the name of an environment variable/],
      [{ actions: { p: { type: 'webhook', url: 'https://x', headers: { 'webhook-id': 'x' } } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.headers\.webhook-id: is set by candor/],
      [{ actions: { p: { type: 'webhook', url: 'https://x', backoff: '1m', maxBackoff: '1s' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.maxBackoff: must not be below backoff/],
      [{ actions: { p: { type: 'command', command: 'x', attempts: 0 } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.attempts: must be a whole number from 1 to 100/],
      [{ actions: { p: { type: 'command', command: 'x', timeout: 'soon' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.timeout: "soon" is not a duration/],
      [{ actions: { p: { type: 'file' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.path: must be a non-empty string/],
      [{ actions: { p: { type: 'stdout', path: 'x' } }, rules: [{ name: 'r', condition: 'missing-reason' }] }, /actions\.p\.path: is not a known field/],
    ];
    for (const [file, message] of cases) expect(error(file)).toMatch(message);
  });

  it('the examples in docs/monitor.md: the rules file parses, the alert has the shape the state keeps', async () => {
    const doc = await readFile(new URL('../../docs/monitor.md', import.meta.url), 'utf8');
    const example = (name: string): string => {
      const m = new RegExp(`<!-- example: ${name} -->\\n\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
      if (m === null) throw new Error(`no example ${name} in docs/monitor.md`);
      return m[1]!;
    };
    const config = parse(example('rules'));
    expect(config.rules.map((r) => r.name)).toEqual(['prod-signers', 'prod-approval', 'guardrails', 'reasons', BUILTIN_UNVERIFIED_RULE]);
    expect(config.actions.get('pager')).toMatchObject({ type: 'webhook', url: 'https://pager.example/hook', retry: { attempts: 8, backoffMs: 2000 } });
    expect(isRuleAlert(JSON.parse(example('alert')))).toBe(true);
  });

  it('without an allowlist, signers are not checked (check-rules without --submitters)', () => {
    const v = { rules: [{ name: 'r', condition: 'unexpected-signer', signers: ['anyone'] }] };
    expect(parseRulesFile(utf8(JSON.stringify(v))).rules[0]).toMatchObject({ signers: ['anyone'] });
  });
});

describe('candor monitor with rules: flags and check-rules (in process)', () => {
  let dir = '';
  const p = (name: string): string => join(dir, name);
  const io = (sink: { out: string; err: string }): MonitorIo => ({
    out: async (t) => void (sink.out += t),
    err: (t) => void (sink.err += t),
    readFile: async (path) => new Uint8Array(await readFile(path)),
    now,
    onSignal: () => () => {},
    env,
  });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-rules-cli-'));
    await writeFile(p('submitters.json'), recordsAllowlist());
    await writeFile(p('policy.txt'), POLICY);
    await writeFile(p('rules.json'), JSON.stringify(FULL_EXAMPLE));
    await writeFile(p('bad.json'), JSON.stringify({ rules: [{ name: 'r', condition: 'unapproved-change', within: '30 min' }] }));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('check-rules prints the rules and exits 0; a bad file exits 2 naming the field', async () => {
    const ok = { out: '', err: '' };
    expect(await monitorCommand(['check-rules', '--rules', p('rules.json'), '--submitters', p('submitters.json')], io(ok))).toBe(0);
    expect(ok.out).toMatch(/rules\.json: 5 rules \(sha256 [0-9a-f]{64}\)/);
    expect(ok.out).toMatch(/^prod-approval: unapproved-change \(page\) on env prod-\*, changeType model-update\|safety-config\|deployment\|rollback: within 30m -> pager, ticket$/m);
    expect(ok.out).toMatch(/^unverified-record: unverified-record \(page\) on every record -> stdout, pager$/m);
    const bad = { out: '', err: '' };
    expect(await monitorCommand(['check-rules', '--rules', p('bad.json')], io(bad))).toBe(2);
    expect(bad.err).toMatch(/bad\.json: rules file: rules\[0\]\.within: "30 min" is not a duration/);
  });

  it('--rules needs --submitters; a bad rules file is a usage error before anything runs', async () => {
    const a = { out: '', err: '' };
    const base = ['--policy', p('policy.txt'), '--state', p('state'), '--once'];
    expect(await monitorCommand([...base, '--rules', p('rules.json')], io(a))).toBe(2);
    expect(a.err).toMatch(/--rules needs --submitters FILE/);
    const b = { out: '', err: '' };
    expect(await monitorCommand([...base, '--rules', p('bad.json'), '--submitters', p('submitters.json')], io(b))).toBe(2);
    expect(b.err).toMatch(/rules\[0\]\.within: "30 min" is not a duration/);
    const c = { out: '', err: '' };
    expect(await monitorCommand([...base, '--submitters', p('missing.json')], io(c))).toBe(1);
    expect(c.err).toMatch(/missing\.json: .*ENOENT/);
  });
});
