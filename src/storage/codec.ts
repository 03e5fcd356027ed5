/**
 * The msgpack records LevelStore keeps: checkpoints, the log's identity, and dedup
 * values. This is the only module that imports msgpackr, and it holds the one Packr.
 *
 * Records are standard msgpack maps (`useRecords: false`: no msgpackr record extension,
 * so any msgpack reader can inspect a store) with a version tag `v`. Decoding is strict:
 * wrong version, missing or extra fields, or wrong types throw LogError CORRUPT.
 *
 * msgpack bytes are a storage detail. They are never hashed or signed: checkpoints are
 * signed as C2SP note text (kept verbatim in `note`), and leaves hash the raw entry bytes.
 */
import { Packr } from 'msgpackr';
import { LogError } from '../util/errors.js';
import type { LogMeta, StoredCheckpoint } from './store.js';

/** The record format version written by this code. */
export const RECORD_VERSION = 1;

/** Length of a checkpoint's root hash (SHA-256). */
export const ROOT_HASH_SIZE = 32;

/** A checkpoint as stored under its tree size in the `c` sublevel. */
export interface CheckpointRecord {
  readonly v: typeof RECORD_VERSION;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly note: string;
  readonly timestamp: number;
}

/** The log's identity as stored in the `m` sublevel. */
export interface MetaRecord {
  readonly v: typeof RECORD_VERSION;
  readonly origin: string;
  readonly verifierKey: string;
}

// The one Packr. mapsAsObjects: maps decode to plain objects (checked field by field
// below); variableMapSize: small maps are fixmaps, the shortest standard encoding.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Encodes a checkpoint record. */
export function encodeCheckpoint(cp: StoredCheckpoint): Uint8Array {
  const record: CheckpointRecord = {
    v: RECORD_VERSION,
    size: cp.size,
    rootHash: cp.rootHash,
    note: cp.note,
    timestamp: cp.timestamp,
  };
  return packr.pack(record);
}

/** Decodes a checkpoint record. @throws LogError CORRUPT when it is not a v1 record. */
export function decodeCheckpoint(bytes: Uint8Array): StoredCheckpoint {
  const r = decodeRecord(bytes, 'checkpoint', ['v', 'size', 'rootHash', 'note', 'timestamp']);
  const { size, rootHash, note, timestamp } = r;
  if (!isCount(size)) throw corrupt('checkpoint', 'size is not a safe non-negative integer');
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== ROOT_HASH_SIZE) {
    throw corrupt('checkpoint', `rootHash is not ${ROOT_HASH_SIZE} bytes`);
  }
  if (typeof note !== 'string') throw corrupt('checkpoint', 'note is not a string');
  if (!isCount(timestamp)) throw corrupt('checkpoint', 'timestamp is not a non-negative integer');
  // msgpackr decodes bin as a Buffer sharing the record's memory: hand out a plain copy.
  return { size, rootHash: Uint8Array.from(rootHash), note, timestamp };
}

/** Encodes the meta record. */
export function encodeMeta(meta: LogMeta): Uint8Array {
  const record: MetaRecord = {
    v: RECORD_VERSION,
    origin: meta.origin,
    verifierKey: meta.verifierKey,
  };
  return packr.pack(record);
}

/** Decodes the meta record. @throws LogError CORRUPT when it is not a v1 record. */
export function decodeMeta(bytes: Uint8Array): LogMeta {
  const r = decodeRecord(bytes, 'meta', ['v', 'origin', 'verifierKey']);
  const { origin, verifierKey } = r;
  if (typeof origin !== 'string') throw corrupt('meta', 'origin is not a string');
  if (typeof verifierKey !== 'string') throw corrupt('meta', 'verifierKey is not a string');
  return { origin, verifierKey };
}

