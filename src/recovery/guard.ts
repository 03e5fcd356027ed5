/**
 * What `candor serve` checks of a data directory a restore built (restore.ts), before it
 * opens anything: a restore that did not finish is never served, and a log restored
 * without its signing key is not served either (it could not append, and serving it
 * would create a new key that signs for nobody). Directories no restore touched pass.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogError } from '../util/errors.js';
import { RESTORE_MARKER, RESTORE_RECORD, type RestoreRecord } from './restore.js';

/**
 * @param keyFile the signer key file serve was given (--key), if any.
 * @throws LogError CORRUPT for an unfinished restore; NOT_FOUND for a log restored without
 *   its key when no key is given.
 */
export async function checkRestoredDataDir(dataDir: string, keyFile: string | undefined): Promise<void> {
  if (existsSync(join(dataDir, RESTORE_MARKER))) {
    throw new LogError(
      'CORRUPT',
      `${dataDir} holds a restore that did not finish: run the same candor restore again (it starts over)`
    );
  }
  const recordPath = join(dataDir, RESTORE_RECORD);
  if (keyFile !== undefined || existsSync(join(dataDir, 'log.key')) || !existsSync(recordPath)) return;
  let record: Partial<RestoreRecord> = {};
  try {
    record = JSON.parse(await readFile(recordPath, 'utf8')) as Partial<RestoreRecord>;
  } catch {
    // Unreadable: the key it names is unknown, the refusal stands.
  }
  const whose = typeof record.verifierKey === 'string' ? `the signer key of ${record.verifierKey}` : "the log's signer key";
  throw new LogError(
    'NOT_FOUND',
    `${dataDir} was restored without the log's signing key, so it cannot sign checkpoints: ` +
      `serve it with --key FILE, ${whose}`
  );
}
