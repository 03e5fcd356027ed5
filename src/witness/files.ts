/**
 * The witness's data directory:
 *
 *   DIR/witness.key   its Ed25519 key, note signer-key format (PRIVATE+KEY+<name>+…), 0600
 *   DIR/admin.token   the Bearer token for POST /v1/alerts/clear (64 hex digits), 0600
 *   DIR/witness.url   where it last served (informational; `clear-alert` reads it)
 *   DIR/db/           LevelDB state (witness-store.ts)
 *
 * Key and token are created on first start and refused later if group or others can read
 * them. The key can also be made before the first start (`candor witness keygen`), so that
 * witnesses that gossip with each other can each be given the others' verifier keys.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createKeyFile, readKeyFile } from '../server/keyfile.js';
import { parseSignerKey } from '../note/keys.js';
import { ed25519PublicKey } from '../note/ed25519.js';
import { formatCosignerVerifierKey } from '../checkpoint/cosignature.js';
import { toHex } from '../util/bytes.js';
import { LogError } from '../util/errors.js';

/** Paths inside a witness data directory. */
export function witnessPaths(dataDir: string): { key: string; token: string; url: string; db: string } {
  return {
    key: join(dataDir, 'witness.key'),
    token: join(dataDir, 'admin.token'),
    url: join(dataDir, 'witness.url'),
    db: join(dataDir, 'db'),
  };
}

/** The cosignature/v1 verifier key (type 0x04) of a witness's signer key text. */
export function witnessVerifierKey(signerKey: string): string {
  const { name, seed } = parseSignerKey(signerKey);
  return formatCosignerVerifierKey(name, ed25519PublicKey(seed));
}

/**
 * Creates the witness key (mode 0600) in `dataDir` (made, mode 0700, when missing), as the
 * first start would; never replaces an existing key.
 * @returns the signer key text.
 * @throws LogError CONFLICT when the data directory already holds a key.
 */
export async function createWitnessKey(dataDir: string, name: string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = witnessPaths(dataDir).key;
  try {
    return (await createKeyFile(path, name)).signerKey;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    throw new LogError('CONFLICT', `${path} already exists; candor witness key --data ${dataDir} prints its verifier key`);
  }
}

/**
 * Reads the witness key of `dataDir`.
 * @throws LogError NOT_FOUND when there is none; MALFORMED for a bad or readable-by-others
 *   key file.
 */
export async function readWitnessKey(dataDir: string): Promise<string> {
  const path = witnessPaths(dataDir).key;
  if (!existsSync(path)) throw new LogError('NOT_FOUND', `no witness key at ${path}`);
  return readKeyFile(path);
}

/**
 * Reads the witness key, or creates it (mode 0600) when missing. Its name must be `name`.
 * @returns the signer key text.
 * @throws LogError MALFORMED for a bad or readable-by-others key file; CONFLICT when the
 *   key has another name.
 */
export async function loadOrCreateWitnessKey(
  dataDir: string,
  name: string,
  say: (line: string) => void
): Promise<string> {
  const path = witnessPaths(dataDir).key;
  if (!existsSync(path)) {
    const signerKey = await createWitnessKey(dataDir, name);
    say(`created witness key ${path} (mode 0600); keep it secret and back it up`);
    return signerKey;
  }
  const skey = await readKeyFile(path);
  const keyName = parseSignerKey(skey).name;
  if (keyName !== name) {
    throw new LogError('CONFLICT', `${path} is the key of witness "${keyName}", not "${name}"`);
  }
  return skey;
}

/**
 * Reads the admin token, or creates one (32 random bytes as hex, mode 0600) when missing
 * and `create` is set.
 * @throws LogError MALFORMED for a bad or readable-by-others token file; NOT_FOUND when
 *   missing and not created.
 */
export async function loadAdminToken(dataDir: string, create: boolean): Promise<string> {
  const path = witnessPaths(dataDir).token;
  if (!existsSync(path)) {
    if (!create) throw new LogError('NOT_FOUND', `no admin token at ${path}`);
    const token = toHex(new Uint8Array(randomBytes(32)));
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(token + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return token;
  }
  const st = await stat(path);
  if (process.platform !== 'win32' && st.mode % 0o100 !== 0) {
    throw new LogError('MALFORMED', `${path} is readable by others; run chmod 600 ${path}`);
  }
  const token = (await readFile(path, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(token)) throw new LogError('MALFORMED', `${path} does not hold an admin token`);
  return token;
}

/** Records the URL the witness serves on (best effort). */
export async function writeUrlFile(dataDir: string, url: string): Promise<void> {
  await writeFile(witnessPaths(dataDir).url, url + '\n').catch(() => {});
}

/** The URL the witness last served on, if recorded. */
export async function readUrlFile(dataDir: string): Promise<string | undefined> {
  try {
    const url = (await readFile(witnessPaths(dataDir).url, 'utf8')).trim();
    return url === '' ? undefined : url;
  } catch {
    return undefined;
  }
}
