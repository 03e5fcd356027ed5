import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
} from '../../src/checkpoint/checkpoint.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { ed25519Signer, ed25519Verifier, formatVerifierKey, generateSignerKey } from '../../src/note/keys.js';
import { signNote } from '../../src/note/note.js';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { GO, LOG, SIGSUM } from '../note/vectors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isLogError(err) ? err.code : `non-LogError: ${String(err)}`;
  }
  return 'no error';
}

const ROOT = LOG.rootBase64;
const LOG_NOTE = LOG.text + '\n' + LOG.line;

describe('interop vectors', () => {
  it('derives the Sigsum vkey from its public key and verifies both Sigsum checkpoints', () => {
    expect(formatVerifierKey(SIGSUM.origin, 1, fromHex(SIGSUM.publicKeyHex))).toBe(SIGSUM.vkey);
    const verifier = ed25519Verifier(SIGSUM.vkey);
    for (const { size, text, line } of SIGSUM.notes) {
      const { checkpoint } = openCheckpoint(text + '\n' + line, verifier, { origin: SIGSUM.origin });
      expect(checkpoint.size).toBe(size);
      expect(checkpoint.origin).toBe(SIGSUM.origin);
    }
  });

  it('re-signs the §8.2 log checkpoint byte for byte', () => {
    const text = formatCheckpoint({ origin: LOG.origin, size: LOG.size, rootHash: fromBase64(ROOT) });
    expect(text).toBe(LOG.text);
    expect(signNote(text, [ed25519Signer(LOG.skey)])).toBe(LOG_NOTE);
    expect(toHex(ed25519PublicKey(fromHex(GO.seedHex)))).toBe(GO.publicKeyHex);
  });

  it('opens the §8.2 checkpoint and reports its fields', () => {
    const { checkpoint, note } = openCheckpoint(utf8(LOG_NOTE), ed25519Verifier(LOG.vkey), {
      origin: LOG.origin,
    });
    expect(checkpoint).toEqual({
      origin: LOG.origin,
      size: 8,
      rootHash: fromBase64(ROOT),
      extensions: [],
    });
    expect(note.verified[0]!.line).toBe(LOG.line);
  });
});

describe('openCheckpoint', () => {
  it('throws UNKNOWN_LOG for an unexpected origin, before checking signatures', () => {
    expect(codeOf(() => openCheckpoint(LOG_NOTE, ed25519Verifier(LOG.vkey), { origin: 'x' }))).toBe(
      'UNKNOWN_LOG'
    );
    expect(codeOf(() => openCheckpoint(LOG_NOTE, ed25519Verifier(GO.vkey), { origin: 'x' }))).toBe(
      'UNKNOWN_LOG'
    );
  });

  it('throws BAD_SIGNATURE when the log key did not sign', () => {
    expect(codeOf(() => openCheckpoint(LOG_NOTE, ed25519Verifier(GO.vkey)))).toBe('BAD_SIGNATURE');
    const forged = LOG_NOTE.replace('\n8\n', '\n9\n');
    expect(codeOf(() => openCheckpoint(forged, ed25519Verifier(LOG.vkey)))).toBe('BAD_SIGNATURE');
  });

  it('throws MALFORMED when the signed text is not a checkpoint', () => {
    const note = signNote('just text\n', [ed25519Signer(LOG.skey)]);
    expect(codeOf(() => openCheckpoint(note, ed25519Verifier(LOG.vkey)))).toBe('MALFORMED');
  });

  it('passes allowExtensions through', () => {
    const note = signNote(LOG.text + 'ext\n', [ed25519Signer(LOG.skey)]);
    expect(codeOf(() => openCheckpoint(note, ed25519Verifier(LOG.vkey)))).toBe('MALFORMED');
    const { checkpoint } = openCheckpoint(note, ed25519Verifier(LOG.vkey), { allowExtensions: true });
    expect(checkpoint.extensions).toEqual(['ext']);
  });
});

