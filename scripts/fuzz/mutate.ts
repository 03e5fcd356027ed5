/**
 * The input generator of the fuzzers: a seeded PRNG and a mutator that turns valid
 * examples (seeds) into near-valid and invalid inputs. Everything is a function of the
 * seed, so a campaign, and any input it made, is reproduced by running it again.
 *
 * Mutations: bit flips, byte replacements (random and "interesting" bytes), insertions
 * (random bytes and dictionary tokens: syntax characters, boundary numbers, unicode edge
 * cases), deletions, truncations, duplications, splices of two seeds, replacement of a
 * number by a boundary number, and rare huge inputs (a chunk repeated up to ~1.1 MiB).
 */

/** A small, fast, seeded PRNG (xorshift128+ over two 32-bit halves; not for secrets). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 to spread a small seed over the state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }

  /** A uniform 32-bit unsigned integer (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** True with probability 1/n. */
  oneIn(n: number): boolean {
    return this.int(n) === 0;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The generator seed of a target: the campaign seed mixed with the target's name (FNV-1a). */
export function targetSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const enc = new TextEncoder();

/** Tokens every target's inputs get: syntax, boundary numbers and unicode edge cases. */
export const COMMON_TOKENS: readonly string[] = [
  '\n', '\n\n', '\r\n', '\t', ' ', '\u0000', '\u007f', '\u00a0', '\ufeff', '\u2028', '\u2014 ', '— ',
  '😀', '\u0301', 'é', '\uffff', 'Ω', '/', '+', '=', '-', '.', ':', ',', ';', '"', "'", '\\', '%', '%00',
  '%2F', '%30', '&', '?', '#', '{', '}', '[', ']', '{}', '[]', 'null', 'true', 'false', '""',
  '0', '-0', '00', '01', '1', '-1', '1e308', '1e309', '-1e309', '0.5', '1.0', '1e2', 'NaN', 'Infinity',
  '255', '256', '65535', '65536', '2147483647', '2147483648', '4294967295', '4294967296',
  '9007199254740991', '9007199254740992', '9007199254740993', '18446744073709551615',
  '18446744073709551616', '99999999999999999999999999', 'x000/', 'x999/', '000', '.p/', '.p/256',
  '__proto__', 'constructor', 'prototype', 'AAAA', 'AA==', 'A===', '====', '+/+/', '-_',
];

/** Bytes that are not UTF-8, or are UTF-8 of lone surrogates or overlong forms. */
const BAD_UTF8: readonly (readonly number[])[] = [
  [0xff], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xc3], [0xe2, 0x82],
];

const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x2b, 0x2d, 0x2f, 0x30, 0x39, 0x3d, 0x5c, 0x7f, 0x80, 0xff];

const BOUNDARY_NUMBERS = [
  '0', '1', '-1', '255', '256', '65535', '65536', '4294967296', '9007199254740991', '9007199254740992',
  '18446744073709551616', '1e400', '00', '007',
];

/** The most bytes one mutated input may grow to (a "huge" input is at most this). */
export const MAX_INPUT = 1_200_000;

/** Makes inputs for one target from its seeds and dictionary. */
export class Mutator {
  private readonly tokens: Uint8Array[];

  constructor(
    private readonly rng: Rng,
    private readonly seeds: readonly Uint8Array[],
    dictionary: readonly string[] = []
  ) {
    if (seeds.length === 0) throw new Error('a fuzz target needs at least one seed');
    this.tokens = [...dictionary, ...dictionary, ...COMMON_TOKENS].map((t) => enc.encode(t));
    for (const b of BAD_UTF8) this.tokens.push(Uint8Array.from(b));
  }

  /** The next input: a seed as is (rarely), random bytes or tokens (rarely), or mutated. */
  next(): Uint8Array {
    const r = this.rng;
    const roll = r.int(100);
    if (roll === 0) return this.seeds[r.int(this.seeds.length)]!;
    if (roll === 1) return this.randomBytes(r.int(64));
    if (roll === 2) return this.tokenSoup();
    let out = this.seeds[r.int(this.seeds.length)]!;
    const rounds = 1 + (r.oneIn(3) ? r.int(8) : 0);
    for (let k = 0; k < rounds; k++) out = this.mutate(out);
    if (r.oneIn(4000)) out = this.huge(out);
    return out;
  }

