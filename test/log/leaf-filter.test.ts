import { describe, expect, it } from 'vitest';
import { LeafFilter } from '../../src/log/leaf-filter.js';
import { leafHash } from '../../src/merkle/hash.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { openTestLog, makeEntry } from '../helpers/test-log.js';

describe('LeafFilter', () => {
  it('says "maybe" for everything until ready, then never "no" for an added hash', () => {
    const f = new LeafFilter(1024);
    const added = Array.from({ length: 200 }, (_, i) => leafHash(makeEntry(i)));
    const others = Array.from({ length: 200 }, (_, i) => leafHash(makeEntry(1000 + i)));
    for (const h of added) f.add(h);
    expect(others.every((h) => f.mightContain(h))).toBe(true);
    f.markReady();
    expect(added.every((h) => f.mightContain(h))).toBe(true);
    // 200 hashes in 8192 bits with 7 positions each: false positives are rare.
    expect(others.filter((h) => f.mightContain(h)).length).toBeLessThan(10);
  });

  it('refuses sizes that are not powers of two from 1 KiB', () => {
    expect(() => new LeafFilter(1000)).toThrow();
    expect(() => new LeafFilter(512)).toThrow();
  });

  it('finds entries logged before a reopen as duplicates, with or without the filter', async () => {
    for (const leafFilterBytes of [1024, 0]) {
      const store = new MemoryStore();
      const { log } = await openTestLog(store, { leafFilterBytes });
      await log.addMany(Array.from({ length: 300 }, (_, i) => makeEntry(i)));
      await log.drain();
      const { log: again } = await openTestLog(store, { leafFilterBytes });
      await new Promise((r) => setTimeout(r, 20)); // the filter fills from the tiles meanwhile
      const r = await again.addMany([makeEntry(7), makeEntry(299), makeEntry(300)]);
      expect(r.map((x) => [x.index, x.duplicate])).toEqual([[7, true], [299, true], [300, false]]);
      await again.drain();
    }
  });
});
