/**
 * The log's signing key on disk: one line holding a note signer key
 * (`PRIVATE+KEY+<name>+<key id>+<base64>`), in a file only its owner can read (mode 0600).
 */
import { open, readFile, stat } from 'node:fs/promises';
import { generateSignerKey, parseSignerKey } from '../note/keys.js';
import { LogError } from '../util/errors.js';

export interface KeyPair {
  signerKey: string;
  verifierKey: string;
}

/**
 * Creates a new signer key file at `path` (failing if it exists) with mode 0600, fsynced.
 * @returns the key pair; the caller prints the verifier key.
 */
export async function createKeyFile(path: string, name: string): Promise<KeyPair> {
  const pair = generateSignerKey(name);
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(pair.signerKey + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  return pair;
}

/**
 * Reads a signer key file. Refuses files readable by group or others, since anyone who
 * can read the key can sign checkpoints in the log's name.
 * @throws LogError MALFORMED for a file that does not hold one signer key.
 */
export async function readKeyFile(path: string): Promise<string> {
  const st = await stat(path);
  if (process.platform !== 'win32' && st.mode % 0o100 !== 0) {
    throw new LogError(
      'MALFORMED',
      `key file ${path} is readable by others (mode ${(st.mode % 0o1000).toString(8)}); run chmod 600 ${path}`
    );
  }
  const text = (await readFile(path, 'utf8')).trim();
  try {
    parseSignerKey(text);
  } catch (err) {
    throw new LogError('MALFORMED', `key file ${path} does not hold a valid signer key`, {
      cause: err,
    });
  }
  return text;
}
