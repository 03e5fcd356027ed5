/**
 * A LevelStore with injected faults, for tests of failed writes and their recovery: the
 * next batch write can fail with nothing written (`lost`), fail after it landed (`landed`,
 * as when an fsync reports an error for data that reached the disk), or drop its last put;
 * the leaf-hash index's next write can fail; opens can be made to fail, and reopenBlocker
 * to report a reason to wait.
 */
import { LevelStore, type LevelPut } from '../../src/storage/level-store.js';
import { DedupIndex, MAX_PENDING_ENTRIES } from '../../src/storage/dedup-index.js';

/** A leaf-hash index whose next background write fails when its store says so. */
class FaultyIndex extends DedupIndex {
  constructor(
    dir: string,
    private readonly owner: FaultyLevelStore
  ) {
    super(dir, MAX_PENDING_ENTRIES, LevelStore.LEVEL_OPTIONS);
  }

  protected override async write(batch: Parameters<DedupIndex['write']>[0]): Promise<void> {
    if (this.owner.failIndexWrite) {
      this.owner.failIndexWrite = false;
      await batch.close();
      throw new Error('injected: IO error: index write failed');
    }
    await super.write(batch);
  }
}

export type WriteFault = 'lost' | 'landed' | 'drop-checkpoint';

export class FaultyLevelStore extends LevelStore {
  /** The fault of the next batch write (then cleared). */
  fault: WriteFault | undefined;
  /** Opens that fail (with an injected I/O error) before one succeeds. */
  failOpens = 0;
  /** When set, reopenBlocker reports it (as for too little free space). */
  blocker: string | undefined;
  /** Opens attempted, the first one included. */
  opens = 0;
  /** When set, the leaf-hash index's next background write fails (then it is cleared). */
  failIndexWrite = false;

  protected override makeDedupIndex(dir: string): DedupIndex {
    return new FaultyIndex(dir, this);
  }

  override async open(): Promise<void> {
    this.opens++;
    if (this.failOpens > 0) {
      this.failOpens--;
      throw new Error('injected: IO error: cannot open');
    }
    await super.open();
  }

  override async reopenBlocker(): Promise<string | undefined> {
    return this.blocker ?? (await super.reopenBlocker());
  }

  protected override async writeBatch(ops: LevelPut[]): Promise<void> {
    const fault = this.fault;
    this.fault = undefined;
    if (fault === 'lost') throw new Error('injected: write failed, nothing written');
    if (fault === 'drop-checkpoint') return super.writeBatch(ops.slice(0, -1));
    await super.writeBatch(ops);
    if (fault === 'landed') throw new Error('injected: write reported failure after landing');
  }
}
