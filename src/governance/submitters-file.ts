/**
 * Editing a submitter allowlist file (submitters.ts describes the format): what
 * `candor submitters add|list|remove` does, so that nobody assembles the JSON by hand.
 *
 * The edits are functions from the file's bytes to new bytes. Each parses the file first
 * (a file the server would refuse is never edited) and the result before returning it (an
 * edit never produces one), keeps the other entries, their order and their fields as they
 * were, and writes one entry per line:
 *
 *   {
 *     "submitters": [
 *       {"name":"alice","roles":["engineer"],"keyid":"3f2a…","publicKey":"MCowBQYDK2VwAyEA…"},
 *       {"name":"bob","roles":["approver"],"environments":["prod-*"],"publicKey":"…"}
 *     ]
 *   }
 *
 * writeSubmittersFile replaces the file atomically (temporary file, fsync, rename, fsync
 * of the directory) under a lock file, so a running server, which reloads the allowlist
 * when the file changes, sees the old list or the new one and never half of one.
 */
import { readFile, stat } from 'node:fs/promises';
import { withFileLock, writeFileAtomic } from '../util/durable-file.js';
import { LogError } from '../util/errors.js';
import { formatPublicKey, type PublicKeyInfo } from './keys.js';
import { parseStrictJson } from './strict-json.js';
import { parseSubmitters, type Role, type SubmitterList } from './submitters.js';

/** A submitter to add: an allowlist entry with its key parsed. */
export interface NewSubmitter {
  name: string;
  roles: Role[];
  /** Environment patterns; absent for every environment. */
  environments?: string[];
  /** The DSSE keyid hint; default the key's fingerprint (what candor signs with). */
  keyid?: string;
  publicKey: PublicKeyInfo;
  /** RFC 3339 UTC time after which the key is retired. */
  until?: string;
}

const EMPTY = new TextEncoder().encode('{"submitters":[]}');

// The file's entries as written (fields in their order), after checking the whole file.
function entriesOf(bytes: Uint8Array): { list: SubmitterList; entries: unknown[] } {
  const list = parseSubmitters(bytes);
  const v = parseStrictJson(bytes, 'submitters file is not valid JSON');
  return { list, entries: (v as { submitters: unknown[] }).submitters };
}

/** Formats entries as an allowlist file, one entry per line (see the module comment). */
export function formatSubmittersFile(entries: readonly unknown[]): Uint8Array {
  const lines = entries.map((e) => `    ${JSON.stringify(e)}`);
  const body = lines.length === 0 ? '  "submitters": []' : `  "submitters": [\n${lines.join(',\n')}\n  ]`;
  return new TextEncoder().encode(`{\n${body}\n}\n`);
}

/**
 * The allowlist `bytes` (undefined: no file yet) with `s` appended.
 * @throws LogError MALFORMED when the file is not a valid allowlist, when the new entry is
 *   not valid; CONFLICT when its key or keyid is already on the list.
 */
export function addSubmitter(bytes: Uint8Array | undefined, s: NewSubmitter): Uint8Array {
  const { list, entries } = entriesOf(bytes ?? EMPTY);
  const keyid = s.keyid ?? s.publicKey.fingerprint;
  for (const [i, old] of list.submitters.entries()) {
    if (old.publicKey.fingerprint === s.publicKey.fingerprint) {
      throw new LogError('CONFLICT', `this key is already on the list as ${old.name} (entry ${i + 1}, keyid ${old.keyid})`);
    }
    if ([old.keyid, old.publicKey.fingerprint].includes(keyid)) {
      throw new LogError('CONFLICT', `keyid ${keyid} is already on the list, for ${old.name} (entry ${i + 1})`);
    }
  }
  const entry = {
    name: s.name,
    roles: s.roles,
    ...(s.environments === undefined ? {} : { environments: s.environments }),
    keyid,
    publicKey: formatPublicKey(s.publicKey),
    ...(s.until === undefined ? {} : { until: s.until }),
  };
  const next = formatSubmittersFile([...entries, entry]);
  parseSubmitters(next); // never a file the server would refuse
  return next;
}

/**
 * The allowlist `bytes` without the entry of `name` (with `keyid`, its keyid or key
 * fingerprint, when given).
 * @returns the new bytes and the entries removed (as written).
 * @throws LogError MALFORMED when the file is not a valid allowlist; NOT_FOUND when no
 *   entry matches; CONFLICT when `name` has several keys and no keyid says which.
 */
export function removeSubmitter(
  bytes: Uint8Array,
  name: string,
  keyid?: string
): { bytes: Uint8Array; removed: unknown[] } {
  const { list, entries } = entriesOf(bytes);
  const matches = list.submitters
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.name === name && (keyid === undefined || s.keyid === keyid || s.publicKey.fingerprint === keyid));
  if (matches.length === 0) {
    throw new LogError('NOT_FOUND', `no submitter ${name}${keyid === undefined ? '' : ` with keyid ${keyid}`} on the list`);
  }
  if (matches.length > 1) {
    const ids = matches.map(({ s }) => s.keyid).join(', ');
    throw new LogError('CONFLICT', `${name} has ${matches.length} keys (keyids ${ids}); say which with --keyid`);
  }
  const at = matches[0]!.i;
  const next = formatSubmittersFile(entries.filter((_, i) => i !== at));
  parseSubmitters(next);
  return { bytes: next, removed: [entries[at]] };
}

/** Reads an allowlist file; undefined when there is none. */
export async function readSubmittersFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Applies `edit` to the allowlist file at `path` (undefined when it does not exist yet)
 * and replaces the file with the result atomically, holding `path.lock` meanwhile. The
 * file keeps its mode (a new one is 0644: it holds public keys only).
 * @throws LogError CONFLICT when another edit holds the lock; what `edit` throws.
 */
export async function editSubmittersFile(
  path: string,
  edit: (bytes: Uint8Array | undefined) => Uint8Array
): Promise<void> {
  await withFileLock(path, 'candor submitters command', async () => {
    const before = await readSubmittersFile(path);
    const next = edit(before);
    const mode = before === undefined ? 0o644 : (await stat(path)).mode % 0o1000;
    await writeFileAtomic(path, next, mode); // the commit point: the rename inside it
  });
}
