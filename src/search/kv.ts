/**
 * The small ordered key-value store the record index (record-index.ts) keeps its keys in:
 * string keys in bytewise order, string values, atomic batches and range scans. Two
 * implementations: LevelKv, a LevelDB directory of its own (`DATA/index/`, never the
 * log's `DATA/db/`), and MemoryKv for tests.
 *
 * Keys the index writes are ASCII (it percent-encodes every value it puts in a key), so
 * JavaScript string order and LevelDB's byte order agree.
 */
import { Level } from 'level';

/** One write of a batch. */
export type KvOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** A key range, bounds optional; `reverse` scans from the high end. */
export interface KvRange {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

/** An ordered key-value store (see the module comment). */
export interface IndexKv {
  get(key: string): Promise<string | undefined>;
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Applies every op, or none of them. */
  batch(ops: readonly KvOp[]): Promise<void>;
  /** Key-value pairs in the range, in key order (or reverse order). */
  entries(range: KvRange): AsyncIterable<[string, string]>;
  /** Deletes everything. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** An IndexKv in a LevelDB directory of its own, created on open. */
export class LevelKv implements IndexKv {
  private constructor(
    readonly dir: string,
    private readonly db: Level<string, string>
  ) {}

  /**
   * Opens (creating) the directory.
   * @throws Error naming the directory when it is locked by another process, or cannot be
   *   opened.
   */
  static async open(dir: string): Promise<LevelKv> {
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new Error(`record index ${dir} is locked: another candor process has it open`, {
          cause: err,
        });
      }
      throw new Error(`cannot open record index ${dir}: ${String(cause?.message ?? err)}`, {
        cause: err,
      });
    }
    return new LevelKv(dir, db);
  }

  get(key: string): Promise<string | undefined> {
    return this.db.get(key);
  }

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.db.getMany([...keys]);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    if (ops.length > 0) await this.db.batch([...ops]);
  }

  entries(range: KvRange): AsyncIterable<[string, string]> {
    return this.db.iterator({ ...range });
  }

  clear(): Promise<void> {
    return this.db.clear();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** An IndexKv in memory (a sorted array of keys and a map), for tests. */
export class MemoryKv implements IndexKv {
  private readonly map = new Map<string, string>();
  private sorted: string[] | undefined;

  async get(key: string): Promise<string | undefined> {
    return this.map.get(key);
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((k) => this.map.get(k));
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.map.set(op.key, op.value);
      else this.map.delete(op.key);
    }
    this.sorted = undefined;
  }

  async *entries(range: KvRange): AsyncIterable<[string, string]> {
    this.sorted ??= [...this.map.keys()].sort();
    const keys = this.sorted.filter(
      (k) =>
        (range.gt === undefined || k > range.gt) &&
        (range.gte === undefined || k >= range.gte) &&
        (range.lt === undefined || k < range.lt) &&
        (range.lte === undefined || k <= range.lte)
    );
    if (range.reverse === true) keys.reverse();
    const limit = range.limit ?? Infinity;
    let n = 0;
    for (const k of keys) {
      if (n++ >= limit) return;
      const v = this.map.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  async clear(): Promise<void> {
    this.map.clear();
    this.sorted = undefined;
  }

  async close(): Promise<void> {}
}
