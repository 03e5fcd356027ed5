/**
 * `candor diff`: the parameter-level difference between two configuration snapshots.
 *
 *   candor diff A B [--url URL] [--secret P ...] [--inline P ...] [--json] [--exit-code]
 *
 * A and B are each a local JSON configuration file, or `entry:N`, the configuration
 * snapshot of logged governance record N. Files are snapshotted exactly as `candor
 * record --config` does (same digest, secrets replaced by digests), so a file compares
 * with what was logged and secrets never reach the output. Prints the readable diff (or
 * with --json the ConfigDiff object). Exit 0; with --exit-code, 1 when they differ (as
 * `git diff --exit-code`); 2 bad usage; 1 also for errors.
 */
import { parseArgs } from 'node:util';
import { diffConfigs, formatConfigDiff } from '../governance/config-diff.js';
import { snapshotConfig } from '../governance/config-snapshot.js';
import type { ConfigSnapshot } from '../governance/predicate.js';
import { parseRecord } from '../governance/verify-record.js';
import { parseDecimal } from '../util/integers.js';
import {
  CommandError,
  GOVERNANCE_EXIT,
  logUrl,
  nodeIo,
  readInput,
  runCommand,
  timeoutMs,
  usage,
  type GovernanceIo,
} from './governance-io.js';
import { fetchEntry } from './record-submit.js';

const SYNOPSIS =
  'candor diff A B (each FILE or entry:N) [--url URL] [--secret P ...] [--inline P ...] [--json] [--exit-code]';

async function snapshotOf(
  io: GovernanceIo,
  arg: string,
  url: string,
  options: { secrets: string[]; inline: string[] }
): Promise<ConfigSnapshot> {
  const m = /^entry:(.*)$/.exec(arg);
  if (m === null) {
    try {
      return snapshotConfig(await readInput(io, arg, 'config'), options);
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw new CommandError(GOVERNANCE_EXIT.ERROR, `${arg}: ${(err as Error).message}`);
    }
  }
  let index: number;
  try {
    index = parseDecimal(m[1]!, arg);
  } catch {
    throw usage(`${arg}: want entry:N with N an entry index`);
  }
  const bytes = await fetchEntry(io, url, index, timeoutMs(undefined));
  let config: ConfigSnapshot | undefined;
  try {
    const { predicate } = parseRecord(bytes);
    if (predicate === undefined) throw new Error('not a governance record');
    config = predicate.config;
  } catch (err) {
    throw new CommandError(GOVERNANCE_EXIT.ERROR, `${arg}: ${(err as Error).message}`);
  }
  if (config === undefined) {
    throw new CommandError(
      GOVERNANCE_EXIT.ERROR,
      `${arg}: the record has no configuration snapshot`
    );
  }
  return config;
}

/** The parseArgs options of `candor diff`. */
export const DIFF_OPTIONS = {
  url: { type: 'string' },
  secret: { type: 'string', multiple: true },
  inline: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'exit-code': { type: 'boolean' },
} as const;

/**
 * Runs `candor diff` with the arguments after `diff`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function diffCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('diff', io, SYNOPSIS, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: DIFF_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 2) throw usage('diff takes exactly two arguments, A and B');
    const url = logUrl(io, values.url);
    const options = { secrets: values.secret ?? [], inline: values.inline ?? [] };
    const [a, b] = await Promise.all(positionals.map((p) => snapshotOf(io, p, url, options)));
    const diff = diffConfigs(a!, b!);
    io.out(values.json === true ? JSON.stringify(diff) + '\n' : formatConfigDiff(diff));
    const differ = diff.digest.changed || diff.changes.length > 0;
    return values['exit-code'] === true && differ ? 1 : GOVERNANCE_EXIT.OK;
  });
}
