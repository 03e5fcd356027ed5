// The monitor with alert rules, in process: alert lines after the entries, exit codes,
// fire-once across polls, restarts and a crash, rules enabled on an existing state,
// windows on the monitor's (injected) clock, and the actions: a webhook on 127.0.0.1
// that fails first (backoff, signature, same id), deliveries pending across a restart or
// given up, a command fed the alert, an alert register file, the allowlist reloaded.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/server/app.js';
import { registerRecords } from '../../src/server/records.js';
import { MemoryKv } from '../../src/search/kv.js';
import { RecordIndex } from '../../src/search/record-index.js';
import type { Log } from '../../src/log/log.js';
import { SubmitterRegistry, parseSubmitters, type SubmitterList } from '../../src/governance/submitters.js';
import type { GovernancePredicate } from '../../src/governance/predicate.js';
import type { MonitorOptions, MonitorRules } from '../../src/monitor/options.js';
import { parseRulesFile } from '../../src/monitor/rules/file.js';
import type { RuleAlert } from '../../src/monitor/rules/state.js';
import { FileStateStore } from '../../src/monitor/state.js';
import { utf8 } from '../../src/util/bytes.js';
import { SHA_A } from '../governance/helpers.js';
import { RKEYS, approval, deployment, recordsAllowlist, signed } from '../governance/records-fixture.js';
import { openTestLog, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { Net, makeEntry, openMonitor, removeDir, savedState, stateDir, type Output } from './helpers.js';

const T0 = Date.UTC(2026, 2, 3, 12);
const MIN = 60_000;
const LIST = parseSubmitters(utf8(recordsAllowlist()));
const SECRET = 'whsec_' + Buffer.from('a webhook secret').toString('base64');

let dir: string;
beforeEach(async () => {
  dir = await stateDir();
});
afterEach(async () => removeDir(dir));

/** An in-process log to which the test appends records. */
async function recordLog(): Promise<{ log: Log; net: Net; entries: Uint8Array[]; add: (...e: Uint8Array[]) => Promise<number> }> {
  const { log } = await openTestLog();
  const entries: Uint8Array[] = [];
  return {
    log,
    net: new Net(createApp({ log, verifierKey: TEST_VERIFIER_KEY })),
    entries,
    add: async (...e) => {
      await log.addMany(e);
      entries.push(...e);
      return entries.length - 1;
    },
  };
}

function rulesOf(file: object, extra: Partial<MonitorRules> = {}, list: SubmitterList = LIST): MonitorRules {
  const env = (n: string): string | undefined => (n === 'HOOK_SECRET' ? SECRET : undefined);
  return { config: parseRulesFile(utf8(JSON.stringify(file)), { submitters: list, env }), submitters: { current: list }, ...extra };
}

const alertLines = (output: Output): RuleAlert[] =>
  output.out
    .join('')
    .split('\n')
    .filter((l) => l.includes('"type":"rule-alert"'))
    .map((l) => JSON.parse(l) as RuleAlert);
const tags = (alerts: RuleAlert[]): string[] => alerts.map((a) => `${a.rule}@${a.entry.index}`).sort();

const RULES = {
  rules: [
    { name: 'prod-signers', condition: 'unexpected-signer', match: { env: 'prod-*' }, signers: ['release-ci'] },
    { name: 'reasons', condition: 'missing-reason' },
  ],
};
const d = (env: string, reason: string, n?: number): GovernancePredicate =>
  deployment('bot', env, SHA_A, { reason, ...(n === undefined ? {} : { ticket: `AI-${n}` }) });

describe('monitor with alert rules', () => {
  it('writes each alert once, after the entries and the checkpoint, and exits 9; then 0', async () => {
    const { net, add } = await recordLog();
    await add(signed(d('prod-eu-1', 'release 12'), RKEYS.ci), signed(d('prod-eu-1', 'hotfix'), RKEYS.alice), signed(d('staging', 'n/a'), RKEYS.alice));
    const { monitor, output } = await openMonitor(net, dir, { rules: rulesOf(RULES) });
    expect(await monitor.once()).toBe(9);
    const types = output.out.join('').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(['entry', 'entry', 'entry', 'checkpoint', 'rule-alert', 'rule-alert']);
    expect(tags(alertLines(output))).toEqual(['prod-signers@1', 'reasons@2']);
    expect(output.err.join('')).toMatch(/^candor monitor: rule alert \(page\) prod-signers: entry 1: deployment of bot in prod-eu-1 by alice: signed by alice, not among/m);
    const state = (await savedState(dir))!;
    expect(state.rules).toMatchObject({ processed: 3, outbox: [], pending: [] });
    expect(state.rules!.fired).toEqual(alertLines(output).map((a) => a.id));

    output.clear();
    expect(await monitor.once()).toBe(0);
    expect(output.out).toEqual([]);
    await monitor.close();
    const again = await openMonitor(net, dir, { rules: rulesOf(RULES) });
    expect(await again.monitor.once()).toBe(0);
    expect(again.output.out).toEqual([]);
    await add(signed(d('prod-eu-2', 'n/a'), RKEYS.alice));
    expect(await again.monitor.once()).toBe(9);
    expect(tags(alertLines(again.output))).toEqual(['prod-signers@3', 'reasons@3']);
    await again.monitor.close();
  });

  it('an approval window on the monitor\'s clock: across restarts, not closed by a poll that failed', async () => {
    const { net, add, entries } = await recordLog();
    const rules = rulesOf({ rules: [{ name: 'prod-approval', condition: 'unapproved-change', match: { env: 'prod-*' }, within: '30m' }] });
    const clock = { t: T0 };
    const open = (): ReturnType<typeof openMonitor> => openMonitor(net, dir, { rules, now: () => clock.t, retries: 1 });
    const approvedLater = d('prod-eu-1', 'approved later');
    await add(signed(d('prod-eu-1', 'never approved'), RKEYS.ci), signed(approvedLater, RKEYS.ci));
    let m = await open();
    expect(await m.monitor.once()).toBe(0);
    expect((await savedState(dir))!.rules!.pending.map((w) => [w.entry.index, w.deadline])).toEqual([
      [0, new Date(T0 + 30 * MIN).toISOString()],
      [1, new Date(T0 + 30 * MIN).toISOString()],
    ]);
    await m.monitor.close();

    clock.t = T0 + 10 * MIN;
    await add(approval(approvedLater, entries[1]!, 1, RKEYS.bob));
    m = await open();
    expect(await m.monitor.once()).toBe(0);
    await m.monitor.close();

    clock.t = T0 + 31 * MIN;
    m = await open();
    net.down = 10; // the log cannot be reached: nothing is decided
    expect(await m.monitor.once()).toBe(3);
    expect(alertLines(m.output)).toEqual([]);
    net.down = 0;
    expect(await m.monitor.once()).toBe(9);
    const [alert, ...rest] = alertLines(m.output);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      rule: 'prod-approval',
      entry: { index: 0, observed: new Date(T0).toISOString() },
      details: { within: '30m', why: 'it has no approval', closedAt: new Date(T0 + 31 * MIN).toISOString() },
    });
    m.output.clear();
    expect(await m.monitor.once()).toBe(0);
    expect(m.output.out).toEqual([]);
    await m.monitor.close();
  });

  it('an approval window runs from the log time its record index states: fires on the first poll', async () => {
    // A log with the record API, on its own (injected) clock.
    const logClock = { t: T0 };
    const { log, store } = await openTestLog(undefined, { now: () => logClock.t });
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    const index = await RecordIndex.open({ kv: new MemoryKv(), store, size: () => log.size, submitters: () => LIST });
    registerRecords(app, { submitters: () => LIST, index });
    const net = new Net(app);
    const add = async (at: number, ...e: Uint8Array[]): Promise<void> => {
      logClock.t = at;
      await log.addMany(e);
      await index.catchUp();
    };
    const rules = rulesOf({ rules: [{ name: 'prod-approval', condition: 'unapproved-change', match: { env: 'prod-*' }, within: '30m' }] });
    const clock = { t: T0 };
    const { monitor, output } = await openMonitor(net, dir, { rules, now: () => clock.t });
    const approvedInTime = d('prod-eu-1', 'approved in time');
    const e2 = signed(approvedInTime, RKEYS.ci);
    await add(T0, signed(d('prod-eu-1', 'logged long ago, never approved'), RKEYS.ci));
    await add(T0 + 110 * MIN, signed(d('prod-eu-1', 'within the window'), RKEYS.ci), e2);
    await add(T0 + 115 * MIN, approval(approvedInTime, e2, 2, RKEYS.bob));

    // First poll, two hours after entry 0 was logged: it fires now, not a window later.
    clock.t = T0 + 120 * MIN;
    expect(await monitor.once()).toBe(9);
    expect(alertLines(output).map((a) => [a.entry.index, a.details])).toEqual([
      [0, expect.objectContaining({ logged: new Date(T0).toISOString(), deadline: new Date(T0 + 30 * MIN).toISOString(), why: 'it has no approval' })],
    ]);
    expect(alertLines(output)[0]!.entry.observed).toBe(new Date(T0 + 120 * MIN).toISOString());
    expect((await savedState(dir))!.rules!.pending.map((w) => [w.entry.index, w.logged, w.deadline])).toEqual([
      [1, new Date(T0 + 110 * MIN).toISOString(), new Date(T0 + 140 * MIN).toISOString()],
      [2, new Date(T0 + 110 * MIN).toISOString(), new Date(T0 + 140 * MIN).toISOString()],
    ]);
    output.clear();

    // Still inside entry 1's window (logged at +110 min): nothing yet.
    clock.t = T0 + 139 * MIN;
    expect(await monitor.once()).toBe(0);
    expect(alertLines(output)).toEqual([]);
    // The window passed: entry 1 fires; entry 2, approved inside its window, never does.
    clock.t = T0 + 141 * MIN;
    expect(await monitor.once()).toBe(9);
    expect(tags(alertLines(output))).toEqual(['prod-approval@1']);
    expect((await savedState(dir))!.rules!.pending).toEqual([]);
    await monitor.close();
    await index.close();
    await log.drain();
  });

  it('a crash between emitting and saving: every alert is delivered exactly once', async () => {
    const { net, add } = await recordLog();
    const bad = new Set([100, 700, 1500]);
    await add(...Array.from({ length: 2000 }, (_, i) => (bad.has(i) ? signed(d('staging', `n/a`, i), RKEYS.alice) : makeEntry(i))));
    const rules = rulesOf({ rules: [{ name: 'reasons', condition: 'missing-reason' }] });
    let written = 0;
    const crashed = await openMonitor(net, dir, {
      rules,
      saveEvery: 512,
      out: (t) => {
        if (written >= 1280) throw new Error('killed');
        written += t.split('\n').length - 1;
      },
    });
    await expect(crashed.monitor.once()).rejects.toThrow('killed');
    await crashed.monitor.close();
    const saved = (await savedState(dir))!;
    expect(saved).toMatchObject({ next: 1024, rules: { processed: 1024 } });
    expect(saved.rules!.outbox.map((o) => o.alert.entry.index)).toEqual([100, 700]); // raised, not yet delivered

    const resumed = await openMonitor(net, dir, { rules, saveEvery: 512 });
    expect(await resumed.monitor.once()).toBe(9);
    expect(tags(alertLines(resumed.output))).toEqual(['reasons@100', 'reasons@1500', 'reasons@700']);
    expect((await savedState(dir))!.rules).toMatchObject({ processed: 2000, outbox: [] });
    await resumed.monitor.close();
  });

  it('rules enabled on an existing state evaluate the earlier entries once, without printing them again', async () => {
    const { net, add } = await recordLog();
    await add(signed(d('prod-eu-1', 'n/a'), RKEYS.ci), makeEntry(1), signed(d('prod-eu-1', 'fine'), RKEYS.alice));
    const plain = await openMonitor(net, dir);
    expect(await plain.monitor.once()).toBe(0);
    await plain.monitor.close();
    const ruled = await openMonitor(net, dir, { rules: rulesOf(RULES) });
    expect(await ruled.monitor.once()).toBe(9);
    expect(ruled.output.entries()).toEqual([]);
    expect(tags(alertLines(ruled.output))).toEqual(['prod-signers@2', 'reasons@0']);
    expect(ruled.output.warnings().join('')).toMatch(/rules: evaluating entries 0 to 2, emitted before the rules were in force/);
    expect(await ruled.monitor.once()).toBe(0);
    await ruled.monitor.close();
  });

  it('reloads the allowlist before each poll', async () => {
    const { net, add } = await recordLog();
    const file = join(dir, '..', `${dir.split('/').pop()!}-submitters.json`);
    await writeFile(file, recordsAllowlist());
    const registry = await SubmitterRegistry.open(file);
    const rules = rulesOf({ rules: [{ name: 'reasons', condition: 'missing-reason' }] }, { submitters: registry });
    await add(signed(d('staging', 'carol 1'), RKEYS.mallory));
    const { monitor, output } = await openMonitor(net, dir, { rules });
    expect(await monitor.once()).toBe(9);
    expect(tags(alertLines(output))).toEqual(['unverified-record@0']);
    const carol = { name: 'carol', roles: ['engineer'], publicKey: Buffer.from(RKEYS.mallory.publicKey.spki).toString('base64') };
    await writeFile(file, recordsAllowlist([carol]));
    await add(signed(d('staging', 'carol 2'), RKEYS.mallory));
    output.clear();
    expect(await monitor.once()).toBe(0);
    await writeFile(file, '{"submitters": "broken"}');
    await add(signed(d('staging', 'carol 3'), RKEYS.mallory));
    expect(await monitor.once()).toBe(0); // the list in force stays
    expect(output.warnings().join('')).toMatch(/rules: reloading the submitter allowlist: submitters file: .*; the list in force stays/);
    await monitor.close();
    await removeDir(file);
  });
});

