/**
 * Alert rules end to end on real processes: a real `candor serve --submitters` log, a
 * scripted history of changes made with the real `candor record`, `approve` and `add`
 * commands, and the real `candor monitor --once --rules` run three times: the first run,
 * started once every approval window (300 ms from each change's log time, as the log's
 * record index dates it) has passed, raises at once exactly the alerts each record shows
 * on its own and the unapproved changes; the later runs nothing. Each alert reaches all three actions exactly once: standard output, a command
 * (appending to a file) and a webhook on 127.0.0.1 that fails its first request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import { RFC8032, dssePrivatePem, ed25519Pem } from '../governance/helpers.js';
import { recordsAllowlist } from '../governance/records-fixture.js';

const ORIGIN = 'rules.example/log';
const SECRET = 'whsec_' + Buffer.from('the pager secret').toString('base64');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const candor = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runCandor(args, env);

interface Alert {
  type: string;
  id: string;
  rule: string;
  condition: string;
  summary: string;
  entry: { index: number; envelopeDigest: string; observed: string };
  details: Record<string, unknown>;
}

const alertsIn = (text: string): Alert[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Alert)
    .filter((a) => a.type === 'rule-alert');
const tags = (alerts: Alert[]): string[] => alerts.map((a) => `${a.rule}@${a.entry.index}`).sort();

describe('candor monitor --rules end to end', () => {
  let dir = '';
  let server: ServerProcess | undefined;
  let hook: Server | undefined;
  const hookRequests: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const p = (name: string): string => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-rules-e2e-'));
    await writeFile(p('alice.pem'), ed25519Pem(RFC8032.A.seed)); // engineer, any environment
    await writeFile(p('bob.pem'), dssePrivatePem()); // approver
    await writeFile(p('ci.pem'), ed25519Pem(RFC8032.B.seed)); // release-ci: staging, prod-eu-*
    await writeFile(p('dave.pem'), ed25519Pem('22'.repeat(32))); // engineer and approver
    await writeFile(p('mallory.pem'), ed25519Pem('11'.repeat(32))); // on no allowlist
    await writeFile(p('submitters.json'), recordsAllowlist());
    const config = (threshold: string, temperature = '0.2'): string =>
      JSON.stringify({ temperature, guardrail: { toxicity_threshold: threshold, pii_filter: true } });
    await writeFile(p('c1.json'), config('0.85'));
    await writeFile(p('c2.json'), config('0.80'));
    await writeFile(p('c3.json'), config('0.8'));
    await writeFile(p('c4.json'), config('0.9'));
    await writeFile(p('staging.json'), config('0.5', '0.9'));
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hookRequests.push({ headers: req.headers, body });
        res.writeHead(hookRequests.length === 1 ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => hook!.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    await writeFile(
      p('rules.json'),
      JSON.stringify({
        notify: ['stdout', 'append', 'pager'],
        actions: {
          append: { type: 'command', command: `cat >> '${p('hook.jsonl')}'` },
          pager: { type: 'webhook', url: hookUrl, secretEnv: 'PAGER_SECRET', backoff: '100ms' },
        },
        rules: [
          { name: 'prod-signers', condition: 'unexpected-signer', match: { env: 'prod-*' }, signers: ['release-ci'] },
          {
            name: 'prod-approval',
            condition: 'unapproved-change',
            match: { env: 'prod-*', changeType: ['model-update', 'safety-config', 'deployment', 'rollback'] },
            within: '300ms',
          },
          {
            name: 'guardrails',
            condition: 'parameter-lowered',
            parameters: [
              { name: 'guardrail.*_threshold', risky: 'decrease' },
              { name: 'temperature', risky: 'increase' },
              { name: 'guardrail.pii_filter', risky: 'disable' },
            ],
          },
          { name: 'reasons', condition: 'missing-reason', match: { changeType: ['safety-config', 'deployment'] } },
        ],
      })
    );
    server = await startServerProcess(p('data'), ['--origin', ORIGIN, '--submitters', p('submitters.json')]);
    await writeFile(p('policy.txt'), `log ${server.verifierKey} ${server.url}\nquorum none\n`);
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
    await new Promise<void>((resolve) => (hook === undefined ? resolve() : hook.close(() => resolve())));
    await rm(dir, { recursive: true, force: true });
  });

  it('a scripted history raises exactly the expected alerts, each once, and nothing again', async () => {
    const url = ['--url', server!.url];
    let next = 0;
    const expectIndex = async (r: Promise<Result>): Promise<number> => {
      const res = await r;
      expect(res.code, res.stderr).toBe(0);
      const index = (JSON.parse(res.stdout) as { index: number }).index;
      expect(index).toBe(next++);
      return index;
    };
    const record = (type: string, ...args: string[]): Promise<number> =>
      expectIndex(candor(['record', type, '--model', 'support-bot', ...args, ...url]));
    const approve = (entry: number, key = 'bob.pem'): Promise<number> =>
      expectIndex(candor(['approve', '--entry', String(entry), '--key', p(key), ...url]));
    // A record the log's /v1/records would refuse, logged raw through /v1/entries.
    const forge = async (key: string, ...args: string[]): Promise<number> => {
      const file = p(`forged-${next}.json`);
      const dry = await candor(['record', 'deployment', '--model', 'support-bot', ...args, '--key', p(key), '--dry-run', '--envelope-out', file]);
      expect(dry.code, dry.stderr).toBe(0);
      const added = await candor(['add', file, ...url]);
      expect(added.code, added.stderr).toBe(0);
      expect((JSON.parse(added.stdout) as { index: number }).index).toBe(next);
      return next++;
    };
    const digest = (s: string): string => `sha256:${sha256(s)}`;

    // An approved production deployment: no alert.
    const release = await record('deployment', '--model-digest', digest('v12'), '--config', p('c1.json'), '--env', 'prod-eu-1', '--reason', 'Release 12 (AI-1)', '--key', p('ci.pem'));
    await approve(release);
    // The guardrail threshold lowered 0.85 -> 0.80 (approved): parameter-lowered only.
    const lowered = await record('safety-config', '--config', p('c2.json'), '--env', 'prod-eu-1', '--reason', 'Fewer false refusals (AI-2)', '--key', p('ci.pem'));
    await approve(lowered);
    // A production change nobody approves; its config says "0.8", the same as "0.80".
    const unapproved = await record('deployment', '--model-digest', digest('v13'), '--config', p('c3.json'), '--env', 'prod-eu-1', '--reason', 'Roll out v13 (AI-3)', '--key', p('ci.pem'));
    // A change without a real reason (approved).
    const noReason = await record('deployment', '--model-digest', digest('v13'), '--config', p('c3.json'), '--env', 'prod-eu-1', '--reason', 'n/a', '--key', p('ci.pem'));
    await approve(noReason);
    // Production changed by someone other than the release pipeline (approved).
    const byDave = await record('deployment', '--model-digest', digest('v13-hotfix'), '--env', 'prod-eu-1', '--reason', 'Hotfix by hand (AI-4)', '--key', p('dave.pem'));
    await approve(byDave);
    // Signed by release-ci, whose allowlist entry does not cover prod-us-1 (approved).
    const usDeploy = await forge('ci.pem', '--model-digest', digest('v13'), '--env', 'prod-us-1', '--reason', 'Deploy to the US (AI-5)');
    await approve(usDeploy);
    // Signed by a key on no allowlist.
    const byMallory = await forge('mallory.pem', '--model-digest', digest('evil'), '--env', 'prod-eu-1', '--reason', 'Routine update (AI-6)');
    // Approved only by its own author: the approval does not count.
    const selfApproved = await record('deployment', '--model-digest', digest('v14'), '--env', 'prod-eu-1', '--reason', 'Release 14 (AI-7)', '--author', 'bob', '--key', p('ci.pem'));
    await approve(selfApproved);
    // Benign: staging (another baseline, no approval needed), a dataset, a raised threshold.
    await record('safety-config', '--config', p('staging.json'), '--env', 'staging', '--reason', 'Try a lower threshold in staging (AI-8)', '--key', p('alice.pem'));
    await expectIndex(candor(['record', 'dataset', '--dataset', `s3://acme-data/q3.parquet=${digest('q3')}`, '--reason', 'Q3 tickets (AI-9)', '--key', p('alice.pem'), ...url]));
    const raised = await record('safety-config', '--config', p('c4.json'), '--env', 'prod-eu-1', '--reason', 'Raise the threshold again (AI-10)', '--key', p('ci.pem'));
    await approve(raised);
    // Every change above was logged by now (each command waits for inclusion).
    const loggedBy = Date.now();

    const monitor = (): Promise<Result> =>
      candor(
        ['monitor', '--policy', p('policy.txt'), '--state', p('state'), '--once', '--submitters', p('submitters.json'), '--rules', p('rules.json')],
        { PAGER_SECRET: SECRET }
      );

    // First run, once every window has passed since the change was logged: the windows run
    // from the log time (issue 11 item 19), so the unapproved changes fire on this first
    // poll, with what each record shows on its own.
    while (Date.now() <= loggedBy + 350) await new Promise((r) => setTimeout(r, loggedBy + 355 - Date.now()));
    const first = await monitor();
    expect(first.code, first.stderr).toBe(9);
    const firstAlerts = alertsIn(first.stdout);
    expect(tags(firstAlerts)).toEqual(
      [
        `guardrails@${lowered}`,
        `reasons@${noReason}`,
        `prod-signers@${byDave}`,
        `prod-signers@${usDeploy}`,
        `prod-signers@${byMallory}`,
        `unverified-record@${byMallory}`,
        // Logged raw, by a key its allowlist entry does not permit there: not attributed.
        `unverified-record@${usDeploy}`,
        `prod-approval@${selfApproved}`,
        `prod-approval@${unapproved}`,
      ].sort()
    );
    expect(first.stdout.split('\n').filter((l) => l.includes('"type":"entry"'))).toHaveLength(next);
    const find = (alerts: Alert[], rule: string, index: number): Alert => alerts.find((a) => a.rule === rule && a.entry.index === index)!;
    expect(find(firstAlerts, 'guardrails', lowered).details).toMatchObject({
      previous: { index: release },
      parameters: [{ path: 'guardrail.toxicity_threshold', movement: 'decreased', old: '0.85', new: '0.80' }],
    });
    expect(find(firstAlerts, 'prod-signers', usDeploy).details.why).toMatch(/release-ci, whose allowlist entry does not cover prod-us-1/);
    expect(find(firstAlerts, 'unverified-record', usDeploy).details.why).toMatch(
      /^FORBIDDEN: release-ci may not record changes for environment prod-us-1/
    );
    expect(find(firstAlerts, 'prod-signers', byDave).summary).toMatch(/signed by dave, not among the signers this rule allows \(release-ci\)/);
    expect(first.stderr).toMatch(/pager: HTTP 503; retrying in 0\.1 s/);

    // Every window was decided in that poll (none for the unattributed usDeploy: not a
    // change), each dated by the log's index, before the monitor first saw the change.
    const state = JSON.parse(await readFile(p('state/state.json'), 'utf8')) as { rules: { pending: unknown[] } };
    expect(state.rules.pending).toEqual([]);
    const late = find(firstAlerts, 'prod-approval', unapproved);
    expect(late.details.why).toBe('it has no approval');
    const logged = ((await (await fetch(`${server!.url}/v1/records/${unapproved}`)).json()) as { time: string }).time;
    expect(late.details).toMatchObject({ logged, deadline: new Date(Date.parse(logged) + 300).toISOString() });
    expect(Date.parse(logged)).toBeLessThan(Date.parse(late.entry.observed));
    expect(find(firstAlerts, 'prod-approval', selfApproved).details.why).toMatch(/self-approval: bob is the change's author/);

    // A late approval and a benign record: nothing fires, nothing is sent again.
    await approve(unapproved);
    await record('deployment', '--model-digest', digest('v12'), '--env', 'staging', '--reason', 'Staging refresh (AI-11)', '--key', p('ci.pem'));
    const third = await monitor();
    expect(third.code, third.stderr).toBe(0);
    expect(alertsIn(third.stdout)).toEqual([]);
    expect(third.stdout.split('\n').filter((l) => l.includes('"type":"entry"'))).toHaveLength(2);
    const fourth = await monitor();
    expect(fourth).toMatchObject({ code: 0, stdout: '' });

    // Every alert reached every action exactly once.
    const all = firstAlerts;
    const ids = all.map((a) => a.id).sort();
    expect(new Set(ids).size).toBe(9);
    const appended = alertsIn(await readFile(p('hook.jsonl'), 'utf8'));
    expect(appended.map((a) => a.id).sort()).toEqual(ids);
    const delivered = hookRequests.slice(1); // the first request was answered 503
    expect(delivered.map((r) => r.headers['webhook-id']).sort()).toEqual(ids);
    expect(hookRequests[0]!.headers['webhook-id']).toBe(hookRequests[1]!.headers['webhook-id']);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    for (const r of hookRequests) {
      const id = r.headers['webhook-id'] as string;
      const ts = r.headers['webhook-timestamp'] as string;
      expect(r.headers['webhook-signature']).toBe(`v1,${createHmac('sha256', key).update(`${id}.${ts}.${r.body}`).digest('base64')}`);
    }
  }, 120_000);
});
