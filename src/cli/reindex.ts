/**
 * `candor reindex`: rebuilds the record index of a log from the log itself, with the log
 * stopped (the running server holds the store; `candor serve --reindex` does the same at
 * start-up).
 *
 *   candor reindex --data DIR --submitters FILE
 *
 * The index (`DIR/index/`) is cleared and every entry of the log (`DIR/db/`) is read
 * again; signers are attributed with the allowlist FILE, which is therefore required.
 * Exit 0 done; 1 error (no log in DIR, the log is in use); 2 usage.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSubmitters } from '../governance/submitters.js';
import { LevelKv } from '../search/kv.js';
import { RecordIndex } from '../search/record-index.js';
import { LevelStore } from '../storage/level-store.js';
import { CommandError, dataDir, nodeIo, readInput, runCommand, usage, type GovernanceIo } from './governance-io.js';

const SYNOPSIS = 'candor reindex --data DIR --submitters FILE';

/** The parseArgs options of `candor reindex`. */
export const REINDEX_OPTIONS = { data: { type: 'string' }, submitters: { type: 'string' } } as const;

/**
 * Runs `candor reindex` with the arguments after `reindex`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function reindexCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('reindex', io, SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: REINDEX_OPTIONS,
      strict: true,
    });
    const dir = dataDir(io, values.data);
    const file = values.submitters ?? io.env('CANDOR_SUBMITTERS');
    if (file === undefined) {
      throw usage('--submitters FILE is required: signers are attributed with that allowlist');
    }
    let list;
    try {
      list = parseSubmitters(await readInput(io, file, 'submitters file'));
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw usage(`--submitters ${file}: ${(err as Error).message}`);
    }
    if (!existsSync(join(dir, 'db'))) throw new CommandError(1, `there is no log in ${dir}`);
    const store = new LevelStore(join(dir, 'db'));
    await store.open();
    try {
      const cp = await store.latestCheckpoint();
      const size = cp?.size ?? 0;
      const kv = await LevelKv.open(join(dir, 'index'));
      const index = await RecordIndex.open({
        kv,
        store,
        size: () => size,
        submitters: () => list,
        warn: (line) => io.err(`candor reindex: ${line}\n`),
      });
      try {
        await index.rebuild();
        io.out(`indexed ${size} entries of ${dir}: ${index.recordsIndexed} records\n`);
      } finally {
        await index.close();
      }
    } finally {
      await store.close();
    }
    return 0;
  });
}
