/**
 * `candor backup`: writes a verified backup of a log (format: docs/backup.md), while its
 * server runs or not.
 *
 *   candor backup --data DIR --out PATH [--url URL] [--key FILE] [--with-key]
 *                 [--verifier-key VKEY] [--timeout MS]
 *
 * A running server holds DIR's LevelDB (one process per directory), so then the backup is
 * read through the server's public tlog-tiles API at URL (default CANDOR_URL, else
 * http://127.0.0.1:8080): one signed checkpoint, and the entry bundles of that size, which
 * no later write changes. No admin endpoint is needed and nothing secret crosses HTTP.
 * With the server stopped, the same files are read from DIR's store directly. Either way,
 * every entry is checked against the checkpoint, verified under the log's key (DIR/log.key,
 * --key FILE, the store's record, or --verifier-key).
 *
 * The signer key goes into the backup only with --with-key (then PATH is mode 0700 and
 * PATH/log.key 0600: whoever holds the backup can sign as the log). Without it, keep the
 * key safe apart: a log restored without its key cannot append.
 *
 * Exit codes: 0 written; 1 error (the log unreadable, I/O); 2 usage; 3 the log did not
 * verify (wrong signature, entries or tiles: nothing written); 4 PATH exists, or the key
 * is not the log's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isLogError, LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { CommandError, dataDir, logUrl, nodeIo, runCommand, usage, type GovernanceIo } from './governance-io.js';

const SYNOPSIS =
  'candor backup --data DIR --out PATH [--url URL] [--key FILE] [--with-key] [--verifier-key VKEY] [--timeout MS]';

/** The complete usage text of `candor backup` and `candor restore`, for --help and candor help. */
export const RECOVERY_USAGE = `  backup      write a verified backup of a log, while it is served or not (docs/backup.md):
              --data DIR --out PATH [--url URL] [--key FILE] [--with-key]
              [--verifier-key VKEY] [--timeout MS]
              reads the running server at URL (default CANDOR_URL or http://127.0.0.1:8080)
              when DIR is in use, else DIR itself; --with-key includes the signer key
              (PATH 0700, PATH/log.key 0600)
              (exit 0 written, 3 the log did not verify, 4 PATH exists or wrong key,
               1 other error, 2 usage)
  restore     build a new data directory from a backup or from any tlog-tiles copy:
              --from PATH --data DIR [--key FILE] [--verifier-key VKEY]
              --from-tiles URL --data DIR [--key FILE] [--verifier-key VKEY] [--timeout MS]
              checks the checkpoint signature, every entry and the root; with the signer key
              (in the backup, or --key) the restored log goes on appending, without it
              candor serve refuses it until given --key
              (exit 0 restored, 3 the source did not verify, 4 DIR not empty or wrong key,
               1 other error, 2 usage)
`;

/** Exit codes of backup and restore (besides 0, 1 and 2). */
export const RECOVERY_EXIT = { VERIFY: 3, EXISTS: 4 } as const;

/** Error codes meaning "the source or backup is wrong", exit 3. */
const VERIFY_CODES = new Set(['BAD_SIGNATURE', 'PROOF_FAILED', 'ENTRY_MISMATCH', 'CORRUPT', 'MALFORMED', 'UNKNOWN_LOG']);

/** Maps a LogError of a backup or restore to its exit code (module comment). */
export function recoveryError(err: unknown): unknown {
  if (!isLogError(err)) return err;
  if (VERIFY_CODES.has(err.code)) return new CommandError(RECOVERY_EXIT.VERIFY, `refused: ${err.message}`);
  if (err.code === 'CONFLICT') return new CommandError(RECOVERY_EXIT.EXISTS, err.message);
  return new CommandError(1, err.message);
}

/** Parses --timeout MS. @throws CommandError (usage). */
export function timeoutFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    const ms = parseDecimal(text, '--timeout');
    if (ms >= 1) return ms;
  } catch {
    // reported below
  }
  throw usage(`--timeout must be a whole number of milliseconds, at least 1, got "${text}"`);
}

