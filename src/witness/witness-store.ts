/**
 * The witness's state in LevelDB (`level`), one directory per witness, one process at a
 * time (LevelDB's lock). Sublevels, keys as UTF-8 text, values msgpack (codec.ts):
 *
 *   s  <origin>                          the latest cosigned state of the origin
 *   h  <hex SHA-256(origin)>/<size, 16 zero-padded digits>   cosigned history (bounded)
 *   a  <alert id>                        alerts, forever (cleared ones keep a time)
 *   x  <origin>                          present while the origin is halted (an alert id)
 *   m  meta                              the witness's name and verifier key
 *
 * Every change is written with `db.batch(..., { sync: true })`, concurrent changes sharing
 * one batch (group commit, see write): resolved ⇒ durable. States, halts
 * and alerts are also held in memory (read at open); memory moves only after the batch
 * resolved, so nothing is ever reported that a crash could take back.
 *
 * `commit` is a compare-and-swap: it succeeds only if the stored size is still the size
 * the caller checked its proof against, and only one commit per origin can be in flight.
 * It also refuses to move backwards or to change the root of a size. The witness core
 * serialises each origin with a lock as well; this is the second line of defence.
 */
import { Level } from 'level';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, toHex, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import * as codec from './codec.js';
import type { Alert, CosignedState, WitnessMeta } from './codec.js';

type Bytes = Uint8Array;
const ENC = { keyEncoding: 'utf8', valueEncoding: 'view' } as const;
const META_KEY = 'meta';

/** The store directory is held by another process (a running witness) or WitnessStore. */
export class WitnessStoreLocked extends Error {
  constructor(dir: string, cause: unknown) {
    super(`witness store ${dir} is locked: is the witness running?`, { cause });
    this.name = 'WitnessStoreLocked';
  }
}

/** Default number of cosigned checkpoints remembered per origin. */
export const DEFAULT_HISTORY_MAX = 1000;

function openSublevels(db: Level<string, Bytes>) {
  return {
    state: db.sublevel<string, Bytes>('s', ENC),
    history: db.sublevel<string, Bytes>('h', ENC),
    alerts: db.sublevel<string, Bytes>('a', ENC),
    halts: db.sublevel<string, Bytes>('x', ENC),
    meta: db.sublevel<string, Bytes>('m', ENC),
  };
}
type Subs = ReturnType<typeof openSublevels>;
type Op =
  | { type: 'put'; sublevel: Subs[keyof Subs]; key: string; value: Bytes }
  | { type: 'del'; sublevel: Subs[keyof Subs]; key: string };

/** Lowercase hex SHA-256 of the origin: the tlog-witness monitoring path component. */
export function originHash(origin: string): string {
  return toHex(sha256(utf8(origin)));
}

function historyPrefix(origin: string): string {
  return `${originHash(origin)}/`;
}

function historyKey(origin: string, size: number): string {
  return `${historyPrefix(origin)}${String(size).padStart(16, '0')}`;
}

function copy(s: CosignedState): CosignedState {
  return { ...s, rootHash: s.rootHash.slice() };
}

/** Witness state in a LevelDB directory. */
export class WitnessStore {
  readonly dir: string;
  private readonly historyMax: number;
  private db: Level<string, Bytes> | undefined;
  private subs: Subs | undefined;
  private readonly states = new Map<string, CosignedState>();
  private readonly historyCount = new Map<string, number>();
  private readonly alertList = new Map<string, Alert>();
  private readonly halted = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  /** Writes waiting for the batch in progress to finish (see write). */
  private queued: { ops: Op[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private writing = false;

  /** Does no I/O; call open(). */
  constructor(dir: string, options: { historyMax?: number } = {}) {
    this.dir = dir;
    this.historyMax = options.historyMax ?? DEFAULT_HISTORY_MAX;
  }

  /**
   * Opens (creating) the directory and loads states, alerts and halts into memory.
   * @throws WitnessStoreLocked when another process holds it; Error when it cannot open.
   */
  async open(): Promise<void> {
    const db = new Level<string, Bytes>(this.dir, ENC);
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new WitnessStoreLocked(this.dir, err);
      }
      throw new Error(`cannot open witness store ${this.dir}: ${String(err)}`, { cause: err });
    }
    const subs = openSublevels(db);
    try {
      for (const [k, v] of await subs.state.iterator().all()) this.states.set(k, codec.decodeState(v));
      for (const [k, v] of await subs.alerts.iterator().all()) this.alertList.set(k, codec.decodeAlert(v));
      for (const [k, v] of await subs.halts.iterator().all()) this.halted.set(k, new TextDecoder().decode(v));
      for (const k of await subs.history.keys().all()) {
        const prefix = k.slice(0, k.indexOf('/'));
        this.historyCount.set(prefix, (this.historyCount.get(prefix) ?? 0) + 1);
      }
    } catch (err) {
      await db.close();
      throw err;
    }
    this.db = db;
    this.subs = subs;
  }