/** How far the leaf-hash index (dedup-index.ts) covers the log. */
export interface DedupWatermark {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** Encodes the leaf-hash index's watermark record. */
export function encodeDedupWatermark(w: DedupWatermark): Uint8Array {
  return packr.pack({ v: RECORD_VERSION, size: w.size, rootHash: w.rootHash });
}

/** Decodes the watermark record. @throws LogError CORRUPT when it is not a v1 record. */
export function decodeDedupWatermark(bytes: Uint8Array): DedupWatermark {
  const r = decodeRecord(bytes, 'dedup watermark', ['v', 'size', 'rootHash']);
  const { size, rootHash } = r;
  if (!isCount(size)) throw corrupt('dedup watermark', 'size is not a safe non-negative integer');
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== ROOT_HASH_SIZE) {
    throw corrupt('dedup watermark', `rootHash is not ${ROOT_HASH_SIZE} bytes`);
  }
  return { size, rootHash: Uint8Array.from(rootHash) };
}

/**
 * Encodes a dedup value: the entry index as a bare msgpack integer. Dedup values are one
 * per entry, so they carry no version tag of their own (that would add about 10 bytes to
 * every entry); a format change would move them to a new sublevel.
 */
export function encodeIndex(index: number): Uint8Array {
  // The bytes msgpackr writes for an unsigned integer below 2^32 (its shortest msgpack
  // form: positive fixint, uint8, uint16 or uint32), without a call into the packer: this
  // runs once per entry on the append path. Larger indices go through the packer.
  if (Number.isInteger(index) && index >= 0 && index < 0x100000000) {
    if (index < 0x80) return Uint8Array.of(index);
    if (index < 0x100) return Uint8Array.of(0xcc, index);
    if (index < 0x10000) return Uint8Array.of(0xcd, Math.floor(index / 0x100), index % 0x100);
    const out = new Uint8Array(5);
    writeUint32Index(out, 0, index);
    return out;
  }
  return packr.pack(index);
}

/**
 * Writes encodeIndex(index) for an index in [2^16, 2^32) into `out` at `at` (5 bytes: msgpack
 * uint32), for callers that pack many into one buffer.
 */
export function writeUint32Index(out: Uint8Array, at: number, index: number): void {
  out[at] = 0xce;
  out[at + 1] = Math.floor(index / 0x1000000);
  out[at + 2] = Math.floor(index / 0x10000) % 0x100;
  out[at + 3] = Math.floor(index / 0x100) % 0x100;
  out[at + 4] = index % 0x100;
}

/** Decodes a dedup value. @throws LogError CORRUPT unless it is a safe non-negative integer. */
export function decodeIndex(bytes: Uint8Array): number {
  const value = unpack(bytes, 'dedup value');
  if (!isCount(value)) throw corrupt('dedup value', 'is not a safe non-negative integer');
  return value;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function corrupt(what: string, why: string, cause?: unknown): LogError {
  return new LogError('CORRUPT', `stored ${what} ${why}`, cause === undefined ? {} : { cause });
}

function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    // Throws on truncated input and on trailing bytes after the first value.
    return packr.unpack(bytes) as unknown;
  } catch (err) {
    throw corrupt(what, 'is not valid msgpack', err);
  }
}

/** Unpacks a versioned map with exactly `fields`, and checks `v` is RECORD_VERSION. */
function decodeRecord(
  bytes: Uint8Array,
  what: string,
  fields: readonly string[]
): Record<string, unknown> {
  const value = unpack(bytes, what);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(what, 'is not a msgpack map');
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    throw corrupt(what, 'is not a plain msgpack map');
  }
  const record = value as Record<string, unknown>;
  if (record.v !== RECORD_VERSION) {
    throw corrupt(what, `has version ${String(record.v)}, this code reads ${RECORD_VERSION}`);
  }
  const keys = Object.keys(record);
  if (keys.length !== fields.length || !fields.every((f) => Object.hasOwn(record, f))) {
    throw corrupt(what, `has fields [${keys.join(', ')}], want [${fields.join(', ')}]`);
  }
  return record;
}
