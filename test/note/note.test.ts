import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519Signer, ed25519Verifier, generateSignerKey, type Verifier } from '../../src/note/keys.js';
import {
  formatSignatureLine,
  isValidNoteText,
  openNote,
  parseNote,
  signNote,
} from '../../src/note/note.js';
import { toBase64, utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { C2SP, GO } from './vectors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isLogError(err) ? err.code : `non-LogError: ${String(err)}`;
  }
  return 'no error';
}

const GO_NOTE = GO.text + '\n' + GO.line;
const peter = (): Verifier => ed25519Verifier(GO.vkey);
const enoch = (): Verifier => ed25519Verifier(GO.enochVkey);
/** A 68-byte signature line by a key nobody here knows. */
const unknownLine = (name: string, id = 0x01020304, fill = 7): string =>
  formatSignatureLine(name, id, new Uint8Array(64).fill(fill));

describe('interop vectors', () => {
  it('opens the C2SP example note with its vkey', () => {
    const opened = openNote(C2SP.text + '\n' + C2SP.line, [ed25519Verifier(C2SP.vkey)]);
    expect(opened.text).toBe(C2SP.text);
    expect(opened.verified).toHaveLength(1);
    expect(opened.verified[0]).toMatchObject({ name: 'example.com/foo', keyId: 0x530d903a, line: C2SP.line });
    expect(opened.verified[0]!.signature).toHaveLength(64);
    expect(opened.unverified).toEqual([]);
  });

  it('opens the Go note, and re-signing reproduces its signature line byte for byte', () => {
    expect(openNote(GO_NOTE, [peter()]).verified[0]!.line).toBe(GO.line);
    expect(signNote(GO.text, [ed25519Signer(GO.skey)])).toBe(GO_NOTE);
  });

  it('verifies the EnochRoot line and keeps both signers in order', () => {
    const both = GO.text + '\n' + GO.line + GO.enochLine;
    const opened = openNote(both, [enoch(), peter()]);
    expect(opened.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    const onlyEnoch = openNote(both, [enoch()]);
    expect(onlyEnoch.verified.map((s) => s.line)).toEqual([GO.enochLine]);
    expect(onlyEnoch.unverified.map((s) => s.line)).toEqual([GO.line]);
  });

  it('accepts bytes as well as strings, and keeps a leading BOM in the signed text', () => {
    expect(openNote(utf8(GO_NOTE), [peter()]).text).toBe(GO.text);
    const { signerKey, verifierKey } = generateSignerKey('bom.example');
    const note = signNote('\ufeffhello\n', [ed25519Signer(signerKey)]);
    expect(openNote(utf8(note), [ed25519Verifier(verifierKey)]).text).toBe('\ufeffhello\n');
  });
});

describe('parseNote rejects malformed notes', () => {
  const sig = GO.line;
  const many = Array.from({ length: 101 }, (_, i) => unknownLine(`k${i}`)).join('');
  const hundred = Array.from({ length: 100 }, (_, i) => unknownLine(`k${i}`)).join('');
  const b64 = GO.line.slice(GO.line.lastIndexOf(' ') + 1, -1);
  const cases: [string, string | Uint8Array][] = [
    ['missing blank line', GO.text + sig],
    ['no signatures', GO.text + '\n'],
    ['no signatures, blank line only', '\n\n'],
    ['trailing text after signatures', GO.text + '\n' + sig + 'trailing'],
    ['blank line after signatures', GO.text + '\n' + sig + '\n'],
    ['bad base64', GO.text + '\n' + '— PeterNeumann not*base64\n'],
    ['base64 without padding', GO.text + '\n' + `— PeterNeumann ${b64.slice(0, -1)}\n`],
    ['non-canonical base64 padding bits', GO.text + '\n' + `— PeterNeumann ${b64.slice(0, -2)}B=\n`],
    ['empty signature', GO.text + '\n' + '— PeterNeumann \n'],
    ['signature of 4 bytes', GO.text + '\n' + `— PeterNeumann ${toBase64(new Uint8Array(4))}\n`],
    ['CR before LF', GO.text.replace('\n', '\r\n') + '\n' + sig],
    ['CRLF signature line', GO.text + '\n' + sig.replace('\n', '\r\n')],
    ['tab', 'a\tb\n\n' + sig],
    ['NUL', 'a\u0000b\n\n' + sig],
    ['invalid UTF-8', new Uint8Array([...utf8('a'), 0xff, ...utf8('\n\n' + sig)])],
    ['overlong UTF-8', new Uint8Array([...utf8('a'), 0xc0, 0xaf, ...utf8('\n\n' + sig)])],
    ['lone surrogate', 'a\ud800\n\n' + sig],
    ['101 signatures', GO.text + '\n' + many],
    ['text without final newline', GO.text.slice(0, -1) + '\n' + sig.slice(0, -1)],
    ['signature block without final newline', GO.text + '\n' + sig.slice(0, -1)],
    ['line without em dash', GO.text + '\n' + sig.slice(2)],
    ['hyphen instead of em dash', GO.text + '\n' + '-' + sig.slice(1)],
    ['en dash instead of em dash', GO.text + '\n' + '–' + sig.slice(1)],
    ['two spaces after em dash', GO.text + '\n' + sig.replace('— ', '—  ')],
    ['two spaces before signature', GO.text + '\n' + sig.replace(' x08', '  x08')],
    ['trailing space', GO.text + '\n' + sig.replace('\n', ' \n')],
    ['name with space', GO.text + '\n' + sig.replace('PeterNeumann', 'Peter Neumann')],
    ['name with plus', GO.text + '\n' + sig.replace('PeterNeumann', 'Peter+Neumann')],
    ['name with NBSP', GO.text + '\n' + sig.replace('PeterNeumann', 'Peter\u00a0Neumann')],
    ['empty name', GO.text + '\n' + sig.replace('PeterNeumann', '')],
    ['valid line then junk line', GO.text + '\n' + sig + 'junk\n'],
  ];
  it.each(cases)('%s', (_desc, msg) => {
    expect(codeOf(() => parseNote(msg))).toBe('MALFORMED');
    expect(codeOf(() => openNote(msg, [peter()]))).toBe('MALFORMED');
  });

  it('accepts exactly 100 signature lines', () => {
    expect(parseNote(GO.text + '\n' + hundred).signatures).toHaveLength(100);
  });

  it('enforces the size cap in bytes, with an option', () => {
    const big = 'é'.repeat(600) + '\n\n' + sig; // 1200 bytes of text, 600 code units
    expect(parseNote(big).text).toHaveLength(601);
    expect(codeOf(() => parseNote(big, { maxSize: 1000 }))).toBe('MALFORMED');
    expect(codeOf(() => parseNote(utf8(big), { maxSize: 1000 }))).toBe('MALFORMED');
    const huge = 'a'.repeat(1024 * 1024) + '\n\n' + sig;
    expect(codeOf(() => parseNote(huge))).toBe('MALFORMED');
  });

  it('splits at the last blank line, so the text may hold blank lines', () => {
    const text = 'a\n\nb\n\n';
    const note = signNote(text, [ed25519Signer(GO.skey)]);
    expect(openNote(note, [peter()]).text).toBe(text);
  });

  it('allows DEL, non-ASCII text and unusual but valid names', () => {
    const parsed = parseNote('x\u007fé😀\n\n' + unknownLine('DEV:ArmoredWitness-quiet-hill'));
    expect(parsed.signatures[0]).toMatchObject({ name: 'DEV:ArmoredWitness-quiet-hill', keyId: 0x01020304 });
  });
});

describe('openNote semantics (Go note.Open)', () => {
  it('ignores unknown keys, including ones matching only the name or only the ID', () => {
    const note =
      GO.text + '\n' + unknownLine('PeterNeumann', 0x12345678) + unknownLine('Other', 0xc74f20a3) + GO.line;
    const opened = openNote(note, [peter()]);
    expect(opened.verified.map((s) => s.line)).toEqual([GO.line]);
    expect(opened.unverified).toHaveLength(2);
  });

  it('fails the whole note when a known key signature does not verify', () => {
    const bad = formatSignatureLine('PeterNeumann', 0xc74f20a3, new Uint8Array(64));
    expect(codeOf(() => openNote(GO.text + '\n' + bad + GO.enochLine, [peter(), enoch()]))).toBe(
      'BAD_SIGNATURE'
    );
    // A good signature over a different text is also bad.
    expect(codeOf(() => openNote('other\n\n' + GO.line, [peter()]))).toBe('BAD_SIGNATURE');
  });

  it('drops duplicates: later lines by a known key, and repeated unknown lines', () => {
    const bad = formatSignatureLine('PeterNeumann', 0xc74f20a3, new Uint8Array(64));
    const u = unknownLine('someone');
    const opened = openNote(GO.text + '\n' + u + GO.line + GO.line + bad + u, [peter()]);
    expect(opened.verified.map((s) => s.line)).toEqual([GO.line]);
    expect(opened.unverified.map((s) => s.line)).toEqual([u]);
  });

  it('rejects a note no trusted key signed, saying so', () => {
    const note = GO.text + '\n' + GO.enochLine;
    expect(() => openNote(note, [peter()])).toThrow(/not signed by any trusted key/);
    expect(codeOf(() => openNote(note, [peter()]))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => openNote(GO_NOTE, []))).toBe('BAD_SIGNATURE');
  });

  it('errors on ambiguous verifiers only when the note uses that key', () => {
    expect(openNote(GO_NOTE, [peter(), enoch(), enoch()]).verified).toHaveLength(1);
    expect(() => openNote(GO_NOTE, [peter(), peter()])).toThrow(/ambiguous/);
  });
});