/** A webhook receiver on 127.0.0.1 that answers `status()` for each request. */
async function receiver(status: (n: number) => number, headers: Record<string, string> = {}): Promise<{
  url: string;
  requests: { headers: Record<string, string | string[] | undefined>; body: string }[];
  close: () => Promise<void>;
}> {
  const requests: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.writeHead(status(requests.length), headers);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('actions', () => {
  const reasons = (actions: object, extra: object = {}): object => ({
    notify: Object.keys(actions),
    actions,
    rules: [{ name: 'reasons', condition: 'missing-reason', ...extra }],
  });

  it('webhook: retried with exponential backoff until it succeeds, signed, with the same id every time', async () => {
    const hook = await receiver((n) => (n <= 2 ? 503 : 204));
    try {
      const { net, add } = await recordLog();
      await add(signed(d('staging', 'n/a'), RKEYS.alice));
      const rules = rulesOf(reasons({ hook: { type: 'webhook', url: hook.url, secretEnv: 'HOOK_SECRET', backoff: '1s', attempts: 5, headers: { Authorization: 'Bearer t0ken' } } }));
      const { monitor, output, sleeps } = await openMonitor(net, dir, { rules });
      expect(await monitor.once()).toBe(9);
      expect(sleeps).toEqual([1000, 2000]);
      expect(hook.requests).toHaveLength(3);
      const alert = JSON.parse(hook.requests[0]!.body) as RuleAlert;
      expect(alert).toMatchObject({ type: 'rule-alert', rule: 'reasons', entry: { index: 0 } });
      const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
      for (const r of hook.requests) {
        expect(r.body).toBe(hook.requests[0]!.body);
        expect(r.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': alert.id, authorization: 'Bearer t0ken' });
        const ts = r.headers['webhook-timestamp'] as string;
        const mac = createHmac('sha256', key).update(`${alert.id}.${ts}.${r.body}`).digest('base64');
        expect(r.headers['webhook-signature']).toBe(`v1,${mac}`);
      }
      expect(output.warnings().join('')).toMatch(/webhook hook: HTTP 503; retrying in 1 s \(attempt 1 of 5\)[\s\S]*retrying in 2 s \(attempt 2 of 5\)/);
      expect(alertLines(output)).toEqual([]); // stdout is not among this rule's actions
      expect(await monitor.once()).toBe(0);
      expect(hook.requests).toHaveLength(3);
      await monitor.close();
    } finally {
      await hook.close();
    }
  });

  it('a delivery still pending is retried by the next run (exit 10 until then), and never sent again once delivered', async () => {
    let healthy = false;
    const hook = await receiver(() => (healthy ? 200 : 500));
    try {
      const { net, add } = await recordLog();
      await add(signed(d('staging', 'n/a'), RKEYS.alice));
      const rules = rulesOf(reasons({ hook: { type: 'webhook', url: hook.url, backoff: '1m', attempts: 5 } }), { onceWaitMs: 0 });
      const clock = { t: T0 };
      const first = await openMonitor(net, dir, { rules, now: () => clock.t });
      expect(await first.monitor.once()).toBe(10);
      expect(first.output.warnings().join('')).toMatch(/HTTP 500; retrying in 60 s \(attempt 1 of 5\)[\s\S]*1 alert deliveries still pending; the next run retries them/);
      await first.monitor.close();
      expect((await savedState(dir))!.rules!.outbox[0]!.deliveries).toEqual([
        { action: 'hook', status: 'pending', attempts: 1, next: new Date(T0 + MIN).toISOString(), error: 'HTTP 500' },
      ]);

      healthy = true;
      clock.t = T0 + 30_000; // not due yet: nothing is sent
      const early = await openMonitor(net, dir, { rules, now: () => clock.t });
      expect(await early.monitor.once()).toBe(10);
      expect(hook.requests).toHaveLength(1);
      await early.monitor.close();
      clock.t = T0 + 2 * MIN;
      const second = await openMonitor(net, dir, { rules, now: () => clock.t });
      expect(await second.monitor.once()).toBe(0);
      expect(hook.requests).toHaveLength(2);
      expect((await savedState(dir))!.rules!.outbox).toEqual([]);
      expect(await second.monitor.once()).toBe(0);
      expect(hook.requests).toHaveLength(2);
      await second.monitor.close();
    } finally {
      await hook.close();
    }
  });

  it('a delivery that keeps failing is given up after its attempts, kept in the state and acknowledged by a reset', async () => {
    const hook = await receiver(() => 500);
    try {
      const { net, add } = await recordLog();
      await add(signed(d('staging', 'n/a'), RKEYS.alice));
      const rules = rulesOf(reasons({ hook: { type: 'webhook', url: hook.url, backoff: '1s', attempts: 2 } }));
      const first = await openMonitor(net, dir, { rules });
      expect(await first.monitor.once()).toBe(10);
      expect(first.output.warnings().join('')).toMatch(/webhook hook: HTTP 500; gave up after 2 attempts/);
      await first.monitor.close();
      const second = await openMonitor(net, dir, { rules });
      expect(second.output.warnings().join('')).toMatch(/rules: 1 alert\(s\) whose delivery failed are kept in the state/);
      expect(await second.monitor.once()).toBe(0);
      await second.monitor.close();
      expect(hook.requests).toHaveLength(2);
      const store = await FileStateStore.open(dir);
      await store.reset(true, T0);
      await store.close();
      expect((await savedState(dir))!.rules).toMatchObject({ processed: 1, outbox: [] });
    } finally {
      await hook.close();
    }
  });

  it('command: gets the alert JSON on stdin and its environment; a failing command is retried; file: an alert register', async () => {
    const { net, add } = await recordLog();
    await add(signed(d('staging', 'n/a'), RKEYS.alice));
    const got = join(dir, 'got.json');
    const marker = join(dir, 'tried');
    const command =
      `if [ -e '${marker}' ]; then cat > '${got}'; ` +
      `printf '%s|%s|%s|%s|%s|%s\\n' "$CANDOR_ALERT_ID" "$CANDOR_ALERT_KIND" "$CANDOR_ALERT_RULE" "$CANDOR_ALERT_SEVERITY" "$CANDOR_ALERT_ENTRY" "$CANDOR_ALERT_ATTEMPT" > '${got}.env'; ` +
      `else touch '${marker}'; echo not yet >&2; exit 3; fi`;
    const register = join(dir, 'alerts.jsonl');
    const rules = rulesOf(reasons({ run: { type: 'command', command, backoff: '1s' }, register: { type: 'file', path: register } }));
    const { monitor, output, sleeps } = await openMonitor(net, dir, { rules });
    expect(await monitor.once()).toBe(9);
    expect(sleeps).toEqual([1000]);
    expect(output.warnings().join('')).toMatch(/command run: exited with status 3: not yet; retrying in 1 s/);
    const alert = JSON.parse(await readFile(got, 'utf8')) as RuleAlert;
    expect(alert).toMatchObject({ rule: 'reasons', condition: 'missing-reason', entry: { index: 0 } });
    expect((await readFile(`${got}.env`, 'utf8')).trim()).toBe(`${alert.id}|missing-reason|reasons|notify|0|2`);
    expect((await readFile(register, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as RuleAlert).id)).toEqual([alert.id]);
    await monitor.close();
  });

  it('a long-running monitor retries deliveries between polls', async () => {
    const hook = await receiver((n) => (n === 1 ? 503 : 200));
    try {
      const { net, add } = await recordLog();
      await add(signed(d('staging', 'n/a'), RKEYS.alice));
      const rules = rulesOf(reasons({ hook: { type: 'webhook', url: hook.url, backoff: '1s' } }));
      const stop = new AbortController();
      const sleeps: number[] = [];
      const options: Partial<MonitorOptions> = {
        rules,
        intervalMs: 60_000,
        sleep: async (ms) => {
          sleeps.push(ms);
          if (sleeps.length === 2) stop.abort();
        },
      };
      const { monitor } = await openMonitor(net, dir, options);
      await monitor.run(stop.signal);
      expect(sleeps).toEqual([1000, 59_000]);
      expect(hook.requests).toHaveLength(2);
      expect((await savedState(dir))!.rules!.outbox).toEqual([]);
      await monitor.close();
    } finally {
      await hook.close();
    }
  });
});
