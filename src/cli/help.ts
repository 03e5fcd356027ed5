/**
 * `--help` for every command, in one place: the dispatcher (cli/main.ts) answers
 * `candor <command> --help` (or `-h`) with that command's lines of its command list, so a
 * command's usage is written once and its module need not know about help. The few
 * commands with a usage of their own (token, witness, monitor, fsck, repair, submitters,
 * and backup and restore, which print both) answer it themselves.
 *
 * Also here: the message of a parseArgs usage error without Node's hint about `--`, which
 * names a syntax candor's users never need.
 */

/** Whether `args` ask for help: `--help` or `-h` anywhere before a `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * The usage of one command, cut from the dispatcher's command list `usage`: its lines,
 * from the one naming it (indented by two spaces) to the next command's, under a header.
 * Undefined when the list has no such command.
 */
export function commandUsage(usage: string, command: string): string | undefined {
  const lines = usage.split('\n');
  const start = lines.findIndex((line) => line === `  ${command}` || line.startsWith(`  ${command} `));
  if (start < 0) return undefined;
  let end = start + 1;
  while (end < lines.length && !/^ {2}\S/.test(lines[end]!) && lines[end] !== '') end++;
  return `usage: candor ${command} [flags]\n\n${lines.slice(start, end).join('\n')}\n`;
}

/** Node's hint after "Unknown option '-x'" when positionals are allowed. */
const POSITIONAL_HINT = /\. To specify a positional argument starting with a '-'.*$/s;

/** An error's message for a usage line on stderr, without Node's parseArgs hint. */
export function usageMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(POSITIONAL_HINT, '');
}
