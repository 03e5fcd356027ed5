/**
 * What a witness is told about the world: the logs it witnesses (origin, trusted log keys,
 * optionally the log's tlog-tiles URL for pull mode) and its peers (other witnesses, by
 * their cosignature key and URL), with the command-line spellings
 *
 *   --log  ORIGIN=VKEY[@URL]   e.g. example.com/log=example.com/log+3814a360+ARpc…@https://log.example
 *   --peer VKEY@URL            e.g. w2.example+cc9a7044+BBpc…@http://127.0.0.1:8082
 *
 * The origin is everything before the first `=` (so an origin cannot contain `=`). A key
 * is `name+id+base64`; base64 never contains `@`, so the URL starts at the first `@` after
 * the key's second `+`. A log given twice with different keys trusts both (key rotation).
 */
import { ed25519Verifier, parseVerifierKey, type Verifier } from '../note/keys.js';
import { cosignatureV1Verifier } from '../checkpoint/cosignature.js';
import { isValidNoteText } from '../note/note.js';
import { LogError } from '../util/errors.js';

/** A log this witness cosigns. */
export interface LogConfig {
  origin: string;
  /** Ed25519 (type 0x01) verifier keys of the log; a checkpoint needs one valid signature. */
  verifierKeys: string[];
  /** The log's tlog-tiles URL prefix (no trailing slash); without it, push mode only. */
  url?: string;
}

/** Another witness this one gossips with. */
export interface PeerConfig {
  /** The peer's cosignature verifier key (type 0x04, or 0x01 for the same Ed25519 key). */
  verifierKey: string;
  /** The peer witness's URL (no trailing slash). */
  url: string;
}

/** A configured log with its verifiers built. */
export interface KnownLog extends LogConfig {
  verifiers: Verifier[];
}

/** A configured peer with its cosignature verifier built. */
export interface KnownPeer extends PeerConfig {
  name: string;
  verifier: Verifier;
}

function bad(what: string, why: string): LogError {
  return new LogError('MALFORMED', `${what}: ${why}`);
}

/**
 * Normalises an http(s) URL prefix: no trailing slash, no query or fragment.
 * @throws LogError MALFORMED for anything else.
 */
export function parseUrlPrefix(text: string, what = 'URL'): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw bad(what, `${JSON.stringify(text)} is not a URL`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '') {
    throw bad(what, `${JSON.stringify(text)} must be an http(s) URL without query or fragment`);
  }
  return u.href.replace(/\/+$/, '');
}

// Splits `name+id+base64[@url]` after the key; the key's base64 has no `@`.
function splitKeyAndUrl(text: string, what: string): { key: string; url: string | undefined } {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw bad(what, 'expected a verifier key name+id+key');
  const at = text.indexOf('@', second);
  if (at < 0) return { key: text, url: undefined };
  return { key: text.slice(0, at), url: parseUrlPrefix(text.slice(at + 1), what) };
}

/**
 * Parses `ORIGIN=VKEY[@URL]`. The key must be an Ed25519 (type 0x01) note key.
 * @throws LogError MALFORMED on a bad origin, key or URL.
 */
export function parseLogSpec(spec: string): LogConfig {
  const what = `--log ${JSON.stringify(spec)}`;
  const eq = spec.indexOf('=');
  if (eq <= 0) throw bad(what, 'expected ORIGIN=VKEY@URL');
  const origin = spec.slice(0, eq);
  if (!isValidNoteText(`${origin}\n`) || origin.includes('\n') || origin.trim() !== origin) {
    throw bad(what, 'the origin must be one line without surrounding spaces');
  }
  const { key, url } = splitKeyAndUrl(spec.slice(eq + 1), what);
  try {
    ed25519Verifier(key);
  } catch (err) {
    throw bad(what, `bad log key: ${(err as Error).message}`);
  }
  return url === undefined ? { origin, verifierKeys: [key] } : { origin, verifierKeys: [key], url };
}

/**
 * Parses `VKEY@URL` for a peer witness (cosignature key of type 0x04 or 0x01).
 * @throws LogError MALFORMED on a bad key or a missing or bad URL.
 */
export function parsePeerSpec(spec: string): PeerConfig {
  const what = `--peer ${JSON.stringify(spec)}`;
  const { key, url } = splitKeyAndUrl(spec, what);
  if (url === undefined) throw bad(what, 'expected VKEY@URL');
  try {
    cosignatureV1Verifier(key);
  } catch (err) {
    throw bad(what, `bad witness key: ${(err as Error).message}`);
  }
  return { verifierKey: key, url };
}

/**
 * Merges log entries by origin (keys are united; URLs must agree) and builds verifiers.
 * @throws LogError MALFORMED when one origin is given two URLs or a malformed key.
 */
export function buildLogs(logs: readonly LogConfig[]): Map<string, KnownLog> {
  const out = new Map<string, KnownLog>();
  for (const l of logs) {
    const known = out.get(l.origin);
    if (known === undefined) {
      const entry: KnownLog = { origin: l.origin, verifierKeys: [], verifiers: [] };
      if (l.url !== undefined) entry.url = parseUrlPrefix(l.url, `log ${l.origin} URL`);
      out.set(l.origin, entry);
    } else if (l.url !== undefined && known.url !== undefined && known.url !== parseUrlPrefix(l.url)) {
      throw bad(`log ${l.origin}`, 'given with two different URLs');
    } else if (l.url !== undefined) {
      known.url = parseUrlPrefix(l.url);
    }
    const entry = out.get(l.origin)!;
    for (const key of l.verifierKeys) {
      if (entry.verifierKeys.includes(key)) continue;
      const v = ed25519Verifier(key);
      if (entry.verifiers.some((o) => o.name === v.name && o.keyId === v.keyId)) {
        throw bad(`log ${l.origin}`, `two keys share the name and key ID of ${key}`);
      }
      entry.verifierKeys.push(key);
      entry.verifiers.push(v);
    }
  }
  return out;
}

/**
 * Builds peer verifiers, dropping exact duplicates.
 * @throws LogError MALFORMED when two different peers share a key name and key ID.
 */
export function buildPeers(peers: readonly PeerConfig[]): KnownPeer[] {
  const out: KnownPeer[] = [];
  for (const p of peers) {
    const verifier = cosignatureV1Verifier(p.verifierKey);
    const url = parseUrlPrefix(p.url, `peer ${p.verifierKey} URL`);
    const same = out.find((o) => o.name === verifier.name && o.verifier.keyId === verifier.keyId);
    if (same !== undefined) {
      if (same.url === url) continue;
      throw bad(`peer ${p.verifierKey}`, 'two peers share a key name and key ID');
    }
    out.push({ verifierKey: p.verifierKey, url, name: parseVerifierKey(p.verifierKey).name, verifier });
  }
  return out;
}
