/**
 * `candor fsck`: the offline check of a log's data directory, as a library returning
 * findings (the CLI, src/cli/fsck.ts, only prints them). It opens the store for
 * maintenance (LevelStore `maintenance`), so it runs on a store the server refuses, and
 * refuses while a server holds the directory (LevelDB's lock).
 *
 * Full check, in one pass over the log, a bundle at a time (memory stays constant):
 * - the log's identity (meta) and every stored checkpoint: its record decodes, its note is
 *   signed by the log's key, names the log's origin, and says the record's size and root;
 * - holes: every entry and tile present up to the latest checkpoint (contiguity.ts), and
 *   the commit mark not ahead of the store (commit-mark.ts);
 * - every leaf hash recomputed from the stored entries, every hash tile recomputed from
 *   those and compared with the stored one, and the root of the tree at every checkpoint's
 *   size compared with that checkpoint's root: consecutive checkpoints are then consistent,
 *   as both are prefixes of one tree. When entries and tiles disagree, the stored tiles are
 *   authenticated against the latest checkpoint (repair-check.ts, TreeView) to say which
 *   side is damaged;
 * - the leaf-hash index (db/dedup): its watermark is this log's, and every leaf hash it
 *   covers maps to its entry's index;
 * - the record index (DIR/index), when present: its marker covers no more than the log and
 *   names the log's root at that size, and it lists no record beyond it.
 * Quick check (`quick`): the same but for the pass over the entries: meta, the latest
 * checkpoint's signature, holes (keys only), the commit mark, the right edge of the stored
 * tree against the latest root, and the two indexes' watermarks.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { openCheckpoint } from '../checkpoint/checkpoint.js';
import { HASH_SIZE, leafHash } from '../merkle/hash.js';
import { TILE_HEIGHT, TILE_WIDTH, tileWidth } from '../merkle/tiles.js';
import { Frontier } from '../merkle/tree.js';
import { ed25519Verifier, type Verifier } from '../note/keys.js';
import * as codec from '../storage/codec.js';
import { readCommitMark } from '../storage/commit-mark.js';
import { describeHoles, findHoles, type Holes } from '../storage/contiguity.js';
import { WATERMARK_KEY, openFailureDetail } from '../storage/dedup-index.js';
import { LevelStore } from '../storage/level-store.js';
import { TreeView } from '../storage/repair-check.js';
import type { LogMeta, StoredCheckpoint } from '../storage/store.js';
import { equalBytes, toBase64 } from '../util/bytes.js';
import { isLogError } from '../util/errors.js';

/**
 * What is wrong. `corrupt`: the log's own data (entries, tiles, checkpoints, meta) is
 * damaged or missing; `derived`: only an index derived from it (candor repair rebuilds it).
 */
export type Severity = 'corrupt' | 'derived';

/** One finding: what is wrong, and where. */
export interface Finding {
  readonly severity: Severity;
  /** What it is about: `entry 300`, `hash tile 0/1`, `checkpoint 512`, `dedup index`, … */
  readonly where: string;
  readonly message: string;
}

/** The damage fsck found, in the terms `candor repair` needs. */
export interface Damage {
  /** Entries whose bytes are damaged or missing (the tiles say what they must hash to). */
  readonly entries: number[];
  /** Hash tiles that are damaged or missing, as level/index. */
  readonly tiles: Array<{ level: number; index: number }>;
  /** Entries and their level-0 tile disagree and the tile does not authenticate. */
  readonly undecided: number[];
  /** The stored entries hash to the latest checkpoint's root (tiles can be rebuilt from them). */
  readonly entriesAuthentic: boolean;
  readonly dedup: boolean;
  readonly records: boolean;
  /** Commits lost from the end: the commit mark's size, when ahead of the store. */
  readonly lostTail: number | undefined;
}