describe('signNote semantics (Go note.Sign)', () => {
  const { signerKey: k1, verifierKey: v1 } = generateSignerKey('one.example');
  const { signerKey: k2 } = generateSignerKey('two.example');

  it('keeps existing lines, replaces those of a new signer with the same key, appends new lines in order', () => {
    const first = signNote(GO.text, [ed25519Signer(GO.skey)]);
    const existing = parseNote(first + GO.enochLine).signatures;
    const note = signNote(GO.text, [ed25519Signer(k2), ed25519Signer(GO.skey), ed25519Signer(k1)], existing);
    const lines = parseNote(note).signatures.map((s) => s.name);
    expect(lines).toEqual(['EnochRoot', 'two.example', 'PeterNeumann', 'one.example']);
    expect(openNote(note, [ed25519Verifier(v1)]).verified).toHaveLength(1);
  });

  it('appends a new signer after the existing lines (witness pattern)', () => {
    const existing = parseNote(GO_NOTE).signatures;
    const note = signNote(GO.text, [ed25519Signer(k1)], existing);
    expect(note.startsWith(GO_NOTE)).toBe(true);
  });

  it.each([
    ['empty text', ''],
    ['no final newline', 'abc'],
    ['CR', 'a\r\n'],
    ['control character', 'a\u0001\n'],
    ['lone surrogate', 'a\udc00\n'],
  ])('rejects text with %s', (_desc, text) => {
    expect(codeOf(() => signNote(text, [ed25519Signer(GO.skey)]))).toBe('MALFORMED');
    expect(isValidNoteText(text)).toBe(false);
  });

  it('rejects a signer with an invalid name and an empty signer list', () => {
    const bad = { name: 'a b', keyId: 1, sign: () => new Uint8Array(64) };
    expect(() => signNote('x\n', [bad])).toThrow(TypeError);
    expect(() => signNote('x\n', [])).toThrow(TypeError);
  });

  it('formats signature lines and validates their fields', () => {
    expect(formatSignatureLine('n', 0xc74f20a3, Uint8Array.of(1))).toBe('— n x08gowE=\n');
    expect(codeOf(() => formatSignatureLine('a b', 1, Uint8Array.of(1)))).toBe('MALFORMED');
    expect(() => formatSignatureLine('n', 2 ** 32, Uint8Array.of(1))).toThrow(TypeError);
    expect(() => formatSignatureLine('n', 1, new Uint8Array(0))).toThrow(TypeError);
  });
});

