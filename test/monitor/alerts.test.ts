// The monitor against a misbehaving log: forks, rollbacks, stale copies, lying tiles and
// entries, bad signatures, a quorum not met; and network errors, which are not alerts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { FileStateStore } from '../../src/monitor/state.js';
import { W1, W2, cosign, flipBase64Char, policyText } from '../client/fixtures.js';
import { BASE, Net, TEST_VERIFIER_KEY, grow, openMonitor, removeDir, savedState, servedLog, stateDir } from './helpers.js';

const other = (i: number): Uint8Array => new TextEncoder().encode(`rewritten history ${i}`);
const verifier = ed25519Verifier(TEST_VERIFIER_KEY);
const sizeOf = (note: string | undefined): number => openCheckpoint(note!, verifier).checkpoint.size;
const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = new Uint8Array(b);
  c[at]! ^= 0x40;
  return c;
};

let dir: string;
beforeEach(async () => {
  dir = await stateDir();
});
afterEach(async () => removeDir(dir));

describe('forks and rollbacks (halting alerts)', () => {
  it('same size, another root: inconsistent (8) with both checkpoints, halts across restarts until reset', async () => {
    const a = await servedLog(300);
    const b = await servedLog(300, other);
    const net = new Net(a.app);
    const first = await openMonitor(net, dir);
    expect(await first.monitor.once()).toBe(0);
    net.app = b.app;
    first.output.clear();
    expect(await first.monitor.once()).toBe(8);
    const [alert] = first.output.alerts();
    expect(alert).toMatchObject({ type: 'alert', kind: 'inconsistent', halted: true, origin: 'test.example/log' });
    expect(alert!.evidence).toEqual({ trusted: a.log.checkpoint.note, received: b.log.checkpoint.note });
    expect(first.output.out).toEqual([]);
    // It keeps alerting, without adopting (or even reading) the other history.
    net.reset();
    expect(await first.monitor.once()).toBe(8);
    expect(net.requests).toEqual([]);
    await first.monitor.close();

    const state = await savedState(dir);
    expect(state?.checkpoint).toBe(a.log.checkpoint.note);
    expect(state?.halt).toMatchObject({ kind: 'inconsistent', count: 2, id: alert!.id });
    const again = await openMonitor(net, dir);
    expect(await again.monitor.once()).toBe(8);
    expect(again.output.alerts()[0]).toMatchObject({ id: alert!.id, count: 3 });
    await again.monitor.close();

    // Reset keeping the checkpoint: the log still serves the other history, so it alerts again.
    const store = await FileStateStore.open(dir);
    await store.reset(true, Date.now());
    await store.close();
    const kept = await openMonitor(net, dir);
    expect(await kept.monitor.once()).toBe(8);
    await kept.monitor.close();
    // A full reset follows the log's history from scratch.
    const store2 = await FileStateStore.open(dir);
    await store2.reset(false, Date.now());
    await store2.close();
    const fresh = await openMonitor(net, dir);
    expect(await fresh.monitor.once()).toBe(0);
    expect(fresh.output.entries()).toHaveLength(300);
    expect(fresh.output.entries()[0]!.entry).toBe(Buffer.from(other(0)).toString('base64'));
    await fresh.monitor.close();
  });

  it('a larger checkpoint of another history: inconsistent (8), proven from its own tiles', async () => {
    const a = await servedLog(300);
    const b = await servedLog(700, other);
    const net = new Net(a.app);
    const { monitor, output } = await openMonitor(net, dir);
    await monitor.once();
    net.app = b.app;
    expect(await monitor.once()).toBe(8);
    expect(output.alerts()[0]!.detail).toContain('does not extend the trusted checkpoint of size 300');
    expect((await savedState(dir))?.next).toBe(300);
    await monitor.close();
  });

  it('a smaller checkpoint that is not a prefix: rollback (7)', async () => {
    const a = await servedLog(600);
    const b = await servedLog(100, other);
    const net = new Net(a.app);
    const { monitor, output } = await openMonitor(net, dir);
    await monitor.once();
    net.app = b.app;
    expect(await monitor.once()).toBe(7);
    const [alert] = output.alerts();
    expect(alert).toMatchObject({ kind: 'rollback', halted: true });
    expect([sizeOf(alert!.evidence.trusted), sizeOf(alert!.evidence.received)]).toEqual([600, 100]);
    await monitor.close();
  });

  it('a log that lost its last entries cannot prove the tree it signed: rollback (7)', async () => {
    const a = await servedLog(600);
    const first = await openMonitor(new Net(a.app), dir);
    await first.monitor.once();
    await first.monitor.close();
    const shrunk = await servedLog(100); // the same first 100 entries, the rest gone
    const { monitor, output } = await openMonitor(new Net(shrunk.app), dir);
    expect(await monitor.once()).toBe(7);
    expect(output.alerts()[0]!.detail).toContain('cannot prove it is a prefix');
    await monitor.close();
  });

  it('an older checkpoint of the same history is stale: a warning, no alert', async () => {
    const a = await servedLog(600);
    const older = (await a.log.checkpointAt(600))!;
    await grow(a.log, a.entries, 900);
    const net = new Net(a.app);
    const { monitor, output } = await openMonitor(net, dir);
    expect(await monitor.once()).toBe(0);
    output.clear();
    net.tamper = (path) => (path === '/checkpoint' ? older : undefined);
    expect(await monitor.once()).toBe(0);
    expect(output.alerts()).toEqual([]);
    expect(output.warnings()[0]).toContain('size 600, older than the trusted size 900');
    expect(output.out).toEqual([]);
    const state = await savedState(dir);
    expect([sizeOf(state?.checkpoint ?? undefined), state?.next, state?.alerts]).toEqual([900, 900, []]);
    await monitor.close();
  });
});