/** What fsck reports. */
export interface FsckReport {
  readonly dataDir: string;
  readonly quick: boolean;
  readonly origin: string | undefined;
  /** The size of the latest stored checkpoint. */
  readonly size: number;
  readonly findings: Finding[];
  /** Findings beyond those listed (each kind is listed up to a limit, counted in full). */
  omitted: number;
  readonly damage: Damage;
  entriesChecked: number;
  tilesChecked: number;
  checkpointsChecked: number;
}

/** Why fsck could not check at all (the CLI maps each to an exit code). */
export class FsckError extends Error {
  constructor(
    readonly reason: 'no-log' | 'in-use' | 'unreadable',
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
  }
}

/** Findings listed per report; the rest are counted in `omitted`. */
const MAX_FINDINGS = 100;
/** Damaged indices kept for repair at most (a repair of more refills from a copy in rounds). */
const MAX_DAMAGE = 1_000_000;

/** Options of fsck. */
export interface FsckOptions {
  quick?: boolean;
}

/**
 * Checks the log in `dataDir` (see the module comment).
 * @throws FsckError when there is no log there, a server holds it, or LevelDB cannot open it.
 */
export async function fsck(dataDir: string, options: FsckOptions = {}): Promise<FsckReport> {
  const store = await openForMaintenance(dataDir);
  try {
    return await checkStore(dataDir, store, options);
  } finally {
    await store.close();
  }
}

/** fsck on a store already open for maintenance (repair checks before and after). */
export function checkStore(dataDir: string, store: LevelStore, options: FsckOptions = {}): Promise<FsckReport> {
  return new Checker(dataDir, store, options.quick === true).run();
}

/**
 * Opens the store in DIR/db for fsck or repair.
 * @throws FsckError no-log / in-use / unreadable.
 */
export async function openForMaintenance(dataDir: string): Promise<LevelStore> {
  const dir = join(dataDir, 'db');
  if (!existsSync(join(dir, 'CURRENT'))) throw new FsckError('no-log', `there is no log in ${dataDir} (no ${dir}/CURRENT)`);
  const store = new LevelStore(dir, { maintenance: true });
  try {
    await store.open();
  } catch (err) {
    const message = (err as Error).message;
    if (/is locked/.test(message)) {
      throw new FsckError('in-use', `${message}: stop the server first (fsck and repair run offline)`, { cause: err });
    }
    throw new FsckError('unreadable', `cannot read ${dir}: ${message}`, { cause: err });
  }
  return store;
}

