/**
 * `--help` as a newcomer types it: every command, run as the real `candor` program, prints
 * its usage naming every flag it accepts and exits 0; a bad flag is a usage error (exit 2)
 * without Node's parseArgs hint; and `npx candor` runs the command from a checkout, as the
 * README's Quick start says.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runCandor } from '../helpers/server-process.js';
import { ADD_OPTIONS, CHECKPOINT_OPTIONS, KEYGEN_OPTIONS, SERVE_OPTIONS } from '../../src/cli/core-options.js';
import { VERIFY_OPTIONS } from '../../src/cli/verify.js';
import { MONITOR_CHECK_RULES_OPTIONS, MONITOR_OPTIONS, MONITOR_RESET_OPTIONS } from '../../src/cli/monitor.js';
import { RECORD_OPTIONS } from '../../src/cli/record.js';
import { APPROVE_OPTIONS } from '../../src/cli/approve.js';
import { DIFF_OPTIONS } from '../../src/cli/diff.js';
import { HISTORY_OPTIONS } from '../../src/cli/history.js';
import { STATE_OPTIONS } from '../../src/cli/state.js';
import { VERIFY_DEPLOYMENT_OPTIONS } from '../../src/cli/verify-deployment.js';
import { REINDEX_OPTIONS } from '../../src/cli/reindex.js';
import { EXPORT_OPTIONS } from '../../src/cli/export.js';
import { VERIFY_EXPORT_OPTIONS } from '../../src/cli/verify-export.js';
import { SUBMITTER_KEY_OPTIONS } from '../../src/cli/submitter-key.js';
import { TOKEN_CREATE_OPTIONS, TOKEN_LIST_OPTIONS, TOKEN_REVOKE_OPTIONS } from '../../src/cli/token.js';
import { BACKUP_OPTIONS } from '../../src/cli/backup.js';
import { RESTORE_OPTIONS } from '../../src/cli/restore.js';
import { FSCK_OPTIONS } from '../../src/cli/fsck.js';
import { REPAIR_OPTIONS } from '../../src/cli/repair.js';
import {
  SUBMITTERS_ADD_OPTIONS,
  SUBMITTERS_LIST_OPTIONS,
  SUBMITTERS_REMOVE_OPTIONS,
} from '../../src/cli/submitters.js';
import {
  WITNESS_CLEAR_ALERT_OPTIONS,
  WITNESS_KEY_OPTIONS,
  WITNESS_KEYGEN_OPTIONS,
  WITNESS_OPTIONS,
} from '../../src/cli/witness.js';

type Options = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Each command and the parseArgs option tables of it and its subcommands. */
const COMMANDS: Array<[string, Options[]]> = [
  ['serve', [SERVE_OPTIONS]],
  ['keygen', [KEYGEN_OPTIONS]],
  ['add', [ADD_OPTIONS]],
  ['checkpoint', [CHECKPOINT_OPTIONS]],
  ['verify', [VERIFY_OPTIONS]],
  ['monitor', [MONITOR_OPTIONS, MONITOR_RESET_OPTIONS, MONITOR_CHECK_RULES_OPTIONS]],
  ['record', [RECORD_OPTIONS]],
  ['approve', [APPROVE_OPTIONS]],
  ['diff', [DIFF_OPTIONS]],
  ['history', [HISTORY_OPTIONS]],
  ['state', [STATE_OPTIONS]],
  ['verify-deployment', [VERIFY_DEPLOYMENT_OPTIONS]],
  ['reindex', [REINDEX_OPTIONS]],
  ['export', [EXPORT_OPTIONS]],
  ['verify-export', [VERIFY_EXPORT_OPTIONS]],
  ['submitter-key', [SUBMITTER_KEY_OPTIONS]],
  ['token', [TOKEN_CREATE_OPTIONS, TOKEN_LIST_OPTIONS, TOKEN_REVOKE_OPTIONS]],
  ['backup', [BACKUP_OPTIONS]],
  ['restore', [RESTORE_OPTIONS]],
  ['fsck', [FSCK_OPTIONS]],
  ['repair', [REPAIR_OPTIONS]],
  ['submitters', [SUBMITTERS_ADD_OPTIONS, SUBMITTERS_LIST_OPTIONS, SUBMITTERS_REMOVE_OPTIONS]],
  ['witness', [WITNESS_OPTIONS, WITNESS_CLEAR_ALERT_OPTIONS, WITNESS_KEYGEN_OPTIONS, WITNESS_KEY_OPTIONS]],
];

/** The flags a usage must name: every option but --help itself, each as --long (and -s). */
function flagsOf(tables: Options[]): string[] {
  const flags = new Set<string>();
  for (const table of tables) {
    for (const [name, option] of Object.entries(table)) {
      if (name === 'help') continue;
      flags.add(`--${name}`);
      if (option.short !== undefined) flags.add(`-${option.short}`);
    }
  }
  return [...flags];
}

/** Whether `text` names `flag` as a whole word (--env is not named by --envelope-out). */
const names = (text: string, flag: string): boolean =>
  new RegExp(`(^|[^\\w-])${flag.replace(/[-]/g, '\\-')}(?![\\w-])`).test(text);

describe('candor <command> --help', () => {
  it.each(COMMANDS)('%s answers --help and -h with a usage naming every flag it accepts', async (command, tables) => {
    const [long, short] = await Promise.all([runCandor([command, '--help']), runCandor([command, '-h'])]);
    expect(long.code, long.stderr).toBe(0);
    // its own usage line, or its entry in a usage of related commands (backup and restore)
    expect(long.stdout).toMatch(new RegExp(`^(usage: candor ${command} | {2}${command} )`, 'm'));
    const missing = flagsOf(tables).filter((flag) => !names(long.stdout, flag));
    expect(missing, `candor ${command} --help does not name these flags`).toEqual([]);
    expect(short).toEqual(long);
  });

  it.each(COMMANDS)('%s with an unknown flag is a usage error (exit 2) without the parseArgs hint', async (command) => {
    const r = await runCandor([command, '--no-such-flag']);
    expect(r.code).toBe(2);
    // token and submitters take a subcommand first: a flag there is an unknown subcommand.
    const subcommandFirst = command === 'token' || command === 'submitters';
    expect(r.stderr).toMatch(subcommandFirst ? /unknown subcommand "--no-such-flag"/ : /Unknown option '--no-such-flag'/);
    expect(r.stderr).not.toMatch(/positional argument starting with/);
  });

  it('a usage error of serve, keygen, add or checkpoint shows that command\'s usage, not the whole list', async () => {
    const r = await runCandor(['add']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^candor: add needs at least one FILE\n\nusage: candor add \[flags\]\n/);
    expect(r.stderr).not.toMatch(/verify-deployment/);
  });

  it.each([
    ['checkpoint', '--url'],
    ['keygen', 'stray'],
  ])('%s %s (a flag without its value, a stray argument) is a usage error, exit 2', async (command, arg) => {
    const r = await runCandor([command, arg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`\\n\\nusage: candor ${command} \\[flags\\]\\n`));
  });

  it('a --help after -- is a positional, not a request for help', async () => {
    const r = await runCandor(['add', '--', '--help']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--help/);
    expect(r.stdout).toBe('');
  });
});

describe('npx candor from the checkout (README Quick start)', () => {
  it('runs the built command and prints the usage', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    // offline: npx must find candor in this checkout, never fetch a package of that name
    const { stdout } = await promisify(execFile)('npx', ['candor', '--help'], {
      cwd: root,
      env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^usage: candor <command> \[flags\]\n/);
    expect(stdout).toMatch(/^ {2}verify-deployment /m);
  }, 90_000);
});
