/**
 * The client's HTTP plumbing: one GET with a time bound and a body cap (fetchBytes, from
 * tile-reader.ts), statuses mapped to error codes, and a small LRU for fetched tiles.
 * Isomorphic: no `node:` imports.
 */
import { fromBase64 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { fetchBytes, type FetchFn } from './tile-reader.js';

/**
 * GETs `url`: the body on 200, undefined on 404 when `allow404`; any other status throws
 * (see httpError). Bodies longer than `maxBytes` are abandoned.
 * @throws LogError NOT_FOUND, PUSHBACK or MALFORMED by status; TIMEOUT on transport
 *   failure or time-out; TOO_LARGE for a body over `maxBytes`.
 */
export async function httpGet(
  fetchFn: FetchFn,
  url: string,
  options: { maxBytes: number; timeoutMs: number; allow404?: boolean }
): Promise<Uint8Array | undefined> {
  const res = await fetchBytes(fetchFn, url, options);
  if (res.status === 404 && options.allow404 === true) return undefined;
  if (res.status !== 200) throw httpError(url, res.status);
  return res.body;
}

/** The LogError for an unexpected HTTP status: NOT_FOUND, PUSHBACK for 429/5xx, else MALFORMED. */
export function httpError(url: string, status: number): LogError {
  if (status === 404) return new LogError('NOT_FOUND', `${url}: HTTP 404`);
  if (status === 429 || status >= 500) return new LogError('PUSHBACK', `${url}: HTTP ${status}`);
  return new LogError('MALFORMED', `${url}: HTTP ${status}`);
}

/**
 * The hashes of a `/v1/proof/*` JSON answer, after checking its other fields echo the
 * request (`echo`, e.g. `{ index, size }`): at most 63 canonical base64 32-byte hashes.
 * @throws LogError MALFORMED otherwise.
 */
export function proofAnswer(answer: unknown, echo: Record<string, number>): Uint8Array[] {
  type Json = Record<string, unknown>;
  const o: Json = typeof answer === 'object' && answer !== null ? (answer as Json) : {};
  for (const [k, v] of Object.entries(echo)) {
    if (o[k] !== v) throw new LogError('MALFORMED', `proof answer: ${k} is not ${v}`);
  }
  const hashes = o.hashes;
  if (!Array.isArray(hashes) || hashes.length > 63 || !hashes.every((h) => typeof h === 'string')) {
    throw new LogError('MALFORMED', 'proof answer: hashes must be at most 63 strings');
  }
  return (hashes as string[]).map((h, i) => fromBase64(h, 32, `proof hash ${i}`));
}

/** A least-recently-used map holding at most `capacity` entries. */
export class Lru<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  /** The value for `key`, which becomes the most recently used. */
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Sets `key`, dropping the least recently used entries beyond the capacity. */
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    for (const k of this.map.keys()) {
      if (this.map.size <= this.capacity) break;
      this.map.delete(k);
    }
  }

  /** Removes `key`. */
  delete(key: string): void {
    this.map.delete(key);
  }
}
