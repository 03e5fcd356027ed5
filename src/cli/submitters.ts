/**
 * `candor submitters`: manages a submitter allowlist file (`candor serve --submitters FILE`).
 *
 *   candor submitters add --file FILE --key FILE.pub [--name NAME] [--role R ...] [--env E ...]
 *                         [--until RFC3339] [--keyid K]
 *   candor submitters list --file FILE [--json]
 *   candor submitters remove --file FILE --name NAME [--keyid K]
 *
 * --file defaults to CANDOR_SUBMITTERS, as for serve. add takes the public key that
 * `candor submitter-key --out FILE` wrote to FILE.pub (PEM, or the compact base64 form);
 * the name defaults to that file's base name and the role to engineer, as there. The file
 * is created by the first add, replaced atomically by each edit, and never left in a state
 * the server would refuse (src/governance/submitters-file.ts); a running server picks the
 * change up without a restart. Exit codes: 0 done, 1 the edit was refused or failed (a
 * duplicate key, no such submitter, an invalid file), 2 bad usage.
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { isLogError } from '../util/errors.js';
import { parsePublicKey } from '../governance/keys.js';
import { parseSubmitters, ROLES, SUBMITTER_NAME, type Role } from '../governance/submitters.js';
import {
  addSubmitter,
  editSubmittersFile,
  removeSubmitter,
} from '../governance/submitters-file.js';
import { parseStrictJson } from '../governance/strict-json.js';
import {
  CommandError,
  GOVERNANCE_EXIT,
  nodeIo,
  readInput,
  runCommand,
  usage,
  type GovernanceIo,
} from './governance-io.js';

/** Usage text of `candor submitters`. */
export const SUBMITTERS_USAGE = `usage: candor submitters add --file FILE --key FILE.pub [--name NAME] [--role R ...] [--env E ...]
                             [--until RFC3339] [--keyid K]
       candor submitters list --file FILE [--json]
       candor submitters remove --file FILE --name NAME [--keyid K]

  --file FILE     the allowlist (candor serve --submitters FILE); default CANDOR_SUBMITTERS.
                  add creates it; each edit replaces it atomically and a running server
                  reloads it
  --key FILE.pub  the submitter's public key, as candor submitter-key --out FILE wrote it
                  (PEM or compact base64; Ed25519 or ECDSA P-256)
  --name NAME     who records are attributed to (default: the key file's base name); the
                  same name may hold several keys (rotation)
  --role R        ${ROLES.join(', ')} (default engineer); repeatable
  --env E         an environment the key may record changes for (trailing * for a
                  prefix); repeatable; default every environment
  --until T       retire the key after T (RFC 3339 UTC, e.g. 2026-12-31T00:00:00Z)
  --keyid K       the DSSE keyid it signs with (default its fingerprint, as candor signs);
                  with remove, which of NAME's keys (keyid or fingerprint)
  --json          list the entries as JSON
A duplicate key or keyid is refused. Removing an entry withdraws the attribution of every
record its key signed; to retire a key that was not compromised, keep it with --until.
Exit codes: 0 done, 1 refused or failed, 2 bad usage.
`;

/**
 * Runs `candor submitters` with the arguments after `submitters`; resolves with the exit
 * code. Never throws and never exits the process.
 */
export function submittersCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  const [sub, ...rest] = args;
  const synopsis = 'candor submitters add|list|remove --file FILE ... (candor submitters --help)';
  return runCommand(`submitters${sub === undefined ? '' : ` ${sub}`}`, io, synopsis, async () => {
    if (sub === 'help' || args.includes('--help') || args.includes('-h')) {
      io.out(SUBMITTERS_USAGE);
      return GOVERNANCE_EXIT.OK;
    }
    switch (sub) {
      case 'add':
        return add(rest, io);
      case 'list':
        return list(rest, io);
      case 'remove':
        return remove(rest, io);
      default:
        throw usage(sub === undefined ? 'add, list or remove?' : `unknown subcommand "${sub}"`);
    }
  });
}

function fileFlag(io: GovernanceIo, flag: string | undefined): string {
  const file = flag ?? io.env('CANDOR_SUBMITTERS');
  if (file === undefined) throw usage('--file FILE is required (or CANDOR_SUBMITTERS)');
  return file;
}

// The file as it is, refused (exit 1) when the server would refuse it.
function checked(file: string, bytes: Uint8Array | undefined): Uint8Array | undefined {
  if (bytes === undefined) return undefined;
  try {
    parseSubmitters(bytes);
  } catch (err) {
    throw new CommandError(GOVERNANCE_EXIT.ERROR, `${file} is not a valid allowlist (fix it first): ${(err as Error).message}`);
  }
  return bytes;
}