/**
 * The keys of a backup or a restore: the signer key read from `keyPath` (when given), and
 * the verifier key to check the log against: `pinned` (--verifier-key), else the signer
 * key's, else undefined.
 * @throws LogError CONFLICT when `pinned` is not the signer key's verifier key.
 */
export async function recoveryKeys(
  keyPath: string | undefined,
  pinned: string | undefined
): Promise<{ signerKey: string | undefined; verifierKey: string | undefined }> {
  if (keyPath === undefined) return { signerKey: undefined, verifierKey: pinned };
  const { readKeyFile } = await import('../server/keyfile.js');
  const { verifierKeyOf } = await import('../recovery/backup.js');
  const signerKey = await readKeyFile(keyPath);
  const own = verifierKeyOf(signerKey);
  if (pinned !== undefined && pinned !== own) throw new LogError('CONFLICT', `--verifier-key is not the key of ${keyPath}`);
  return { signerKey, verifierKey: pinned ?? own };
}

/** The parseArgs options of `candor backup`. */
export const BACKUP_OPTIONS = {
  data: { type: 'string' },
  out: { type: 'string' },
  url: { type: 'string' },
  key: { type: 'string' },
  'with-key': { type: 'boolean' },
  'verifier-key': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs `candor backup` with the arguments after `backup`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function backupCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('backup', io, SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: BACKUP_OPTIONS,
      strict: true,
    });
    if (values.help === true) {
      io.out(`usage: candor <command> [flags]\n\n${RECOVERY_USAGE}`);
      return 0;
    }
    const dir = dataDir(io, values.data);
    if (values.out === undefined) throw usage('--out PATH is required');
    const timeoutMs = timeoutFlag(values.timeout);
    const { useNodeCrypto } = await import('../server/node-crypto.js');
    useNodeCrypto();
    const { writeBackup } = await import('../recovery/backup.js');
    const keyPath = values.key ?? (existsSync(join(dir, 'log.key')) ? join(dir, 'log.key') : undefined);
    if (values['with-key'] === true && keyPath === undefined) {
      throw usage(`--with-key needs the signer key: ${join(dir, 'log.key')} is missing, pass --key FILE`);
    }
    try {
      const keys = await recoveryKeys(keyPath, values['verifier-key']);
      const signerKey = keys.signerKey;
      let verifierKey = keys.verifierKey;
      const include = values['with-key'] === true ? signerKey : undefined;
      const say = (line: string): void => io.err(`${line}\n`);
      if (!existsSync(join(dir, 'db'))) throw new CommandError(1, `there is no log in ${dir}`);
      const { openIdleStore } = await import('../recovery/idle-store.js');
      const idle = await openIdleStore(join(dir, 'db'));
      let result;
      if (idle !== undefined) {
        // The server is stopped: read DIR's store directly, at its latest checkpoint.
        try {
          const meta = await idle.store.readMeta();
          if (meta === undefined) throw new CommandError(1, `the log in ${dir} has no identity record`);
          if (verifierKey !== undefined && verifierKey !== meta.verifierKey) {
            throw new LogError('CONFLICT', `the log in ${dir} is ${meta.verifierKey}, not ${verifierKey}`);
          }
          verifierKey = meta.verifierKey;
          say(`${dir} is not in use: reading its store`);
          result = await writeBackup({ source: idle.source, verifierKey, out: values.out, signerKey: include, say });
        } finally {
          await idle.store.close();
        }
      } else {
        const url = logUrl(io, values.url);
        if (verifierKey === undefined) {
          throw usage(`${dir} is in use and has no log.key: pass --key FILE or --verifier-key VKEY`);
        }
        say(`${dir} is in use by a server: reading it at ${url}`);
        const source = { url, fetch: io.fetch, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
        result = await writeBackup({ source, verifierKey, out: values.out, signerKey: include, say });
      }
      const { manifest } = result;
      const key = manifest.signerKey === null ? 'without the signer key' : 'with the signer key (keep it secret)';
      io.out(`backed up ${manifest.size} entries of "${manifest.origin}" to ${values.out} ${key}\n`);
      io.out(`root ${manifest.rootHash}, ${manifest.files} files, ${result.bytes} bytes\n`);
      return 0;
    } catch (err) {
      throw recoveryError(err);
    }
  });
}