describe('parseCheckpoint is strict', () => {
  const o = 'example.com/log';
  const root31 = toBase64(new Uint8Array(31));
  const root33 = toBase64(new Uint8Array(33));
  const cases: [string, string][] = [
    ['leading zero in size', `${o}\n08\n${ROOT}\n`],
    ['zero written as 00', `${o}\n00\n${ROOT}\n`],
    ['plus sign on size', `${o}\n+8\n${ROOT}\n`],
    ['minus sign on size', `${o}\n-8\n${ROOT}\n`],
    ['empty size', `${o}\n\n${ROOT}\n`],
    ['size with space', `${o}\n 8\n${ROOT}\n`],
    ['size in hex', `${o}\n0x8\n${ROOT}\n`],
    ['size with exponent', `${o}\n8e0\n${ROOT}\n`],
    ['size 2^53', `${o}\n9007199254740992\n${ROOT}\n`],
    ['size 2^63 - 1', `${o}\n9223372036854775807\n${ROOT}\n`],
    ['31-byte root', `${o}\n8\n${root31}\n`],
    ['33-byte root', `${o}\n8\n${root33}\n`],
    ['unpadded root', `${o}\n8\n${ROOT.slice(0, -1)}\n`],
    ['non-canonical root padding bits', `${o}\n8\n${ROOT.slice(0, -2)}h=\n`],
    ['hex root', `${o}\n8\n${'00'.repeat(32)}\n`],
    ['missing final newline', `${o}\n8\n${ROOT}`],
    ['only two lines', `${o}\n8\n`],
    ['empty origin', `\n8\n${ROOT}\n`],
    ['origin with leading space', ` ${o}\n8\n${ROOT}\n`],
    ['origin with trailing space', `${o} \n8\n${ROOT}\n`],
    ['CR in origin', `${o}\r\n8\n${ROOT}\n`],
    ['extension line (default)', `${o}\n8\n${ROOT}\next\n`],
    ['empty extension line, even when allowed', `${o}\n8\n${ROOT}\n\n`],
  ];
  it.each(cases)('rejects %s', (desc, text) => {
    const allowExtensions = desc.includes('even when allowed');
    expect(codeOf(() => parseCheckpoint(text, { allowExtensions }))).toBe('MALFORMED');
  });

  it('accepts extension lines only with the option', () => {
    const text = `${o}\n8\n${ROOT}\nfirst ext\nsecond\n`;
    expect(codeOf(() => parseCheckpoint(text))).toBe('MALFORMED');
    expect(parseCheckpoint(text, { allowExtensions: true }).extensions).toEqual(['first ext', 'second']);
  });

  it('accepts size 0, size 2^53 - 1 and origins with interior spaces (sumdb)', () => {
    expect(parseCheckpoint(`${o}\n0\n${ROOT}\n`).size).toBe(0);
    expect(parseCheckpoint(`${o}\n9007199254740991\n${ROOT}\n`).size).toBe(2 ** 53 - 1);
    expect(parseCheckpoint(`go.sum database tree\n1\n${ROOT}\n`).origin).toBe('go.sum database tree');
  });
});

describe('formatCheckpoint', () => {
  it.each([
    ['empty origin', { origin: '', size: 1, rootHash: new Uint8Array(32) }],
    ['multi-line origin', { origin: 'a\nb', size: 1, rootHash: new Uint8Array(32) }],
    ['origin with trailing space', { origin: 'a ', size: 1, rootHash: new Uint8Array(32) }],
    ['negative size', { origin: 'a', size: -1, rootHash: new Uint8Array(32) }],
    ['fractional size', { origin: 'a', size: 1.5, rootHash: new Uint8Array(32) }],
    ['size 2^53', { origin: 'a', size: 2 ** 53, rootHash: new Uint8Array(32) }],
    ['short root', { origin: 'a', size: 1, rootHash: new Uint8Array(31) }],
  ])('rejects %s', (_desc, cp) => {
    expect(() => formatCheckpoint(cp)).toThrow(TypeError);
  });

  it('round-trips through parseCheckpoint (property)', () => {
    const origin = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((s) => s.trim() === s && s !== '' && !/[\p{White_Space}\p{Cc}\p{Cs}]/u.test(s));
    fc.assert(
      fc.property(
        origin,
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (o2, size, rootHash) => {
          const text = formatCheckpoint({ origin: o2, size, rootHash });
          expect(parseCheckpoint(text)).toEqual({ origin: o2, size, rootHash, extensions: [] });
        }
      )
    );
  });

  it('signs and opens a fresh checkpoint with a generated key', () => {
    const { signerKey, verifierKey } = generateSignerKey('example.com/fresh');
    const text = formatCheckpoint({ origin: 'example.com/fresh', size: 3, rootHash: new Uint8Array(32) });
    const note = signNote(text, [ed25519Signer(signerKey)]);
    expect(openCheckpoint(note, ed25519Verifier(verifierKey)).checkpoint.size).toBe(3);
  });
});
