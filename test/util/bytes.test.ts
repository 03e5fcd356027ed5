import { describe, expect, it } from 'vitest';
import { base64Into, base64Length, fromBase64, toBase64 } from '../../src/util/bytes.js';

describe('base64', () => {
  it('base64Into writes the same text as toBase64 and Node, for every length to 100', () => {
    for (let n = 0; n <= 100; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 97 + n * 13 + 255) % 256);
      const out = new Uint8Array(base64Length(n) + 4).fill(0x2a);
      const end = base64Into(bytes, out, 2);
      const text = new TextDecoder().decode(out.subarray(2, end));
      expect(end).toBe(2 + base64Length(n));
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(text).toBe(toBase64(bytes));
      expect(fromBase64(text)).toEqual(bytes);
      // Nothing outside its span is touched.
      expect([out[0], out[1], out[end], out[end + 1]]).toEqual([0x2a, 0x2a, 0x2a, 0x2a]);
    }
  });

  it('covers the whole alphabet', () => {
    const bytes = new Uint8Array(48);
    // 0x00 0x10 0x83 0x10 0x51 0x87 ... : consecutive 6-bit groups 0, 1, 2, ..., 63.
    let acc = 0n;
    for (let v = 0; v < 64; v++) acc = acc * 64n + BigInt(v);
    for (let i = 47; i >= 0; i--) {
      bytes[i] = Number(acc % 256n);
      acc /= 256n;
    }
    const out = new Uint8Array(64);
    base64Into(bytes, out, 0);
    expect(new TextDecoder().decode(out)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  });
});