  /** Closes the directory. */
  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.subs = undefined;
    if (db !== undefined) await db.close();
  }

  /** The stored identity, if any. @throws LogError CLOSED when not open. */
  async readMeta(): Promise<WitnessMeta | undefined> {
    const v = await this.use().meta.get(META_KEY);
    return v === undefined ? undefined : codec.decodeMeta(v);
  }

  /** Stores the identity, durably. @throws LogError CLOSED when not open. */
  async writeMeta(meta: WitnessMeta): Promise<void> {
    const subs = this.use();
    await this.write([{ type: 'put', sublevel: subs.meta, key: META_KEY, value: codec.encodeMeta(meta) }]);
  }

  /** The latest cosigned state of `origin` (a copy), if any. */
  state(origin: string): CosignedState | undefined {
    const s = this.states.get(origin);
    return s === undefined ? undefined : copy(s);
  }

  /**
   * Compare-and-swap: stores `next` as the state of `origin` (and in its history) if the
   * stored size is still `expectedSize` (undefined: nothing stored). Durable on resolve.
   * @throws LogError CONFLICT when the stored size differs, another commit for the origin
   *   is in flight, `next` is smaller, or it has the stored size with another root.
   */
  async commit(origin: string, expectedSize: number | undefined, next: CosignedState): Promise<void> {
    const subs = this.use();
    const current = this.states.get(origin);
    if (this.inFlight.has(origin)) throw new LogError('CONFLICT', `a commit for ${origin} is in flight`);
    if (current?.size !== expectedSize) {
      throw new LogError('CONFLICT', `stored size of ${origin} is ${current?.size ?? 'none'}, not ${expectedSize ?? 'none'}`);
    }
    if (current !== undefined && next.size < current.size) {
      throw new LogError('CONFLICT', `refusing to move ${origin} back from ${current.size} to ${next.size}`);
    }
    if (current !== undefined && next.size === current.size && !equalBytes(next.rootHash, current.rootHash)) {
      throw new LogError('CONFLICT', `refusing a second root for size ${next.size} of ${origin}`);
    }
    this.inFlight.add(origin);
    try {
      const prefix = originHash(origin);
      const grows = current === undefined || next.size > current.size;
      const count = (this.historyCount.get(prefix) ?? 0) + (grows ? 1 : 0);
      const value = codec.encodeState(next);
      const ops: Op[] = [
        { type: 'put', sublevel: subs.state, key: origin, value },
        { type: 'put', sublevel: subs.history, key: historyKey(origin, next.size), value },
      ];
      const excess = count - this.historyMax;
      if (excess > 0) {
        const range = { gte: historyPrefix(origin), lt: `${prefix}0`, limit: excess };
        for (const key of await subs.history.keys(range).all()) {
          ops.push({ type: 'del', sublevel: subs.history, key });
        }
      }
      await this.write(ops);
      this.states.set(origin, copy(next));
      this.historyCount.set(prefix, Math.min(count, this.historyMax));
    } finally {
      this.inFlight.delete(origin);
    }
  }

  /** The checkpoint cosigned at `size` for `origin`, if still in the bounded history. */
  async history(origin: string, size: number): Promise<CosignedState | undefined> {
    const v = await this.use().history.get(historyKey(origin, size));
    return v === undefined ? undefined : codec.decodeState(v);
  }

  /** Every alert, oldest first. */
  alerts(): Alert[] {
    return [...this.alertList.values()]
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
      .map((a) => ({ ...a, evidence: [...a.evidence] }));
  }

  /** True while `origin` has an alert no operator cleared. */
  isHalted(origin: string): boolean {
    return this.halted.has(origin);
  }

  /**
   * Records a new alert and halts its origin, durably. An alert whose id is already stored
   * (the same evidence) is not recorded again, cleared or not.
   * @returns whether the alert is new.
   */
  async addAlert(alert: Alert): Promise<boolean> {
    const subs = this.use();
    if (this.alertList.has(alert.id)) return false;
    await this.write([
      { type: 'put', sublevel: subs.alerts, key: alert.id, value: codec.encodeAlert(alert) },
      { type: 'put', sublevel: subs.halts, key: alert.origin, value: utf8(alert.id) },
    ]);
    if (this.alertList.has(alert.id)) return false; // a racing duplicate landed first
    this.alertList.set(alert.id, { ...alert });
    this.halted.set(alert.origin, alert.id);
    return true;
  }

  /**
   * Clears every uncleared alert of `origin` and lifts its halt, durably.
   * @returns the number of alerts cleared.
   */
  async clear(origin: string, time: string): Promise<number> {
    const subs = this.use();
    const cleared = [...this.alertList.values()]
      .filter((a) => a.origin === origin && a.cleared === null)
      .map((a) => ({ ...a, cleared: time }));
    const ops: Op[] = cleared.map((a) => ({
      type: 'put',
      sublevel: subs.alerts,
      key: a.id,
      value: codec.encodeAlert(a),
    }));
    ops.push({ type: 'del', sublevel: subs.halts, key: origin });
    await this.write(ops);
    for (const a of cleared) this.alertList.set(a.id, a);
    this.halted.delete(origin);
    return cleared.length;
  }

  /**
   * Writes `ops` durably, in one fsynced batch shared with every other write that queued
   * while the previous batch was being written (group commit): under load, many origins'
   * states cost one fsync, and each caller still resolves only once its own ops are
   * durable. Writes land in the order they were queued. If a shared batch fails, every
   * caller in it gets the error and nothing of it is applied in memory.
   */
  private write(ops: Op[]): Promise<void> {
    const db = this.db;
    if (db === undefined) return Promise.reject(new LogError('CLOSED', `witness store ${this.dir} is not open`));
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ ops, resolve, reject });
      if (!this.writing) void this.flushWrites(db);
    });
  }

  private async flushWrites(db: Level<string, Bytes>): Promise<void> {
    this.writing = true;
    while (this.queued.length > 0) {
      const group = this.queued.splice(0, this.queued.length);
      try {
        // A root batch across sublevels, because sublevel options have no typed `sync`.
        await db.batch(group.flatMap((w) => w.ops), { sync: true });
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    this.writing = false;
  }

  private use(): Subs {
    if (this.subs === undefined) throw new LogError('CLOSED', `witness store ${this.dir} is not open`);
    return this.subs;
  }
}