describe('properties', () => {
  const line = fc
    .string({ unit: 'grapheme', maxLength: 40 })
    .filter((s) => isValidNoteText(s + '\n') && !s.includes('\n'));
  const text = fc.array(line, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('\n') + '\n');
  const name = fc
    .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 })
    .filter((s) => /^[!-*,-~]+$/.test(s));
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('sign → open round-trips any valid text for any key', () => {
    fc.assert(
      fc.property(text, name, seed, (t, n, s) => {
        const { signerKey, verifierKey } = generateSignerKey(n, s);
        const note = signNote(t, [ed25519Signer(signerKey)]);
        const opened = openNote(note, [ed25519Verifier(verifierKey)]);
        expect(opened.text).toBe(t);
        expect(opened.verified).toHaveLength(1);
        expect(openNote(utf8(note), [ed25519Verifier(verifierKey)]).text).toBe(t);
      }),
      { numRuns: 150 }
    );
  });

  it('parse → re-sign with no new signers is the identity on parsed notes', () => {
    fc.assert(
      fc.property(text, fc.array(name, { minLength: 1, maxLength: 4 }), (t, names) => {
        const note = t + '\n' + names.map((n, i) => unknownLine(n, i, i)).join('');
        const parsed = parseNote(note);
        expect(signNote(parsed.text, [], parsed.signatures)).toBe(note);
      })
    );
  });
});
