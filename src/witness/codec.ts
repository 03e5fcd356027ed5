/**
 * The msgpack records the witness keeps in LevelDB (src/witness/witness-store.ts): per
 * origin the latest cosigned state and a bounded history of cosigned checkpoints, the
 * alerts, and the witness's identity. The only witness module that imports msgpackr.
 *
 * Records are standard msgpack maps (`useRecords: false`) with a version tag `v`; decoding
 * is strict (wrong version, missing or extra fields, wrong types → LogError CORRUPT).
 * msgpack is a storage detail: nothing here is ever hashed or signed; signed notes are
 * kept verbatim as text.
 */
import { Packr } from 'msgpackr';
import { LogError } from '../util/errors.js';

/** The record format version written by this code. */
export const WITNESS_RECORD_VERSION = 1;

/** What the witness last cosigned for an origin (also the shape of a history record). */
export interface CosignedState {
  size: number;
  rootHash: Uint8Array;
  /** The checkpoint note as published: text, the log's signature(s), our cosignature. */
  note: string;
  /** When it was (re)cosigned, in milliseconds since the epoch. */
  updated: number;
}

/** Kinds of alert; see docs/witness.md. */
export type AlertKind = 'conflicting-root' | 'inconsistent';

/** Evidence that a log misbehaved, as stored and as served by GET /v1/alerts. */
export interface Alert {
  /** 32 hex digits: a hash of the kind, origin and the two checkpoint bodies. */
  id: string;
  origin: string;
  kind: AlertKind;
  /** ISO 8601 time it was raised. */
  time: string;
  /** One human sentence. */
  detail: string;
  /** Where the second checkpoint came from: add-checkpoint, pull, or gossip from a peer. */
  source: string;
  /** The two signed notes that cannot both be true. */
  evidence: [string, string];
  /** ISO 8601 time an operator cleared it, or null. */
  cleared: string | null;
}

/** The witness's identity, fixed when its data directory is created. */
export interface WitnessMeta {
  name: string;
  verifierKey: string;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

function corrupt(what: string, why: string): LogError {
  return new LogError('CORRUPT', `witness ${what} record: ${why}`);
}

function decodeRecord(bytes: Uint8Array, what: string, fields: string[]): Record<string, unknown> {
  let r: unknown;
  try {
    r = packr.unpack(bytes);
  } catch (err) {
    throw new LogError('CORRUPT', `witness ${what} record does not decode`, { cause: err });
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw corrupt(what, 'not a map');
  const rec = r as Record<string, unknown>;
  if (rec.v !== WITNESS_RECORD_VERSION) throw corrupt(what, `unknown version ${String(rec.v)}`);
  const keys = Object.keys(rec).sort();
  if (keys.join(',') !== [...fields, 'v'].sort().join(',')) {
    throw corrupt(what, `fields are ${keys.join(',')}`);
  }
  return rec;
}

function str(rec: Record<string, unknown>, field: string, what: string): string {
  const v = rec[field];
  if (typeof v !== 'string') throw corrupt(what, `${field} is not a string`);
  return v;
}

function count(rec: Record<string, unknown>, field: string, what: string): number {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw corrupt(what, `${field} is not a safe non-negative integer`);
  }
  return v;
}

/** Encodes a cosigned state. */
export function encodeState(s: CosignedState): Uint8Array {
  const { size, rootHash, note, updated } = s;
  return packr.pack({ v: WITNESS_RECORD_VERSION, size, rootHash, note, updated });
}

/** Decodes a cosigned state. @throws LogError CORRUPT. */
export function decodeState(bytes: Uint8Array): CosignedState {
  const what = 'state';
  const r = decodeRecord(bytes, what, ['size', 'rootHash', 'note', 'updated']);
  const rootHash = r.rootHash;
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== 32) {
    throw corrupt(what, 'rootHash is not 32 bytes');
  }
  return {
    size: count(r, 'size', what),
    rootHash: new Uint8Array(rootHash),
    note: str(r, 'note', what),
    updated: count(r, 'updated', what),
  };
}

/** Encodes an alert. */
export function encodeAlert(a: Alert): Uint8Array {
  const { id, origin, kind, time, detail, source, evidence, cleared } = a;
  return packr.pack({ v: WITNESS_RECORD_VERSION, id, origin, kind, time, detail, source, evidence, cleared });
}

/** Decodes an alert. @throws LogError CORRUPT. */
export function decodeAlert(bytes: Uint8Array): Alert {
  const what = 'alert';
  const fields = ['id', 'origin', 'kind', 'time', 'detail', 'source', 'evidence', 'cleared'];
  const r = decodeRecord(bytes, what, fields);
  const kind = str(r, 'kind', what);
  if (kind !== 'conflicting-root' && kind !== 'inconsistent') throw corrupt(what, 'unknown kind');
  const ev = r.evidence;
  if (!Array.isArray(ev) || ev.length !== 2 || !ev.every((e) => typeof e === 'string')) {
    throw corrupt(what, 'evidence is not two strings');
  }
  const cleared = r.cleared;
  if (cleared !== null && typeof cleared !== 'string') throw corrupt(what, 'bad cleared');
  return {
    id: str(r, 'id', what),
    origin: str(r, 'origin', what),
    kind,
    time: str(r, 'time', what),
    detail: str(r, 'detail', what),
    source: str(r, 'source', what),
    evidence: [ev[0] as string, ev[1] as string],
    cleared,
  };
}

/** Encodes the witness identity. */
export function encodeMeta(m: WitnessMeta): Uint8Array {
  return packr.pack({ v: WITNESS_RECORD_VERSION, name: m.name, verifierKey: m.verifierKey });
}

/** Decodes the witness identity. @throws LogError CORRUPT. */
export function decodeMeta(bytes: Uint8Array): WitnessMeta {
  const r = decodeRecord(bytes, 'meta', ['name', 'verifierKey']);
  return { name: str(r, 'name', 'meta'), verifierKey: str(r, 'verifierKey', 'meta') };
}
