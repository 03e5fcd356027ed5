/**
 * Strict JSON (RFC 8259) for signed governance records, and a deterministic serializer.
 *
 * JSON.parse keeps the last of two equal keys, accepts lone surrogate escapes and has no
 * depth bound. A signed statement read one way here and another way by Go or Python
 * (`{"environment":"staging","environment":"prod"}`) would let one signature mean two
 * things, so parseStrictJson rejects duplicate keys, lone surrogates (escaped or not),
 * a byte-order mark, non-finite numbers and nesting deeper than `maxDepth`. Object keys
 * such as `__proto__` become plain own properties.
 *
 * stableStringify writes keys sorted by UTF-16 code units with JSON.stringify's string
 * and number forms, which for the values candor produces (strings, safe integers,
 * booleans, null, arrays, objects) is RFC 8785 (JCS): the same value always gives the
 * same bytes, whatever order its keys were built in.
 */
import { LogError } from '../util/errors.js';

/** Deepest nesting of arrays and objects parseStrictJson accepts by default. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A run of string characters that need no check: no quote, backslash, control or surrogate. */
// eslint-disable-next-line no-control-regex
const PLAIN_RUN = /[^"\\\x00-\x1f\ud800-\udfff]+/y;

class Parser {
  private i = 0;

  constructor(
    private readonly s: string,
    private readonly what: string,
    private readonly maxDepth: number
  ) {}

  fail(why: string): never {
    throw new LogError('MALFORMED', `${this.what}: ${why} at offset ${this.i}`);
  }

  ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else return;
    }
  }

  document(): unknown {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing characters after the JSON value');
    return v;
  }

  value(depth: number): unknown {
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      if (depth >= this.maxDepth) this.fail(`nested deeper than ${this.maxDepth}`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"') return this.string();
    if (c === 't' || c === 'f' || c === 'n') return this.literal();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    return this.fail(c === undefined ? 'unexpected end of input' : 'unexpected character');
  }

  object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('expected a string key');
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected ":"');
      this.i++;
      this.ws();
      // defineProperty: a "__proto__" key is data, never the prototype.
      const value = this.value(depth);
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected "," or "}"');
      this.ws();
    }
  }

  array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected "," or "]"');
      this.ws();
    }
  }

  string(): string {
    let out = '';
    let start = ++this.i;
    for (;;) {
      // Skip a run of plain characters in one regex step (a batch body is megabytes of
      // base64 strings; a character loop is several times slower than JSON.parse).
      PLAIN_RUN.lastIndex = this.i;
      if (PLAIN_RUN.test(this.s)) this.i = PLAIN_RUN.lastIndex;
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) {
        out += this.s.slice(start, this.i++);
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = this.s.charCodeAt(this.i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) this.fail('lone surrogate');
        this.i += 2;
        continue;
      }
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(start, this.i);
      out += this.escape();
      start = this.i;
    }
  }

  // One escape sequence (the backslash at this.i); a surrogate pair takes two \u escapes.
  escape(): string {
    const e = this.s[this.i + 1];
    const simple: Record<string, string> = {
      '"': '"',
      '\\': '\\',
      '/': '/',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
    };
    if (e !== undefined && e !== 'u' && simple[e] !== undefined) {
      this.i += 2;
      return simple[e];
    }
    if (e !== 'u') this.fail('bad escape');
    const hi = this.hex4(this.i + 2);
    this.i += 6;
    if (hi < 0xd800 || hi > 0xdfff) return String.fromCharCode(hi);
    if (hi > 0xdbff || this.s.slice(this.i, this.i + 2) !== '\\u') this.fail('lone surrogate');
    const lo = this.hex4(this.i + 2);
    if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone surrogate');
    this.i += 6;
    return String.fromCharCode(hi, lo);
  }

  hex4(at: number): number {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
    return parseInt(h, 16);
  }

  literal(): boolean | null {
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail('unexpected character');
  }

  number(): number {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i));
    if (m === null) return this.fail('bad number');
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    this.i += m[0].length;
    return n;
  }
}

/**
 * Parses JSON strictly (see the module comment). Bytes must be valid UTF-8 without a BOM.
 * @throws LogError MALFORMED naming `what`, the problem and its offset.
 * @example
 * parseStrictJson(utf8('{"a":1,"a":2}'), 'statement'); // throws: duplicate key "a"
 */
export function parseStrictJson(
  input: Uint8Array | string,
  what = 'JSON',
  maxDepth = DEFAULT_MAX_JSON_DEPTH
): unknown {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = strictUtf8.decode(input);
    } catch {
      throw new LogError('MALFORMED', `${what}: not valid UTF-8`);
    }
  }
  return new Parser(text, what, maxDepth).document();
}

/**
 * Serializes `value` deterministically (see the module comment): object keys sorted,
 * no white space, `undefined` properties left out.
 * @throws TypeError on a non-finite number, a function, a symbol or a bigint.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('stableStringify: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v)).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const parts = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`);
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`stableStringify: cannot serialize a ${typeof value}`);
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
