import { describe, expect, it } from 'vitest';
import { Sequencer } from '../../src/log/sequencer.js';
import { isLogError } from '../../src/util/errors.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Sequencer', () => {
  it('flushes a full batch at once, without waiting for the age limit', async () => {
    const batches: number[][] = [];
    const seq = new Sequencer<number, number>({
      maxBatch: 3,
      maxAgeMs: 60_000,
      maxPending: 100,
      maxPendingBytes: 1000,
      flush: async (items) => {
        batches.push(items);
        return items.map((x) => x * 10);
      },
    });
    const results = await Promise.all([seq.add(1, 1), seq.add(2, 1), seq.add(3, 1)]);
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('flushes a lone item after the age limit', async () => {
    const seq = new Sequencer<string, string>({
      maxBatch: 100,
      maxAgeMs: 5,
      maxPending: 100,
      maxPendingBytes: 1000,
      flush: async (items) => items.map((s) => s.toUpperCase()),
    });
    await expect(seq.add('a', 1)).resolves.toBe('A');
  });

  it('runs one flush at a time and sends what arrived meanwhile as the next batch', async () => {
    const gate = deferred();
    const batches: number[][] = [];
    let running = 0;
    let maxRunning = 0;
    const seq = new Sequencer<number, number>({
      maxBatch: 2,
      maxAgeMs: 1,
      maxPending: 100,
      maxPendingBytes: 1000,
      flush: async (items) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        batches.push(items);
        if (batches.length === 1) await gate.promise;
        running--;
        return items;
      },
    });
    const first = [seq.add(1, 1), seq.add(2, 1)];
    const later = [seq.add(3, 1), seq.add(4, 1), seq.add(5, 1)];
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([[1, 2]]);
    gate.resolve();
    expect(await Promise.all([...first, ...later])).toEqual([1, 2, 3, 4, 5]);
    expect(maxRunning).toBe(1);
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5]);
  });

  it('pushes back when the queue is full, by count or by bytes', async () => {
    const gate = deferred();
    const seq = new Sequencer<number, number>({
      maxBatch: 1,
      maxAgeMs: 0,
      maxPending: 2,
      maxPendingBytes: 100,
      flush: async (items) => {
        await gate.promise;
        return items;
      },
    });
    const inFlight = seq.add(0, 1); // taken by the first flush
    await new Promise((r) => setTimeout(r, 5));
    const a = seq.add(1, 1);
    const b = seq.add(2, 1);
    expect(() => seq.add(3, 1)).toThrow(expect.objectContaining({ code: 'PUSHBACK' }));
    gate.resolve();
    await Promise.all([inFlight, a, b]);
    const big = new Sequencer<number, number>({
      maxBatch: 10,
      maxAgeMs: 1,
      maxPending: 10,
      maxPendingBytes: 100,
      flush: async (items) => items,
    });
    expect(() => big.add(1, 101)).toThrow(expect.objectContaining({ code: 'PUSHBACK' }));
    expect(() => big.addMany([1, 2], [60, 60])).toThrow(expect.objectContaining({ code: 'PUSHBACK' }));
    expect(big.depth).toBe(0); // nothing of the refused group was queued
  });

  it('rejects every item of a failed batch and keeps working afterwards', async () => {
    let fail = true;
    const seq = new Sequencer<number, number>({
      maxBatch: 2,
      maxAgeMs: 1,
      maxPending: 10,
      maxPendingBytes: 100,
      flush: async (items) => {
        if (fail) {
          fail = false;
          throw new Error('disk full');
        }
        return items;
      },
    });
    const results = await Promise.allSettled([seq.add(1, 1), seq.add(2, 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(seq.add(3, 1)).resolves.toBe(3);
  });

  it('drains on close and refuses new items after', async () => {
    const seq = new Sequencer<number, number>({
      maxBatch: 100,
      maxAgeMs: 60_000,
      maxPending: 10,
      maxPendingBytes: 100,
      flush: async (items) => items,
    });
    const p = seq.add(7, 1);
    await seq.close();
    await expect(p).resolves.toBe(7);
    let err: unknown;
    try {
      seq.add(8, 1);
    } catch (e) {
      err = e;
    }
    expect(isLogError(err, 'CLOSED')).toBe(true);
  });
});
