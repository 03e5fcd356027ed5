/**
 * `candor repair`: repairs a stopped log's data directory (src/log/repair.ts does the
 * work; this file parses flags and prints). See REPAIR_HELP for what it repairs.
 */
import { parseArgs } from 'node:util';
import { FsckError } from '../log/fsck.js';
import { repair, SourceError } from '../log/repair.js';
import { useNodeCrypto } from '../server/node-crypto.js';
import { FSCK_EXIT, formatReport, fsckErrorCode, reportCode } from './fsck.js';
import { CommandError, dataDir, nodeIo, readInput, runCommand, usage, type GovernanceIo } from './governance-io.js';

export const REPAIR_SYNOPSIS = 'candor repair --data DIR [--from URL] [--submitters FILE]';

export const REPAIR_HELP = `usage: ${REPAIR_SYNOPSIS}

Repairs the log in DIR offline (stop the server first), then checks it as candor fsck does.

  --data DIR          the data directory (DIR/db is the log)              [CANDOR_DATA]
  --from URL          another tlog-tiles copy of this log (its server, a mirror, its
                      tiles served over HTTP) to refill lost or damaged entries and
                      tiles from. Its checkpoint must verify under the log's key (from
                      DIR's own identity record) and every tile and entry fetched is
                      checked against it, and again against DIR's latest checkpoint.
  --submitters FILE   the submitter allowlist, to rebuild the record index (DIR/index)
                      now; without it a damaged record index is removed and the server
                      rebuilds it at its next start                       [CANDOR_SUBMITTERS]

Rebuilt from what is intact: hash tiles (from the entries, when they hash to the latest
checkpoint), the leaf-hash index (DIR/db/dedup) and the record index. Refilled with
--from: entries, and tiles the entries cannot give. Never repaired: commits lost from
the end of the log (restore those from a copy), damaged checkpoint records.

Exit codes:
  0   repaired (or nothing to repair): the final check is clean
  10  still damaged after the repair (the final check's findings are printed)
  12  unreadable: no log in DIR, or LevelDB cannot open it
  13  in use: a server holds DIR
  14  bad source: the --from copy is not this log, or served data that does not verify
  1   other error (the copy unreachable, say); 2 usage
`;

/** The parseArgs options of `candor repair`. */
export const REPAIR_OPTIONS = {
  data: { type: 'string' },
  from: { type: 'string' },
  submitters: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs `candor repair` with the arguments after `repair`; resolves with the exit code
 * (FSCK_EXIT). Never throws and never exits the process.
 */
export function repairCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('repair', io, REPAIR_SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: REPAIR_OPTIONS,
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) {
      io.out(REPAIR_HELP);
      return FSCK_EXIT.OK;
    }
    const dir = dataDir(io, values.data);
    if (values.from !== undefined && !/^https?:\/\//.test(values.from)) throw usage('--from must be an http:// or https:// URL');
    const file = values.submitters ?? io.env('CANDOR_SUBMITTERS');
    const submitters = file === undefined ? undefined : await readInput(io, file, 'submitters file');
    useNodeCrypto();
    try {
      const r = await repair(dir, {
        ...(values.from === undefined ? {} : { from: values.from }),
        ...(submitters === undefined ? {} : { submitters }),
        fetch: io.fetch,
        say: (line) => io.err(`candor repair: ${line}\n`),
      });
      const done = [
        `${r.tilesRebuilt} tiles rebuilt`,
        `${r.entriesRefilled} entries and ${r.tilesRefilled} tiles refilled`,
        `leaf-hash index ${r.dedupRebuilt ? 'rebuilt' : 'kept'}`,
        `record index ${r.recordsRebuilt === 'no' ? 'kept' : r.recordsRebuilt}`,
      ].join(', ');
      io.out(`candor repair: found ${r.before.findings.length} findings; ${done}\n`);
      io.out(formatReport(r.after));
      return reportCode(r.after) === FSCK_EXIT.OK ? FSCK_EXIT.OK : FSCK_EXIT.CORRUPT;
    } catch (err) {
      if (err instanceof FsckError) throw new CommandError(fsckErrorCode(err), err.message);
      if (err instanceof SourceError) throw new CommandError(FSCK_EXIT.BAD_SOURCE, err.message);
      throw err;
    }
  });
}