/** One run of fsck over an open store. */
class Checker {
  private readonly findings: Finding[] = [];
  private omitted = 0;
  private readonly badEntries = new Set<number>();
  private readonly badTiles = new Map<string, { level: number; index: number }>();
  private readonly undecided: number[] = [];
  private entriesAuthentic = false;
  private dedupBad = false;
  private recordsBad = false;
  private lostTail: number | undefined;
  private entriesChecked = 0;
  private tilesChecked = 0;
  private checkpointsChecked = 0;
  private meta: LogMeta | undefined;
  private verifier: Verifier | undefined;
  private latest: StoredCheckpoint | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly store: LevelStore,
    private readonly quick: boolean
  ) {}

  private add(severity: Severity, where: string, message: string): void {
    if (this.findings.length < MAX_FINDINGS) this.findings.push({ severity, where, message });
    else this.omitted++;
  }

  private badEntry(index: number): void {
    if (this.badEntries.size < MAX_DAMAGE) this.badEntries.add(index);
  }

  private badTile(level: number, index: number): void {
    if (this.badTiles.size < MAX_DAMAGE) this.badTiles.set(`${level}/${index}`, { level, index });
  }

  async run(): Promise<FsckReport> {
    const store = this.store;
    try {
      this.meta = await store.readMeta();
    } catch (err) {
      this.add('corrupt', 'meta', `the log's identity record does not decode: ${(err as Error).message}`);
    }
    if (this.meta === undefined) {
      this.add('corrupt', 'meta', "the store has no identity record (origin, verifier key): checkpoints cannot be checked");
    } else {
      try {
        this.verifier = ed25519Verifier(this.meta.verifierKey);
      } catch (err) {
        this.add('corrupt', 'meta', `the log's verifier key is not usable: ${(err as Error).message}`);
      }
    }
    this.latest = await store.latestCheckpoint();
    const size = this.latest?.size ?? 0;
    if (this.latest !== undefined) {
      this.checkpointsChecked++;
      this.checkNote(this.latest);
    }
    const holes = await findHoles(store.storedKeys(), size);
    this.reportHoles(holes);
    await this.checkMark(size);
    const view = this.latest === undefined ? undefined : new TreeView(size, this.latest.rootHash, (l, i) => store.readTile(l, i));
    let edgeOk = true;
    if (view !== undefined && holes.missingTiles === 0) {
      try {
        await view.checkRoot();
      } catch (err) {
        edgeOk = false;
        const why = isLogError(err) ? err.message : String(err);
        this.add('corrupt', 'right edge', `the stored tiles do not lead to the latest checkpoint's root: ${why}`);
      }
    }
    const dedup = await this.openDedup(size);
    try {
      if (!this.quick && view !== undefined) await this.pass(view, size, dedup?.db, dedup?.covered ?? 0);
      else this.entriesAuthentic = edgeOk && holes.missingEntries === 0 && holes.missingTiles === 0;
    } finally {
      await dedup?.db.close();
    }
    await this.checkRecords(size);
    const damage: Damage = {
      entries: [...this.badEntries].sort((a, b) => a - b),
      tiles: [...this.badTiles.values()].sort((a, b) => a.level - b.level || a.index - b.index),
      undecided: this.undecided,
      entriesAuthentic: this.entriesAuthentic,
      dedup: this.dedupBad,
      records: this.recordsBad,
      lostTail: this.lostTail,
    };
    return {
      dataDir: this.dataDir,
      quick: this.quick,
      origin: this.meta?.origin,
      size,
      findings: this.findings,
      omitted: this.omitted,
      damage,
      entriesChecked: this.entriesChecked,
      tilesChecked: this.tilesChecked,
      checkpointsChecked: this.checkpointsChecked,
    };
  }

  /** A checkpoint's note: signed by the log, of its origin, saying the record's size and root. */
  private checkNote(cp: StoredCheckpoint): boolean {
    if (this.verifier === undefined || this.meta === undefined) return true;
    try {
      const { checkpoint } = openCheckpoint(cp.note, this.verifier, { origin: this.meta.origin });
      if (checkpoint.size !== cp.size || !equalBytes(checkpoint.rootHash, cp.rootHash)) {
        this.add('corrupt', `checkpoint ${cp.size}`, `its note says size ${checkpoint.size} and root ${toBase64(checkpoint.rootHash)}, its record size ${cp.size} and root ${toBase64(cp.rootHash)}`);
        return false;
      }
      return true;
    } catch (err) {
      this.add('corrupt', `checkpoint ${cp.size}`, `its note does not verify under the log's key: ${(err as Error).message}`);
      return false;
    }
  }

  private reportHoles(holes: Holes): void {
    if (holes.missingEntries === 0 && holes.missingTiles === 0) return;
    this.add('corrupt', 'holes', `missing below the latest checkpoint: ${describeHoles(holes)}`);
    for (const [a, b] of holes.entries) for (let i = a; i < b; i++) this.badEntry(i);
    for (const t of holes.tiles) this.badTile(t.level, t.index);
    // Only the first ranges are listed there: the full pass finds the rest entry by entry.
  }

  private async checkMark(size: number): Promise<void> {
    const mark = await readCommitMark(this.store.dir);
    if (mark === undefined) return;
    if (mark.size > size) {
      this.lostTail = mark.size;
      this.add('corrupt', 'commit mark', `commits up to size ${mark.size} were acknowledged, but the latest stored checkpoint is ${size}: entries [${size}, ${mark.size}) are lost`);
      return;
    }
    const cp = await this.store.readCheckpoint(mark.size).catch(() => undefined);
    if (cp !== undefined && !equalBytes(cp.rootHash, mark.rootHash)) {
      this.add('corrupt', 'commit mark', `the checkpoint stored at size ${mark.size} is not the one committed there`);
    }
  }

  /** Opens the leaf-hash index and checks its watermark; what it covers is checked in the pass. */
  private async openDedup(size: number): Promise<{ db: Level<Uint8Array, Uint8Array>; covered: number } | undefined> {
    const dir = join(this.store.dir, 'dedup');
    if (!existsSync(dir)) {
      this.dedupBad = true;
      this.add('derived', 'dedup index', `${dir} is missing (candor repair rebuilds it; so does the next start)`);
      return undefined;
    }
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      this.dedupBad = true;
      const detail = openFailureDetail(err);
      this.add('derived', 'dedup index', `${dir} cannot be opened: ${detail} (candor repair rebuilds it)`);
      return undefined;
    }
    try {
      const raw = await db.get(WATERMARK_KEY);
      if (raw === undefined) return { db, covered: 0 };
      const mark = codec.decodeDedupWatermark(raw);
      const cp = mark.size <= size ? await this.store.readCheckpoint(mark.size) : undefined;
      if (cp === undefined || !equalBytes(cp.rootHash, mark.rootHash)) {
        this.dedupBad = true;
        this.add('derived', 'dedup index', `its watermark (size ${mark.size}) is not this log's (candor repair rebuilds it)`);
        return { db, covered: 0 };
      }
      return { db, covered: mark.size };
    } catch (err) {
      this.dedupBad = true;
      this.add('derived', 'dedup index', `its watermark does not decode: ${(err as Error).message}`);
      return { db, covered: 0 };
    }
  }

  /** The full pass (see the module comment). */
  private async pass(
    view: TreeView,
    size: number,
    dedup: Level<Uint8Array, Uint8Array> | undefined,
    dedupCovered: number
  ): Promise<void> {
    const store = this.store;
    const frontier = new Frontier();
    // The tile being recomputed at each tile level, compared with the stored one when full.
    const building = new Map<number, { index: number; data: Uint8Array; width: number }>();
    const differing: Array<{ level: number; index: number }> = [];
    const compareTile = async (level: number, index: number, data: Uint8Array): Promise<void> => {
      this.tilesChecked++;
      const stored = await store.readTile(level, index);
      if (stored === undefined || stored.length < data.length) return; // a hole, reported
      if (!equalBytes(stored.subarray(0, data.length), data)) differing.push({ level, index });
    };
    const pendingTiles: Array<Promise<void>> = [];
    const onNode = (level: number, index: number, hash: Uint8Array): void => {
      if (level % TILE_HEIGHT !== 0) return;
      const tileLevel = level / TILE_HEIGHT;
      const tileIndex = Math.floor(index / TILE_WIDTH);
      let t = building.get(tileLevel);
      if (t === undefined || t.index !== tileIndex) {
        t = { index: tileIndex, data: new Uint8Array(TILE_WIDTH * HASH_SIZE), width: 0 };
        building.set(tileLevel, t);
      }
      t.data.set(hash, t.width * HASH_SIZE);
      t.width++;
      if (t.width === TILE_WIDTH) pendingTiles.push(compareTile(tileLevel, tileIndex, t.data));
    };
    // Checkpoint roots are compared as the recomputed tree passes their sizes.
    const sizes = store.storedKeys().checkpointSizes;
    let sizeBatch: number[] = [];
    let sizeAt = 0;
    const nextSize = async (): Promise<number | undefined> => {
      while (sizeAt >= sizeBatch.length) {
        sizeBatch = await sizes();
        sizeAt = 0;
        if (sizeBatch.length === 0) return undefined;
      }
      return sizeBatch[sizeAt];
    };
    const rootMismatch: StoredCheckpoint[] = [];
    const undecided: number[] = [];
    let brokenAt: number | undefined; // the first index whose leaf hash is unknown
    const bundles = Math.ceil(size / TILE_WIDTH);
    for (let b = 0; b < bundles; b++) {
      const first = b * TILE_WIDTH;
      const width = tileWidth(0, b, size);
      const tile = await store.readTile(0, b);
      const entries = await this.readBundleEntries(first, width);
      const hashes: Uint8Array[] = [];
      for (let i = 0; i < width; i++) {
        const e = entries[i];
        const stored = tile !== undefined && tile.length >= (i + 1) * HASH_SIZE ? tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE) : undefined;
        if (e === undefined) {
          this.badEntry(first + i);
          brokenAt ??= first + i;
          hashes.push(stored ?? new Uint8Array(HASH_SIZE));
          continue;
        }
        this.entriesChecked++;
        const h = leafHash(e);
        hashes.push(h);
        if (stored !== undefined && !equalBytes(h, stored)) {
          // Entry or tile: decided below, once it is known whether the entries are the tree's.
          if (!(await view.isAuthentic(0, b))) {
            this.badTile(0, b);
            undecided.push(first + i); // the entry may be right too: known once all are hashed
          } else {
            this.badEntry(first + i);
            this.add('corrupt', `entry ${first + i}`, `its bytes do not match its leaf hash in hash tile 0/${b} (which authenticates to the latest checkpoint)`);
          }
        }
      }
      if (dedup !== undefined && first < dedupCovered) await this.checkDedup(dedup, hashes, first, dedupCovered);
      // Append, stopping at each checkpoint size inside the bundle to compare roots.
      let at = 0;
      for (;;) {
        const s = await nextSize();
        if (s === undefined || s > first + width) break;
        if (s >= first) {
          frontier.appendLeaves(hashes.slice(at, s - first), onNode);
          at = s - first;
          await this.checkCheckpointAt(s, frontier, rootMismatch);
        }
        sizeAt++;
      }
      frontier.appendLeaves(hashes.slice(at), onNode);
      await Promise.all(pendingTiles.splice(0));
    }
    // The partial tiles at the right edge.
    for (const [level, t] of building) {
      if (t.width < TILE_WIDTH) await compareTile(level, t.index, t.data.subarray(0, t.width * HASH_SIZE));
    }
    const latest = this.latest!;
    this.entriesAuthentic = brokenAt === undefined && equalBytes(frontier.root(), latest.rootHash);
    for (const t of differing) {
      if (this.entriesAuthentic) {
        this.badTile(t.level, t.index);
        this.add('corrupt', `hash tile ${t.level}/${t.index}`, 'it differs from the tile recomputed from the entries, which hash to the latest checkpoint');
      } else if (!(await view.isAuthentic(t.level, t.index))) {
        this.badTile(t.level, t.index);
        this.add('corrupt', `hash tile ${t.level}/${t.index}`, 'it does not authenticate to the latest checkpoint, and the entries do not either');
      }
    }
    if (!this.entriesAuthentic) {
      for (const i of undecided) {
        this.badEntry(i);
        if (this.undecided.length < MAX_DAMAGE) this.undecided.push(i);
        const why = 'neither it nor its hash tile is the tree of the latest checkpoint: refill both from a copy';
        this.add('corrupt', `entry ${i}`, `its bytes do not match its leaf hash, and ${why}`);
      }
    }
    for (const cp of rootMismatch) {
      // With damaged entries every later root differs: only a root the stored tiles do not
      // give either is the checkpoint's own fault.
      if (!this.entriesAuthentic && (await new TreeView(cp.size, cp.rootHash, (l, i) => store.readTile(l, i)).checkRoot().then(() => true, () => false))) continue;
      this.add('corrupt', `checkpoint ${cp.size}`, `its root is not the root of the log's first ${cp.size} entries: it is not consistent with the latest checkpoint`);
    }
  }

  /** The entries [first, first + width), undefined where the store lost one. */
  private async readBundleEntries(first: number, width: number): Promise<Array<Uint8Array | undefined>> {
    try {
      return await this.store.readEntries(first, first + width);
    } catch (err) {
      if (!isLogError(err, 'CORRUPT')) throw err;
    }
    const out: Array<Uint8Array | undefined> = [];
    for (let i = 0; i < width; i++) out.push(await this.store.readEntry(first + i).catch(() => undefined));
    return out;
  }

  private async checkCheckpointAt(size: number, frontier: Frontier, mismatch: StoredCheckpoint[]): Promise<void> {
    let cp: StoredCheckpoint | undefined;
    try {
      cp = await this.store.readCheckpoint(size);
    } catch (err) {
      this.add('corrupt', `checkpoint ${size}`, `its record does not decode: ${(err as Error).message}`);
      return;
    }
    if (cp === undefined) return;
    if (size !== this.latest?.size) {
      this.checkpointsChecked++;
      this.checkNote(cp);
    }
    if (!equalBytes(frontier.root(), cp.rootHash)) mismatch.push(cp);
  }

  private async checkDedup(db: Level<Uint8Array, Uint8Array>, hashes: Uint8Array[], first: number, covered: number): Promise<void> {
    const n = Math.min(hashes.length, covered - first);
    const values = await db.getMany(hashes.slice(0, n));
    for (let i = 0; i < n; i++) {
      const v = values[i];
      let got: number | undefined;
      try {
        got = v === undefined ? undefined : codec.decodeIndex(v);
      } catch {
        got = -1;
      }
      if (got !== first + i) {
        if (!this.dedupBad) {
          const says = got === undefined ? 'has no index for it' : `says ${got}`;
          this.add('derived', 'dedup index', `the leaf hash of entry ${first + i} ${says} (candor repair rebuilds the index)`);
        }
        this.dedupBad = true;
        return;
      }
    }
  }

  /** The record index's marker and records against the log (DIR/index, when present). */
  private async checkRecords(size: number): Promise<void> {
    const dir = join(this.dataDir, 'index');
    if (!existsSync(dir)) return;
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      this.recordsBad = true;
      const detail = openFailureDetail(err);
      this.add('derived', 'record index', `${dir} cannot be opened: ${detail} (candor repair rebuilds it)`);
      return;
    }
    try {
      const markerText = await db.get('~indexed');
      if (markerText === undefined) return;
      const marker = JSON.parse(markerText) as { size?: unknown; root?: unknown };
      const covered = marker.size;
      if (typeof covered !== 'number' || !Number.isSafeInteger(covered) || covered < 0 || covered > size) {
        this.recordsBad = true;
        this.add('derived', 'record index', `it says it covers ${String(covered)} entries, the log has ${size}`);
        return;
      }
      if (typeof marker.root === 'string' && covered > 0) {
        const cp = await this.store.readCheckpoint(covered);
        if (cp !== undefined && toBase64(cp.rootHash) !== marker.root) {
          this.recordsBad = true;
          this.add('derived', 'record index', `its marker's root is not the log's at size ${covered}: it indexes another log`);
          return;
        }
      }
      // No record may be listed at or beyond what it covers (keys `r␀<16 digits>`).
      const beyond = await db.keys({ gte: `r\x00${String(covered).padStart(16, '0')}`, lt: 'r\x01', limit: 1 }).all();
      if (beyond.length > 0) {
        this.recordsBad = true;
        this.add('derived', 'record index', `it lists a record at ${Number(beyond[0]!.slice(2))}, beyond the ${covered} entries it covers`);
      }
    } catch (err) {
      this.recordsBad = true;
      this.add('derived', 'record index', `it cannot be read: ${(err as Error).message}`);
    } finally {
      await db.close();
    }
  }
}
