/**
 * The submitter allowlist (`candor serve --submitters FILE`): who may append records, in
 * which roles and for which environments, with which key. A JSON file:
 *
 *   {
 *     "submitters": [
 *       { "name": "alice", "roles": ["engineer"], "publicKey": "MCowBQYDK2VwAyEA…" },
 *       { "name": "bob", "roles": ["approver"], "environments": ["prod-*"],
 *         "publicKey": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n" },
 *       { "name": "release-ci", "roles": ["ci"], "environments": ["staging", "prod-eu"],
 *         "keyid": "release-2026", "publicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…" }
 *     ]
 *   }
 *
 * - `name`: a stable, preferably pseudonymous identity (an IdP subject, a team handle):
 *   it is what records are attributed to, and log entries cannot be erased. The same name
 *   may appear on several entries (key rotation).
 * - `roles`: `engineer` and `ci` may submit change records (and statements with other
 *   predicate types); `approver` may submit approvals.
 * - `environments` (optional): the environments this key may record changes for; a
 *   trailing `*` matches any suffix. Without it, every environment.
 * - `publicKey`: Ed25519 or ECDSA P-256, PEM or the compact base64 DER form (keys.ts).
 * - `keyid` (optional): the DSSE keyid hint this key signs with; default its fingerprint
 *   (hex SHA-256 of the DER key), which is a hint for it too. keyids, fingerprints and keys
 *   must be unique.
 * - `until` (optional): an RFC 3339 UTC time after which the key is retired: the log takes
 *   no more records signed by it, and records the log integrated after that time are not
 *   attributed to it (search/attribution.ts). What it signed before stays attributed, so a
 *   retired key stays on the list; deleting an entry withdraws the attribution of every
 *   record its key signed (for a key that must be presumed compromised from the start).
 * Unknown fields are refused, so a typo never silently widens or narrows access.
 *
 * SubmitterRegistry holds the current list and reloads it without a restart: reload()
 * (call it on SIGHUP) or watch() (polls the file's status, so editors that replace the
 * file by rename are seen). A file that fails to parse never replaces a good list.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LogError } from '../util/errors.js';
import { ReloadableFile } from '../util/reloadable-file.js';
import { isJsonObject, parseStrictJson } from './strict-json.js';
import { parsePublicKey, type PublicKeyInfo } from './keys.js';

/** Submitter roles. */
export const ROLES = ['engineer', 'approver', 'ci'] as const;
/** A submitter role. */
export type Role = (typeof ROLES)[number];
/** Largest allowlist file accepted, in bytes. */
export const MAX_SUBMITTERS_FILE_SIZE = 1024 * 1024;

/** One allowlisted key. */
export interface Submitter {
  name: string;
  roles: Role[];
  /** Environment patterns, or undefined for all environments. */
  environments?: string[];
  keyid: string;
  publicKey: PublicKeyInfo;
  /** Retired after this time (RFC 3339 UTC, as written), if ever. */
  until?: string;
}

/** A parsed allowlist. */
export interface SubmitterList {
  submitters: readonly Submitter[];
  /**
   * Hex SHA-256 of the file it was parsed from (parseSubmitters): the record index
   * re-judges its records when the list in force has another.
   */
  readonly digest?: string;
  /** The submitter whose keyid or key fingerprint is `keyid` (the DSSE hint), if any. */
  byKeyid(keyid: string): readonly Submitter[];
}

/** What a submitter's name may be: 1 to 128 of letters, digits and ._@+-, starting alphanumeric. */
export const SUBMITTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const NAME = SUBMITTER_NAME;
const UTC_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const ENV_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}\*?$|^\*$/;

function bad(why: string): LogError {
  return new LogError('MALFORMED', `submitters file: ${why}`);
}

function stringList(v: unknown, at: string, check: (s: string) => boolean): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && check(s))) {
    throw bad(`${at} must be a non-empty array of valid names`);
  }
  return v as string[];
}

