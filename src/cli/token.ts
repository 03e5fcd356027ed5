/**
 * `candor token`: the API tokens that writes need (src/server/tokens.ts).
 *
 *   candor token create --name NAME --scope SCOPE[,SCOPE...] [--rate N/s] [--quota N/day]
 *                       [--tokens FILE | --data DIR]
 *   candor token list [--json] [--tokens FILE | --data DIR]
 *   candor token revoke --name NAME [--tokens FILE | --data DIR]
 *
 * The tokens file is --tokens FILE, else CANDOR_TOKENS, else DIR/tokens.json with DIR from
 * --data, CANDOR_DATA or ./data (as `candor serve`). `create` prints the token on standard
 * output, once: only its SHA-256 is stored. A running log reloads the file within about a
 * second (or on SIGHUP), so a new token works and a revoked one stops working without a
 * restart; a log started without any tokens file must be restarted to turn tokens on.
 *
 * Exit codes: 0 done; 1 failed (the file is unreadable or invalid, the name exists
 * (create) or does not (revoke), another `candor token` holds the lock); 2 bad usage.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createToken,
  isTokenName,
  parseQuota,
  parseRate,
  readTokensFile,
  SCOPES,
  TOKENS_FILE_NAME,
  updateTokensFile,
  type Scope,
} from '../server/tokens.js';
import { LogError } from '../util/errors.js';
import { CommandError, GOVERNANCE_EXIT, nodeIo, runCommand, usage, type GovernanceIo } from './governance-io.js';

/** The usage of `candor token`, as printed by `candor token --help`. */
export const TOKEN_USAGE = `usage: candor token <create|list|revoke> [flags]

  create   --name NAME --scope SCOPE[,SCOPE...] [--rate N/s] [--quota N/day]
           make a token and print it once (only its SHA-256 is stored)
           scopes: ${SCOPES.join(', ')} (entries: POST /v1/entries and /v1/entries/batch;
           records: POST /v1/records; activity: the activity endpoints)
           --rate N/s     requests per second (a token bucket with one second's burst)
           --quota N/day  entries per UTC day (a batch counts each of its entries)
  list     [--json]       the tokens: name, id, scopes, rate, quota, created (no secrets)
  revoke   --name NAME    remove a token; a running log stops taking it when it reloads
                          the file (within about a second, or on SIGHUP)

  every subcommand: --tokens FILE  the tokens file                         [CANDOR_TOKENS]
                    --data DIR     else DIR/tokens.json (default ./data)   [CANDOR_DATA]

exit codes: 0 done; 1 failed (bad or locked file, name exists or is unknown); 2 usage
`;

