import { describe, expect, it } from 'vitest';
import * as codec from '../../src/storage/codec.js';
import type { LogMeta, StoredCheckpoint } from '../../src/storage/store.js';
import { isLogError } from '../../src/util/errors.js';

const cp: StoredCheckpoint = {
  size: 2 ** 53 - 1,
  rootHash: new Uint8Array(32).fill(7),
  note: 'example.com/log\n9007199254740991\nBwcH\n\n— example.com/log AAAA\n',
  timestamp: 1_700_000_000_123,
};

function expectCorrupt(f: () => unknown, what: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isLogError(err, 'CORRUPT'), what).toBe(true);
}

/** Replaces bytes[at] with `b`. */
function patched(bytes: Uint8Array, at: number, b: number): Uint8Array {
  const out = bytes.slice();
  out[at] = b;
  return out;
}

describe('codec', () => {
  it('round-trips checkpoints, meta and dedup values', () => {
    const back = codec.decodeCheckpoint(codec.encodeCheckpoint(cp));
    expect(back).toEqual(cp);
    expect(back.rootHash.constructor).toBe(Uint8Array); // not a Buffer sharing the record
    const meta = { origin: 'example.com/log', verifierKey: 'example.com/log+0a0b0c0d+AQID' };
    expect(codec.decodeMeta(codec.encodeMeta(meta))).toEqual(meta);
    for (const n of [0, 1, 127, 128, 255, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      expect(codec.decodeIndex(codec.encodeIndex(n))).toBe(n);
    }
  });

  it('packs uint32 indices exactly as encodeIndex writes them', () => {
    for (const n of [65_536, 65_537, 16_777_215, 16_777_216, 2 ** 31, 2 ** 32 - 1]) {
      const out = new Uint8Array(7).fill(9);
      codec.writeUint32Index(out, 1, n);
      expect(out.subarray(1, 6)).toEqual(codec.encodeIndex(n));
      expect([out[0], out[6]]).toEqual([9, 9]);
    }
  });

  it('writes standard msgpack maps with a version tag, not msgpackr records', () => {
    const bytes = codec.encodeMeta({ origin: 'o', verifierKey: 'k' });
    const str = (s: string): number[] => [0xa0 + s.length, ...[...s].map((c) => c.charCodeAt(0))];
    // fixmap of 3: "v" => 1, "origin" => "o", "verifierKey" => "k"
    const want = [0x83, ...str('v'), 0x01, ...str('origin'), ...str('o')];
    expect([...bytes]).toEqual([...want, ...str('verifierKey'), ...str('k')]);
    expect(codec.encodeCheckpoint(cp)[0]).toBe(0x85);
  });

  it('rejects bytes that are not one msgpack value with CORRUPT', () => {
    const good = codec.encodeMeta({ origin: 'o', verifierKey: 'k' });
    expectCorrupt(() => codec.decodeMeta(new Uint8Array(0)), 'empty');
    expectCorrupt(() => codec.decodeMeta(good.subarray(0, good.length - 1)), 'truncated');
    expectCorrupt(() => codec.decodeMeta(Uint8Array.of(...good, 0)), 'trailing byte');
    expectCorrupt(() => codec.decodeMeta(Uint8Array.of(0xc1)), 'reserved byte');
    expectCorrupt(() => codec.decodeIndex(Uint8Array.of(0xc1)), 'reserved byte, index');
  });

  it('rejects wrong versions and shapes with CORRUPT', () => {
    const meta = codec.encodeMeta({ origin: 'o', verifierKey: 'k' });
    expectCorrupt(() => codec.decodeMeta(patched(meta, 3, 0x02)), 'version 2');
    expectCorrupt(() => codec.decodeMeta(patched(meta, 3, 0xc0)), 'version nil');
    const extra = Uint8Array.of(0x84, ...meta.subarray(1), 0xa1, 0x78, 0x00); // + "x" => 0
    expectCorrupt(() => codec.decodeMeta(extra), 'extra field');
    const missing = Uint8Array.of(0x82, ...meta.subarray(1, meta.length - 14)); // - verifierKey
    expectCorrupt(() => codec.decodeMeta(missing), 'missing field');
    const array = Uint8Array.of(0x93, 0x01, 0xa1, 0x6f, 0xa1, 0x6b); // [1, "o", "k"]
    expectCorrupt(() => codec.decodeMeta(array), 'array');
    expectCorrupt(() => codec.decodeMeta(codec.encodeIndex(1)), 'number');
    expectCorrupt(() => codec.decodeCheckpoint(meta), 'meta as a checkpoint');
    expectCorrupt(() => codec.decodeMeta(codec.encodeCheckpoint(cp)), 'checkpoint as meta');
  });

  it('rejects fields of the wrong type or range with CORRUPT', () => {
    const bad: [string, Record<string, unknown>][] = [
      ['negative size', { size: -1 }],
      ['fractional size', { size: 1.5 }],
      ['size past 2^53 - 1', { size: 2 ** 53 }],
      ['string size', { size: '1' }],
      ['short root', { rootHash: new Uint8Array(31) }],
      ['string root', { rootHash: 'AAAA' }],
      ['numeric note', { note: 5 }],
      ['fractional timestamp', { timestamp: 0.5 }],
    ];
    for (const [what, change] of bad) {
      const bytes = codec.encodeCheckpoint({ ...cp, ...change } as unknown as StoredCheckpoint);
      expectCorrupt(() => codec.decodeCheckpoint(bytes), what);
    }
    const meta = { origin: 'o', verifierKey: 7 } as unknown as LogMeta;
    expectCorrupt(() => codec.decodeMeta(codec.encodeMeta(meta)), 'numeric verifierKey');
    for (const v of [-1, 1.5, 2 ** 53]) {
      expectCorrupt(() => codec.decodeIndex(codec.encodeIndex(v)), `index ${v}`);
    }
    const map = codec.encodeMeta({ origin: 'o', verifierKey: 'k' });
    expectCorrupt(() => codec.decodeIndex(map), 'map');
  });
});