function parseSubmitter(v: unknown, i: number): Submitter {
  const at = `submitters[${i}]`;
  if (!isJsonObject(v)) throw bad(`${at} must be an object`);
  for (const key of Object.keys(v)) {
    if (!['name', 'roles', 'environments', 'keyid', 'publicKey', 'until'].includes(key)) {
      throw bad(`${at}.${key} is not a known field`);
    }
  }
  const { name, roles, environments, keyid, publicKey, until } = v;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw bad(`${at}.name must be 1 to 128 of letters, digits and ._@+- (starting alphanumeric)`);
  }
  const roleList = stringList(roles, `${at}.roles`, (r) =>
    (ROLES as readonly string[]).includes(r)
  );
  if (typeof publicKey !== 'string') throw bad(`${at}.publicKey must be a string`);
  const key = parsePublicKey(publicKey, `submitters file: ${at}.publicKey`);
  if (keyid !== undefined && (typeof keyid !== 'string' || keyid === '' || keyid.length > 256)) {
    throw bad(`${at}.keyid must be a non-empty string of at most 256 characters`);
  }
  const s: Submitter = {
    name,
    roles: [...new Set(roleList)] as Role[],
    keyid: (keyid as string | undefined) ?? key.fingerprint,
    publicKey: key,
  };
  if (environments !== undefined) {
    s.environments = stringList(environments, `${at}.environments`, (e) => ENV_PATTERN.test(e));
  }
  if (until !== undefined) {
    if (typeof until !== 'string' || !UTC_TIME.test(until) || Number.isNaN(Date.parse(until))) {
      throw bad(`${at}.until must be an RFC 3339 UTC time like 2026-03-03T14:32:00Z`);
    }
    s.until = until;
  }
  return s;
}

/**
 * Parses an allowlist file (see the module comment).
 * @throws LogError MALFORMED naming the entry and field; TOO_LARGE over 1 MiB.
 */
export function parseSubmitters(bytes: Uint8Array): SubmitterList {
  if (bytes.length > MAX_SUBMITTERS_FILE_SIZE) {
    throw new LogError(
      'TOO_LARGE',
      `submitters file: larger than ${MAX_SUBMITTERS_FILE_SIZE} bytes`
    );
  }
  const v = parseStrictJson(bytes, 'submitters file is not valid JSON');
  if (!isJsonObject(v) || !Array.isArray(v.submitters)) {
    throw bad('must be an object with a "submitters" array');
  }
  for (const key of Object.keys(v)) {
    if (key !== 'submitters') throw bad(`"${key}" is not a known field`);
  }
  const submitters = v.submitters.map(parseSubmitter);
  // Hints: each key answers to its keyid and to its fingerprint (what candor writes).
  const hints = new Map<string, Submitter>();
  const keys = new Map<string, Submitter>();
  for (const s of submitters) {
    const same = keys.get(s.publicKey.fingerprint);
    if (same !== undefined) throw bad(`the same key appears twice (${same.name}, ${s.name})`);
    keys.set(s.publicKey.fingerprint, s);
    for (const hint of new Set([s.keyid, s.publicKey.fingerprint])) {
      const other = hints.get(hint);
      if (other !== undefined)
        throw bad(`keyid ${JSON.stringify(hint)} appears twice (${other.name}, ${s.name})`);
      hints.set(hint, s);
    }
  }
  return {
    submitters,
    digest: createHash('sha256').update(bytes).digest('hex'),
    byKeyid: (keyid) => {
      const s = hints.get(keyid);
      return s === undefined ? [] : [s];
    },
  };
}

/** True when the submitter may record changes for `environment`. */
export function allowsEnvironment(s: Submitter, environment: string): boolean {
  if (s.environments === undefined) return true;
  return s.environments.some((p) =>
    p.endsWith('*') ? environment.startsWith(p.slice(0, -1)) : environment === p
  );
}

/** True when the key is not retired at `atMs` (its `until`, if any, is not before it). */
export function inForceAt(s: Submitter, atMs: number): boolean {
  return s.until === undefined || atMs <= Date.parse(s.until);
}

/**
 * The list without the keys retired at `atMs`: what may sign a record submitted then
 * (POST /v1/records). The hints of retired keys answer nothing, so their signatures are
 * UNKNOWN_KEY.
 */
export function keysInForce(list: SubmitterList, atMs: number): SubmitterList {
  if (list.submitters.every((s) => inForceAt(s, atMs))) return list;
  const submitters = list.submitters.filter((s) => inForceAt(s, atMs));
  return {
    submitters,
    byKeyid: (keyid) => list.byKeyid(keyid).filter((s) => submitters.includes(s)),
  };
}

export type { ReloadResult, WatchOptions } from '../util/reloadable-file.js';

/**
 * The allowlist of a file, reloadable at run time (see the module comment): a
 * ReloadableFile (src/util/reloadable-file.ts) of parseSubmitters.
 * @example
 * const registry = await SubmitterRegistry.open('submitters.json');
 * process.on('SIGHUP', () => registry.reload().catch((e) => console.error(e.message)));
 * const result = verifyRecord(body, registry.current);
 */
export class SubmitterRegistry extends ReloadableFile<SubmitterList> {
  /**
   * Loads the file.
   * @throws LogError MALFORMED or TOO_LARGE for a bad file; the file system's errors.
   */
  static async open(path: string): Promise<SubmitterRegistry> {
    const bytes = await readFile(path);
    const count = (list: SubmitterList): number => list.submitters.length;
    return new SubmitterRegistry(path, parseSubmitters, count, parseSubmitters(bytes), bytes);
  }
}
