// The monitor against an honest in-process log: first run, incremental polls, restarts
// without downloading again, crashes between emitting and saving, progress.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leafHash } from '../../src/merkle/hash.js';
import type { StateStore } from '../../src/monitor/state.js';
import { Net, b64, grow, openMonitor, removeDir, savedState, servedLog, stateDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await stateDir();
});
afterEach(async () => removeDir(dir));

describe('monitor against an honest log', () => {
  it('first run: emits every entry in order, verified, then the checkpoint, and saves the state', async () => {
    const { log, app, entries } = await servedLog(600);
    const net = new Net(app);
    const { monitor, output } = await openMonitor(net, dir);
    expect(await monitor.once()).toBe(0);
    const lines = output.entries();
    expect(lines.map((l) => l.index)).toEqual(entries.map((_, i) => i));
    for (const l of lines) {
      expect(l.entry).toBe(b64(entries[l.index]!));
      expect(l.leafHash).toBe(b64(leafHash(entries[l.index]!)));
      expect(l.checkpointSize).toBe(600);
    }
    expect(output.checkpoints()).toEqual([
      expect.objectContaining({ size: 600, note: log.checkpoint.note, rootHash: b64(log.checkpoint.rootHash) }),
    ]);
    expect(output.err).toEqual([]);
    const state = await savedState(dir);
    expect(state).toMatchObject({ checkpoint: log.checkpoint.note, next: 600, halt: null, alerts: [] });
    await monitor.close();
  });

  it('includes JSON entries parsed, and handles an empty log', async () => {
    const { log, app } = await servedLog(0);
    const { monitor, output } = await openMonitor(new Net(app), dir);
    expect(await monitor.once()).toBe(0);
    expect(output.entries()).toEqual([]);
    expect(output.checkpoints().map((c) => c.size)).toEqual([0]);
    await log.addMany([new TextEncoder().encode('{"model":"m1","env":"prod"}'), new TextEncoder().encode('[1')]);
    expect(await monitor.once()).toBe(0);
    const [json, notJson] = output.entries();
    expect(json).toMatchObject({ index: 0, json: { model: 'm1', env: 'prod' } });
    expect(notJson).toMatchObject({ index: 1 });
    expect(notJson).not.toHaveProperty('json');
    await monitor.close();
  });

  it('incremental polls read only the new entries, and nothing when nothing changed', async () => {
    const { log, app, entries } = await servedLog(600);
    const net = new Net(app);
    const { monitor, output } = await openMonitor(net, dir);
    await monitor.once();
    output.clear();
    net.reset();
    expect(await monitor.once()).toBe(0);
    expect(output.out).toEqual([]);
    expect(net.requests).toEqual(['/checkpoint']);

    await grow(log, entries, 900);
    net.reset();
    expect(await monitor.once()).toBe(0);
    expect(output.entries().map((l) => l.index)).toEqual(Array.from({ length: 300 }, (_, i) => 600 + i));
    expect(output.entries().every((l) => l.checkpointSize === 900)).toBe(true);
    const bundles = net.requests.filter((p) => p.startsWith('/tile/entries/'));
    expect(bundles).toEqual(['/tile/entries/002', '/tile/entries/003.p/132']);
    expect((await savedState(dir))?.next).toBe(900);
    await monitor.close();
  });

  it('resumes after a restart without downloading again', async () => {
    const { log, app, entries } = await servedLog(700);
    const net = new Net(app);
    const first = await openMonitor(net, dir);
    await first.monitor.once();
    await first.monitor.close();

    net.reset();
    const second = await openMonitor(net, dir);
    expect(await second.monitor.once()).toBe(0);
    expect(second.output.out).toEqual([]);
    expect(net.requests).toEqual(['/checkpoint']);

    await grow(log, entries, 710);
    net.reset();
    expect(await second.monitor.once()).toBe(0);
    expect(second.output.entries().map((l) => l.index)).toEqual(Array.from({ length: 10 }, (_, i) => 700 + i));
    // The consistency proof's tiles (read once each) and the one bundle with the new entries.
    expect(net.requests).toEqual(['/checkpoint', '/tile/0/002.p/198', '/tile/1/000.p/2', '/tile/entries/002.p/198']);
    await second.monitor.close();
  });

  it('a crash after emitting but before saving re-emits from the last saved point, never skips', async () => {
    const { app, entries } = await servedLog(2000);
    const net = new Net(app);
    // The output dies in the middle of the 6th bundle: entries 0–1279 were written.
    let written = 0;
    const crashed = await openMonitor(net, dir, {
      saveEvery: 512,
      out: (t) => {
        if (written >= 1280) throw new Error('killed');
        written += t.split('\n').length - 1;
      },
    });
    await expect(crashed.monitor.once()).rejects.toThrow('killed');
    await crashed.monitor.close();
    expect((await savedState(dir))?.next).toBe(1024); // saved after 1024, not after 1280

    const resumed = await openMonitor(net, dir, { saveEvery: 512 });
    expect(await resumed.monitor.once()).toBe(0);
    const again = resumed.output.entries().map((l) => l.index);
    expect(again[0]).toBe(1024); // 1024–1279 re-emitted: at most since the last save
    expect(again).toEqual(Array.from({ length: 2000 - 1024 }, (_, i) => 1024 + i));
    expect(resumed.output.entries().every((l) => l.entry === b64(entries[l.index]!))).toBe(true);
    await resumed.monitor.close();
  });

  it('a crash while saving the end of a catch-up loses nothing', async () => {
    const { app } = await servedLog(300);
    const net = new Net(app);
    const failing = (s: StateStore): StateStore => ({
      load: () => s.load(),
      close: () => s.close(),
      save: async (st) => {
        if (st.next === 300) throw new Error('power cut');
        await s.save(st);
      },
    });
    const crashed = await openMonitor(net, dir, { wrapStore: failing });
    await expect(crashed.monitor.once()).rejects.toThrow('power cut');
    expect(crashed.output.entries()).toHaveLength(300);
    await crashed.monitor.close();
    expect(await savedState(dir)).toBeUndefined();

    const resumed = await openMonitor(net, dir);
    expect(await resumed.monitor.once()).toBe(0);
    expect(resumed.output.entries().map((l) => l.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await resumed.monitor.close();
  });

  it('reports catch-up progress and stops cleanly (saving) when interrupted', async () => {
    const { app } = await servedLog(1500);
    const stop = new AbortController();
    const updates: Array<[number, number]> = [];
    let ended = 0;
    const { monitor, output } = await openMonitor(new Net(app), dir, {
      progress: {
        update: (done, total) => {
          updates.push([done, total]);
          if (done >= 768) stop.abort();
        },
        end: () => void ended++,
      },
    });
    expect(await monitor.once(stop.signal)).toBe(1);
    expect(updates).toEqual([[256, 1500], [512, 1500], [768, 1500]]);
    expect(ended).toBe(1);
    expect(output.entries()).toHaveLength(768);
    expect((await savedState(dir))?.next).toBe(768);
    await monitor.close();
  });

  it('run() polls every interval until stopped', async () => {
    const { log, app, entries } = await servedLog(10);
    const stop = new AbortController();
    const net = new Net(app);
    let polls = 0;
    const { monitor, output, sleeps } = await openMonitor(net, dir, {
      intervalMs: 5000,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (++polls === 2) await grow(log, entries, 20);
        if (polls === 3) stop.abort();
      },
    });
    await monitor.run(stop.signal);
    expect(sleeps).toEqual([5000, 5000, 5000]);
    expect(output.entries().map((l) => l.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(output.checkpoints().map((c) => c.size)).toEqual([10, 20]);
    await monitor.close();
  });
});