  private randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.rng.int(256);
    return out;
  }

  private tokenSoup(): Uint8Array {
    const parts: Uint8Array[] = [];
    const n = 1 + this.rng.int(24);
    for (let i = 0; i < n; i++) parts.push(this.rng.pick(this.tokens));
    return concat(parts);
  }

  private huge(input: Uint8Array): Uint8Array {
    const r = this.rng;
    const at = r.int(input.length + 1);
    const len = Math.max(1, Math.min(input.length - at, 1 + r.int(64)));
    const chunk = input.length === 0 ? Uint8Array.of(0x41) : input.slice(Math.min(at, input.length - 1), at + len);
    const target = r.pick([65_536, 65_537, 1_048_576, 1_048_577, 16 * 1024 + r.int(1024), 70_000 + r.int(MAX_INPUT - 70_000)]);
    const reps = Math.max(1, Math.floor(target / Math.max(1, chunk.length)));
    const middle = new Uint8Array(Math.min(MAX_INPUT, reps * chunk.length));
    for (let off = 0; off + chunk.length <= middle.length; off += chunk.length) middle.set(chunk, off);
    return clip(concat([input.subarray(0, at), middle, input.subarray(at)]));
  }

  /** One mutation of `input` (never modifies it). */
  mutate(input: Uint8Array): Uint8Array {
    const r = this.rng;
    const n = input.length;
    const pos = r.int(n + 1);
    switch (r.int(13)) {
      case 0: {
        if (n === 0) return this.randomBytes(1);
        const out = input.slice();
        const i = r.int(n);
        out[i] = out[i]! ^ (1 << r.int(8));
        return out;
      }
      case 1: {
        if (n === 0) return this.randomBytes(1);
        const out = input.slice();
        out[r.int(n)] = r.oneIn(2) ? r.int(256) : r.pick(INTERESTING_BYTES);
        return out;
      }
      case 2:
        return clip(concat([input.subarray(0, pos), this.randomBytes(1 + r.int(8)), input.subarray(pos)]));
      case 3:
      case 4:
        return clip(concat([input.subarray(0, pos), r.pick(this.tokens), input.subarray(pos)]));
      case 5: {
        const len = 1 + r.int(Math.min(n - pos, 16) + 1);
        return concat([input.subarray(0, pos), input.subarray(Math.min(n, pos + len))]);
      }
      case 6:
        return input.slice(0, pos);
      case 7: {
        // Duplicate a range (repeated lines, keys, signatures).
        const len = r.int(Math.min(n - pos, 128) + 1);
        const chunk = input.subarray(pos, pos + len);
        const reps = 1 + (r.oneIn(8) ? r.int(200) : r.int(3));
        const parts: Uint8Array[] = [input.subarray(0, pos + len)];
        for (let i = 0; i < reps; i++) parts.push(chunk);
        parts.push(input.subarray(pos + len));
        return clip(concat(parts));
      }
      case 8: {
        // Splice: a prefix of this input and a suffix of another seed.
        const other = this.seeds[r.int(this.seeds.length)]!;
        return clip(concat([input.subarray(0, pos), other.subarray(r.int(other.length + 1))]));
      }
      case 9:
        return this.replaceNumber(input);
      case 10: {
        // Replace a token already in the input by another token.
        const tok = r.pick(this.tokens);
        const len = r.int(Math.min(n - pos, 8) + 1);
        return clip(concat([input.subarray(0, pos), tok, input.subarray(pos + len)]));
      }
      case 11: {
        // Swap two lines.
        const text = input;
        const lines: Uint8Array[] = [];
        let start = 0;
        for (let i = 0; i < text.length; i++) {
          if (text[i] === 0x0a) {
            lines.push(text.subarray(start, i + 1));
            start = i + 1;
          }
        }
        lines.push(text.subarray(start));
        if (lines.length < 2) return this.mutate(input);
        const i = r.int(lines.length);
        const j = r.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        return concat(lines);
      }
      default: {
        // Insert bytes that are not UTF-8 (or encode lone surrogates).
        const bad = Uint8Array.from(r.pick(BAD_UTF8));
        return clip(concat([input.subarray(0, pos), bad, input.subarray(pos)]));
      }
    }
  }

  private replaceNumber(input: Uint8Array): Uint8Array {
    const r = this.rng;
    const starts: number[] = [];
    for (let i = 0; i < input.length; i++) {
      const d = input[i]! >= 0x30 && input[i]! <= 0x39;
      const prev = i > 0 && input[i - 1]! >= 0x30 && input[i - 1]! <= 0x39;
      if (d && !prev) starts.push(i);
    }
    if (starts.length === 0) return this.mutate(input);
    const s = r.pick(starts);
    let e = s;
    while (e < input.length && input[e]! >= 0x30 && input[e]! <= 0x39) e++;
    return concat([input.subarray(0, s), enc.encode(r.pick(BOUNDARY_NUMBERS)), input.subarray(e)]);
  }
}

function clip(b: Uint8Array): Uint8Array {
  return b.length > MAX_INPUT ? b.subarray(0, MAX_INPUT) : b;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