// An edit's refusal: a duplicate, no such entry or a held lock is exit 1; an entry the
// parser refuses is bad usage.
function refusal(err: unknown): unknown {
  if (err instanceof CommandError || !isLogError(err)) return err;
  const code = err.code === 'MALFORMED' ? GOVERNANCE_EXIT.USAGE : GOVERNANCE_EXIT.ERROR;
  return new CommandError(code, err.message);
}

/** The parseArgs options of `candor submitters add`, `list` and `remove`. */
export const SUBMITTERS_ADD_OPTIONS = {
  file: { type: 'string' },
  key: { type: 'string' },
  name: { type: 'string' },
  role: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  until: { type: 'string' },
  keyid: { type: 'string' },
} as const;
export const SUBMITTERS_LIST_OPTIONS = { file: { type: 'string' }, json: { type: 'boolean' } } as const;
export const SUBMITTERS_REMOVE_OPTIONS = {
  file: { type: 'string' },
  name: { type: 'string' },
  keyid: { type: 'string' },
} as const;

async function add(args: string[], io: GovernanceIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: SUBMITTERS_ADD_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`);
  const file = fileFlag(io, values.file);
  if (values.key === undefined) throw usage('--key FILE.pub is required');
  const roles = values.role ?? ['engineer'];
  const bad = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (bad !== undefined) throw usage(`--role must be one of ${ROLES.join(', ')}, got "${bad}"`);
  const name =
    values.name ??
    basename(values.key)
      .replace(/\.pub$/, '')
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._@+-]/g, '-');
  if (!SUBMITTER_NAME.test(name)) throw usage(`--name must be 1 to 128 of letters, digits and ._@+-, got "${name}"`);
  const keyText = new TextDecoder().decode(await readInput(io, values.key, 'public key'));
  if (keyText.includes('PRIVATE KEY')) {
    throw usage(`${values.key} is a private key: pass the public key (${values.key}.pub, as candor submitter-key wrote it)`);
  }
  let publicKey;
  try {
    publicKey = parsePublicKey(keyText.trim(), `--key ${values.key}`);
  } catch (err) {
    throw usage((err as Error).message);
  }
  let added: unknown;
  try {
    await editSubmittersFile(file, (bytes) => {
      const next = addSubmitter(checked(file, bytes), {
        name,
        roles: roles as Role[],
        ...(values.env === undefined ? {} : { environments: values.env }),
        ...(values.keyid === undefined ? {} : { keyid: values.keyid }),
        ...(values.until === undefined ? {} : { until: values.until }),
        publicKey,
      });
      added = entriesAsWritten(next).at(-1);
      return next;
    });
  } catch (err) {
    throw refusal(err);
  }
  io.err(`added ${name} to ${file}\n`);
  io.out(JSON.stringify(added) + '\n');
  return GOVERNANCE_EXIT.OK;
}

async function list(args: string[], io: GovernanceIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: SUBMITTERS_LIST_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`);
  const file = fileFlag(io, values.file);
  const bytes = checked(file, await readInput(io, file, 'allowlist'))!;
  if (values.json === true) {
    io.out(JSON.stringify(entriesAsWritten(bytes)) + '\n');
    return GOVERNANCE_EXIT.OK;
  }
  for (const s of parseSubmitters(bytes).submitters) {
    const envs = s.environments === undefined ? 'all environments' : s.environments.join(',');
    const until = s.until === undefined ? '' : `  until ${s.until}`;
    io.out(`${s.name}  ${s.roles.join(',')}  ${envs}  ${s.publicKey.algorithm} keyid ${s.keyid}${until}\n`);
  }
  return GOVERNANCE_EXIT.OK;
}

async function remove(args: string[], io: GovernanceIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: SUBMITTERS_REMOVE_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`);
  const file = fileFlag(io, values.file);
  if (values.name === undefined) throw usage('--name NAME is required');
  const name = values.name;
  try {
    await editSubmittersFile(file, (bytes) => {
      if (bytes === undefined) throw new CommandError(GOVERNANCE_EXIT.ERROR, `cannot read allowlist ${file}: no such file`);
      return removeSubmitter(checked(file, bytes)!, name, values.keyid).bytes;
    });
  } catch (err) {
    throw refusal(err);
  }
  io.err(`removed ${name}${values.keyid === undefined ? '' : ` (keyid ${values.keyid})`} from ${file}\n`);
  return GOVERNANCE_EXIT.OK;
}

function entriesAsWritten(bytes: Uint8Array): unknown[] {
  return (parseStrictJson(bytes, 'submitters file is not valid JSON') as { submitters: unknown[] }).submitters;
}
