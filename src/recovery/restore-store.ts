/**
 * The store a restore writes through: a LevelStore whose commits are the normal ones
 * (entry chunks, hash tiles and the checkpoint in one atomic, fsynced batch; the leaf-hash
 * index after), except that the intermediate commits of a restore leave out their
 * checkpoint record.
 *
 * Why. A restore rebuilds a log of any size in bounded memory, so it commits in batches,
 * and the store's commit takes a checkpoint for each batch's new size. The only signed
 * checkpoint a restore has is the final one (a tlog-tiles source serves one checkpoint),
 * and the store's checkpoints must be notes the log signed and published: signing new
 * ones at the batch sizes would publish checkpoints the log never did. So intermediate
 * commits carry a placeholder checkpoint (the true root hash at that size, an empty note)
 * that this store does not write: their entries and tiles land, their checkpoint does not.
 * Only the final commit writes a checkpoint, the source's own signed note.
 *
 * Crash safety. Until the final commit, the store holds entries past its latest
 * checkpoint (none), which LevelStore.open refuses as CORRUPT; and the restore's marker
 * file (restore.ts) makes `candor serve` refuse the directory with a message saying to run
 * the restore again. A half-restored directory never opens as a log.
 */
import { LevelStore, type LevelPut } from '../storage/level-store.js';
import { DedupIndex } from '../storage/dedup-index.js';
import { SUBLEVEL, rootKey } from '../storage/keys.js';
import type { IntegrationBatch } from '../storage/store.js';

/** The placeholder note of an intermediate restore commit; never written. */
const PLACEHOLDER_NOTE = '';

const CHECKPOINT_PREFIX = rootKey(SUBLEVEL.checkpoints, new Uint8Array(0));

function isCheckpointPut(op: LevelPut): boolean {
  return CHECKPOINT_PREFIX.every((b, i) => op.key[i] === b);
}

/** A LevelStore for restores (module comment). */
export class RestoreStore extends LevelStore {
  /** True while committing an intermediate batch, whose checkpoint is not written. */
  private intermediate = false;

  /**
   * Commits entries and tiles without a checkpoint record: `rootHash` is the tree's root at
   * the new size (the leaf-hash index records it with its watermark).
   */
  async commitIntermediate(batch: Omit<IntegrationBatch, 'checkpoint'>, rootHash: Uint8Array): Promise<void> {
    const size = batch.oldSize + batch.entries.length;
    const checkpoint = { size, rootHash, note: PLACEHOLDER_NOTE, timestamp: 0 };
    this.intermediate = true;
    try {
      await this.commit({ ...batch, checkpoint });
    } finally {
      this.intermediate = false;
    }
  }

  /**
   * Committed entries at most waiting for the leaf-hash index. A server lets a million
   * wait (a burst of appends should not wait for the index); a restore commits as fast as
   * it can read, so that queue would fill and hold about a hundred megabytes for nothing:
   * here commits wait for the index after one batch's worth of entries instead.
   */
  static readonly MAX_PENDING_ENTRIES = 65_536;

  protected override makeDedupIndex(dir: string): DedupIndex {
    return new DedupIndex(dir, RestoreStore.MAX_PENDING_ENTRIES, LevelStore.LEVEL_OPTIONS);
  }

  protected override async writeBatch(ops: LevelPut[]): Promise<void> {
    await super.writeBatch(this.intermediate ? ops.filter((op) => !isCheckpointPut(op)) : ops);
  }
}
