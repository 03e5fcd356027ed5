/**
 * `candor fsck`: checks a log's data directory offline (src/log/fsck.ts does the checking;
 * this file parses flags and prints). See FSCK_HELP for what it checks and its exit codes.
 */
import { parseArgs } from 'node:util';
import { fsck, FsckError, type FsckReport } from '../log/fsck.js';
import { useNodeCrypto } from '../server/node-crypto.js';
import { CommandError, dataDir, nodeIo, runCommand, type GovernanceIo } from './governance-io.js';

/**
 * Exit codes of `candor fsck` and `candor repair`, above every other command's (0–8), so
 * that a script can tell them apart from any other failure.
 */
export const FSCK_EXIT = {
  /** Clean (repair: nothing left to repair). */
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  /** The log's own data is damaged or missing (entries, tiles, checkpoints, identity). */
  CORRUPT: 10,
  /** Only derived indexes (leaf-hash index, record index) are damaged: repair rebuilds them. */
  DERIVED: 11,
  /** There is no log there, or LevelDB cannot open it. */
  UNREADABLE: 12,
  /** A server (or another candor) holds the directory: fsck and repair run offline. */
  IN_USE: 13,
  /** repair --from: the copy is not this log, or what it served did not verify. */
  BAD_SOURCE: 14,
} as const;

export const FSCK_SYNOPSIS = 'candor fsck --data DIR [--quick] [--json]';

export const FSCK_HELP = `usage: ${FSCK_SYNOPSIS}

Checks the log in DIR offline (stop the server first: fsck refuses a directory in use).

  --data DIR   the data directory (DIR/db is the log)                   [CANDOR_DATA]
  --quick      a cheaper check: the log's identity, the latest checkpoint's signature,
               that every entry and hash tile is present up to it (keys only), the
               commit mark, the right edge of the tree against the latest root, and
               the watermarks of the leaf-hash and record indexes. Reads no entry.
  --json       print the report as one JSON object

Without --quick it also reads every entry: recomputes every leaf hash, every hash tile
and the root at every stored checkpoint (each checkpoint's signature checked, and its root
that of the first N entries: consistent with the next), checks the leaf-hash index
(DIR/db/dedup) entry by entry and the record index (DIR/index) against the log.

It prints the first bad entry or tile first, then the other findings and a summary.

Exit codes:
  0   clean
  10  corrupt: entries, tiles, checkpoints or the log's identity are damaged or missing
      (candor repair --data DIR [--from URL])
  11  only the derived indexes are damaged (candor repair --data DIR rebuilds them)
  12  unreadable: no log in DIR, or LevelDB cannot open it
  13  in use: a server holds DIR
  1   other error; 2 usage
`;

/** Maps why fsck could not run to its exit code. */
export function fsckErrorCode(err: FsckError): number {
  if (err.reason === 'in-use') return FSCK_EXIT.IN_USE;
  return FSCK_EXIT.UNREADABLE;
}

/** The exit code of a report: clean, derived indexes only, or corrupt. */
export function reportCode(report: FsckReport): number {
  if (report.findings.some((f) => f.severity === 'corrupt')) return FSCK_EXIT.CORRUPT;
  if (report.findings.length > 0) return FSCK_EXIT.DERIVED;
  return FSCK_EXIT.OK;
}

/** The report as lines of text: findings first (the first bad one on top), then a summary. */
export function formatReport(report: FsckReport): string {
  let out = '';
  for (const f of report.findings) out += `${f.severity === 'corrupt' ? 'CORRUPT' : 'DERIVED'} ${f.where}: ${f.message}\n`;
  if (report.omitted > 0) out += `… and ${report.omitted} more findings\n`;
  const what = report.quick
    ? 'quick check'
    : `${report.entriesChecked} entries, ${report.tilesChecked} tiles, ${report.checkpointsChecked} checkpoints checked`;
  const corrupt = report.findings.filter((f) => f.severity === 'corrupt').length;
  const derived = report.findings.length - corrupt;
  const verdict =
    report.findings.length === 0
      ? 'clean'
      : `${corrupt} corrupt, ${derived} derived-index findings` +
        (report.omitted > 0 ? ` (+${report.omitted} more)` : '');
  out += `candor fsck: log "${report.origin ?? '?'}" in ${report.dataDir}, size ${report.size}: ${what}: ${verdict}\n`;
  return out;
}

/** The parseArgs options of `candor fsck`. */
export const FSCK_OPTIONS = {
  data: { type: 'string' },
  quick: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs `candor fsck` with the arguments after `fsck`; resolves with the exit code
 * (FSCK_EXIT). Never throws and never exits the process.
 */
export function fsckCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('fsck', io, FSCK_SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: FSCK_OPTIONS,
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) {
      io.out(FSCK_HELP);
      return FSCK_EXIT.OK;
    }
    const dir = dataDir(io, values.data);
    useNodeCrypto(); // the same hashes and signatures, several times faster
    let report: FsckReport;
    try {
      report = await fsck(dir, { quick: values.quick === true });
    } catch (err) {
      if (err instanceof FsckError) throw new CommandError(fsckErrorCode(err), err.message);
      throw err;
    }
    io.out(values.json === true ? `${JSON.stringify(report)}\n` : formatReport(report));
    return reportCode(report);
  });
}