describe('data that does not verify (bad-tiles, 6)', () => {
  it('a lying hash tile: alert, progress kept up to the last good bundle, then it recovers', async () => {
    const a = await servedLog(600);
    const net = new Net(a.app);
    net.tamper = (path, body) => (path.startsWith('/tile/0/001') ? flip(body, 5) : undefined);
    const { monitor, output } = await openMonitor(net, dir);
    expect(await monitor.once()).toBe(6);
    const [alert] = output.alerts();
    expect(alert).toMatchObject({ kind: 'bad-tiles', halted: false, evidence: { received: a.log.checkpoint.note } });
    expect(alert!.detail).toContain('does not match the checkpoint');
    expect(output.entries()).toHaveLength(256);
    expect(await savedState(dir)).toMatchObject({ next: 256, halt: null, alerts: [expect.objectContaining({ id: alert!.id })] });
    net.tamper = undefined;
    expect(await monitor.once()).toBe(0);
    expect(output.entries().map((l) => l.index)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await monitor.close();
  });

  it('a lying entry bundle: alert, nothing emitted from it', async () => {
    const a = await servedLog(100);
    const net = new Net(a.app);
    net.tamper = (path, body) => (path.startsWith('/tile/entries/') ? flip(body, 40) : undefined);
    const { monitor, output } = await openMonitor(net, dir, { jsonAlerts: true });
    expect(await monitor.once()).toBe(6);
    expect(output.alerts()[0]!.detail).toContain("does not hash to the log's leaf hash");
    // --json-alerts: the same alert line on stdout too, and no entry.
    expect(output.out).toEqual([output.err[0]]);
    await monitor.close();
  });

  it('lying tiles in the consistency check: alert, the trusted checkpoint stays', async () => {
    const a = await servedLog(300);
    const net = new Net(a.app);
    const { monitor, output } = await openMonitor(net, dir);
    await monitor.once();
    await grow(a.log, a.entries, 600);
    net.tamper = (path, body) => (path.startsWith('/tile/0/') ? flip(body, 0) : undefined);
    expect(await monitor.once()).toBe(6);
    expect(output.alerts()[0]!.detail).toContain('reading the tiles of tree size 600');
    expect(sizeOf((await savedState(dir))?.checkpoint ?? undefined)).toBe(300);
    await monitor.close();
    // The alert is remembered across a restart, and the same evidence counts up.
    const again = await openMonitor(net, dir);
    expect(again.output.warnings()[0]).toContain('1 unacknowledged alert(s)');
    expect(await again.monitor.once()).toBe(6);
    expect((await savedState(dir))?.alerts).toEqual([expect.objectContaining({ kind: 'bad-tiles', count: 2 })]);
    await again.monitor.close();
  });
});

describe('checkpoints that do not verify', () => {
  const witnessed = { policy: policyText('two'), url: BASE };

  it('quorum not met (5) and bad signature (4), with the note received as evidence', async () => {
    const a = await servedLog(20);
    const net = new Net(a.app);
    const note = a.log.checkpoint.note;
    let served = cosign(note, [W1, W2]);
    net.tamper = (path) => (path === '/checkpoint' ? served : undefined);
    const { monitor, output } = await openMonitor(net, dir, witnessed);
    expect(await monitor.once()).toBe(0);
    expect(output.checkpoints()[0]).toMatchObject({ size: 20, witnesses: ['w1', 'w2'] });

    await grow(a.log, a.entries, 30);
    served = cosign(a.log.checkpoint.note, [W1]);
    expect(await monitor.once()).toBe(5);
    expect(output.alerts()[0]).toMatchObject({ kind: 'quorum-not-met', evidence: { received: served } });

    const logLine = note.split('\n').find((l) => l.startsWith('— test.example/log '))!;
    served = cosign(a.log.checkpoint.note, [W1, W2]).replace(/— test\.example\/log .*\n/, flipBase64Char(logLine, 40) + '\n');
    expect(await monitor.once()).toBe(4);
    expect(output.alerts()[1]).toMatchObject({ kind: 'bad-signature', evidence: { received: served } });

    served = '<html>captive portal</html>';
    expect(await monitor.once()).toBe(4);
    expect((await savedState(dir))?.alerts.map((x) => x.kind)).toEqual(['quorum-not-met', 'bad-signature', 'bad-signature']);
    expect(sizeOf((await savedState(dir))?.checkpoint ?? undefined)).toBe(20);
    await monitor.close();
  });
});

describe('network errors are not alerts', () => {
  it('once() retries with doubling delays, warning each time, then succeeds or gives up with 3', async () => {
    const a = await servedLog(10);
    const net = new Net(a.app);
    net.down = 2;
    net.busy = 1;
    const { monitor, output, sleeps } = await openMonitor(net, dir);
    expect(await monitor.once()).toBe(0);
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(output.warnings()).toHaveLength(3);
    expect(output.warnings()[0]).toContain('ECONNREFUSED; retrying in 1 s');
    expect(output.warnings()[2]).toContain('HTTP 503');
    expect(output.alerts()).toEqual([]);

    net.down = 100;
    sleeps.length = 0;
    expect(await monitor.once()).toBe(3);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
    expect(output.warnings().at(-1)).toContain('giving up after 5 attempts');
    expect((await savedState(dir))?.alerts).toEqual([]);
    await monitor.close();
  });

  it('a failure in the middle of a catch-up keeps the progress and resumes there', async () => {
    const a = await servedLog(600);
    const net = new Net(a.app);
    let failures = 2;
    net.unreachable = (path) => path.startsWith('/tile/entries/001') && failures-- > 0;
    const { monitor, output, sleeps } = await openMonitor(net, dir);
    expect(await monitor.once()).toBe(0);
    expect(sleeps).toEqual([1000, 2000]);
    expect(output.entries().map((l) => l.index)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(output.alerts()).toEqual([]);
    await monitor.close();
  });

  it('run() backs off after network errors up to the interval, then polls at the interval', async () => {
    const a = await servedLog(10);
    const net = new Net(a.app);
    net.down = 5;
    const stop = new AbortController();
    const sleeps: number[] = [];
    const { monitor } = await openMonitor(net, dir, {
      intervalMs: 5000,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 7) stop.abort();
      },
    });
    await monitor.run(stop.signal);
    expect(sleeps).toEqual([1000, 2000, 4000, 5000, 5000, 5000, 5000]);
    expect((await savedState(dir))?.next).toBe(10);
    await monitor.close();
  });
});
