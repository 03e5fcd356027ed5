/**
 * `candor restore`: builds a new data directory from a backup (candor backup) or from any
 * c2sp.org/tlog-tiles copy of the log: its own server, a mirror, a CDN, a static directory.
 *
 *   candor restore --from PATH --data DIR [--key FILE] [--verifier-key VKEY]
 *   candor restore --from-tiles URL --data DIR [--key FILE] [--verifier-key VKEY] [--timeout MS]
 *
 * Nothing is believed: the checkpoint must verify under the log's verifier key, every
 * entry must hash to the verified tree, and the rebuilt root must be the checkpoint's. With
 * --from PATH, every file must also match the backup's SHA256SUMS, and the key defaults
 * to the manifest's (pin it with --verifier-key when the backup came from elsewhere). With
 * --from-tiles, the verifier key is --verifier-key or the one of --key FILE.
 *
 * DIR must be missing or empty (or hold an unfinished restore, which is started over). The
 * restored log serves the same checkpoint note. With the signer key (PATH/log.key, or
 * --key FILE: copied to DIR/log.key, mode 0600) it goes on appending; without it,
 * `candor serve --data DIR` refuses to start until given --key FILE.
 *
 * Exit codes: 0 restored; 1 error (source unreachable, I/O); 2 usage; 3 the source did
 * not verify (named in the message; nothing is left in DIR); 4 DIR is not empty, or the key
 * is not the log's.
 */
import { parseArgs } from 'node:util';
import { LogError } from '../util/errors.js';
import { nodeIo, runCommand, usage, type GovernanceIo } from './governance-io.js';
import { RECOVERY_USAGE, recoveryError, recoveryKeys, timeoutFlag } from './backup.js';

const SYNOPSIS =
  'candor restore (--from PATH | --from-tiles URL) --data DIR [--key FILE] [--verifier-key VKEY] [--timeout MS]';

/** The parseArgs options of `candor restore`. */
export const RESTORE_OPTIONS = {
  from: { type: 'string' },
  'from-tiles': { type: 'string' },
  data: { type: 'string' },
  key: { type: 'string' },
  'verifier-key': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs `candor restore` with the arguments after `restore`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function restoreCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('restore', io, SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: RESTORE_OPTIONS,
      strict: true,
    });
    if (values.help === true) {
      io.out(`usage: candor <command> [flags]\n\n${RECOVERY_USAGE}`);
      return 0;
    }
    const dir = values.data;
    if (dir === undefined) throw usage('--data DIR is required');
    const from = values.from;
    const fromTiles = values['from-tiles']?.replace(/\/+$/, '');
    if ((from === undefined) === (fromTiles === undefined)) throw usage('give one of --from PATH and --from-tiles URL');
    if (fromTiles !== undefined && !/^https?:\/\//.test(fromTiles)) {
      throw usage(`--from-tiles must be an http:// or https:// URL, got "${fromTiles}"`);
    }
    const timeoutMs = timeoutFlag(values.timeout);
    const { useNodeCrypto } = await import('../server/node-crypto.js');
    useNodeCrypto();
    const { assertRestorable, restoreLog } = await import('../recovery/restore.js');
    const say = (line: string): void => io.err(`${line}\n`);
    try {
      // The verifier key of --verifier-key or --key, if either is given.
      const { signerKey: givenKey, verifierKey: keyed } = await recoveryKeys(values.key, values['verifier-key']);
      await assertRestorable(dir); // before reading what may be a large source
      let record;
      if (from !== undefined) {
        const { openBackup } = await import('../recovery/restore-backup.js');
        say(`checking the files of ${from}`);
        const backup = await openBackup(from);
        const verifierKey = keyed ?? backup.manifest.verifierKey;
        if (verifierKey !== backup.manifest.verifierKey) {
          throw new LogError('CORRUPT', `${from} is a backup of ${backup.manifest.verifierKey}, not of ${verifierKey}`);
        }
        if (keyed === undefined) say(`verifier key (from the manifest): ${verifierKey}`);
        const signerKey = givenKey ?? backup.signerKey;
        record = await restoreLog({ source: backup.source, from, verifierKey, dataDir: dir, signerKey, expect: backup.expect, say });
      } else {
        const verifierKey = keyed;
        if (verifierKey === undefined) {
          throw usage('--from-tiles needs the log\'s key to check the copy against: --verifier-key VKEY or --key FILE');
        }
        const source = { url: fromTiles!, fetch: io.fetch, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
        record = await restoreLog({ source, from: fromTiles!, verifierKey, dataDir: dir, signerKey: givenKey, say });
      }
      io.out(`restored ${record.size} entries of "${record.origin}" into ${dir} (root ${record.rootHash})\n`);
      io.out(
        record.signerKey
          ? `the signer key is in ${dir}/log.key: candor serve --data ${dir} goes on appending\n`
          : `restored without the signer key: serve it with candor serve --data ${dir} --key FILE\n`
      );
      return 0;
    } catch (err) {
      throw recoveryError(err);
    }
  });
}