const FILE_OPTIONS = { tokens: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean' } } as const;

/**
 * Runs `candor token` with the arguments after `token`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function tokenCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  const [sub, ...rest] = args;
  return runCommand(`token${sub === undefined ? '' : ` ${sub}`}`, io, 'candor token --help', async () => {
    switch (sub) {
      case 'create':
        return create(rest, io);
      case 'list':
        return list(rest, io);
      case 'revoke':
        return revoke(rest, io);
      case '--help':
      case '-h':
      case 'help':
        io.out(TOKEN_USAGE);
        return 0;
      case undefined:
        throw usage('a subcommand is required: create, list or revoke');
      default:
        throw usage(`unknown subcommand "${sub}": create, list or revoke`);
    }
  });
}

function tokensPath(io: GovernanceIo, values: { tokens?: string | undefined; data?: string | undefined }): string {
  return values.tokens ?? io.env('CANDOR_TOKENS') ?? join(values.data ?? io.env('CANDOR_DATA') ?? './data', TOKENS_FILE_NAME);
}

/** LogErrors of the file (bad JSON, taken name, lock) are failures (exit 1), not usage. */
function failed(err: unknown): never {
  if (err instanceof LogError) throw new CommandError(GOVERNANCE_EXIT.ERROR, err.message);
  throw err;
}

/** The parseArgs options of `candor token create`. */
export const TOKEN_CREATE_OPTIONS = {
  ...FILE_OPTIONS,
  name: { type: 'string' },
  scope: { type: 'string' },
  rate: { type: 'string' },
  quota: { type: 'string' },
} as const;

async function create(args: string[], io: GovernanceIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: TOKEN_CREATE_OPTIONS,
    strict: true,
  });
  if (values.help === true) return help(io);
  const name = values.name;
  if (name === undefined) throw usage('create needs --name NAME');
  if (!isTokenName(name)) {
    throw usage('--name must be 1 to 128 of letters, digits and ._@+- (starting alphanumeric)');
  }
  if (values.scope === undefined) throw usage(`create needs --scope, a comma-separated list of ${SCOPES.join(', ')}`);
  const scopes = values.scope.split(',').map((s) => s.trim());
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw usage(`--scope: unknown scope "${s}"; the scopes are ${SCOPES.join(', ')}`);
    }
  }
  let rate: number | undefined;
  let quota: number | undefined;
  try {
    if (values.rate !== undefined) rate = parseRate(values.rate);
    if (values.quota !== undefined) quota = parseQuota(values.quota);
  } catch (err) {
    throw usage((err as Error).message);
  }
  const path = tokensPath(io, values);
  const made = createToken({ name, scopes: scopes as Scope[], rate, quota, now: io.now() });
  await updateTokensFile(path, (tokens) => {
    if (tokens.some((t) => t.name === name)) {
      throw new LogError('CONFLICT', `${path} already has a token named "${name}" (revoke it first)`);
    }
    return [...tokens, made.record];
  }).catch(failed);
  io.out(`${made.token}\n`);
  const limits = [rate === undefined ? '' : `, ${rate}/s`, quota === undefined ? '' : `, ${quota} entries/day`];
  io.err(
    `created token "${name}" (id ${made.record.id}, scopes ${made.record.scopes.join(',')}${limits.join('')}) ` +
      `in ${path}.\nIt is shown only now: keep it in a secret store and send it as ` +
      `Authorization: Bearer <token> (candor add and candor record read CANDOR_TOKEN).\n`
  );
  return 0;
}

/** The parseArgs options of `candor token list`. */
export const TOKEN_LIST_OPTIONS = { ...FILE_OPTIONS, json: { type: 'boolean' } } as const;

async function list(args: string[], io: GovernanceIo): Promise<number> {
  const { values } = parseArgs({ args, options: TOKEN_LIST_OPTIONS, strict: true });
  if (values.help === true) return help(io);
  const tokens = await readTokensFile(tokensPath(io, values)).catch(failed);
  const shown = tokens.map((t) => ({
    name: t.name,
    id: t.id,
    scopes: t.scopes,
    rate: t.rate ?? null,
    quota: t.quota ?? null,
    created: t.created,
  }));
  if (values.json === true) {
    io.out(`${JSON.stringify(shown, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ['NAME', 'ID', 'SCOPES', 'RATE', 'QUOTA', 'CREATED'],
    ...shown.map((t) => [
      t.name,
      t.id,
      t.scopes.join(','),
      t.rate === null ? '-' : `${t.rate}/s`,
      t.quota === null ? '-' : `${t.quota}/day`,
      t.created,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.out(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  return 0;
}

/** The parseArgs options of `candor token revoke`. */
export const TOKEN_REVOKE_OPTIONS = { ...FILE_OPTIONS, name: { type: 'string' } } as const;

async function revoke(args: string[], io: GovernanceIo): Promise<number> {
  const { values } = parseArgs({ args, options: TOKEN_REVOKE_OPTIONS, strict: true });
  if (values.help === true) return help(io);
  const name = values.name;
  if (name === undefined) throw usage('revoke needs --name NAME');
  const path = tokensPath(io, values);
  let id = '';
  await updateTokensFile(path, (tokens) => {
    const found = tokens.find((t) => t.name === name);
    if (found === undefined) throw new LogError('NOT_FOUND', `${path} has no token named "${name}"`);
    id = found.id;
    return tokens.filter((t) => t !== found);
  }).catch(failed);
  io.err(
    `revoked token "${name}" (id ${id}) in ${path}; a running log refuses it once it reloads the ` +
      'file (within about a second, or on SIGHUP)\n'
  );
  return 0;
}

function help(io: GovernanceIo): number {
  io.out(TOKEN_USAGE);
  return 0;
}
