/**
 * The connection-limit flags shared by `candor serve` and `candor witness`
 * (src/server/http-limits-config.ts): their parseArgs options, usage lines and parsing.
 */
import { parseDecimal } from '../util/integers.js';
import { defaultHttpLimits, resolveHttpLimits, type HttpLimits } from '../server/http-limits-config.js';

/** The flag of each limit, and its environment variable (read by `candor serve` only). */
const FLAGS: Array<{ flag: string; env: string; key: keyof HttpLimits }> = [
  { flag: 'max-connections', env: 'CANDOR_MAX_CONNECTIONS', key: 'maxConnections' },
  { flag: 'max-connections-per-ip', env: 'CANDOR_MAX_CONNECTIONS_PER_IP', key: 'maxConnectionsPerIp' },
  { flag: 'header-timeout', env: 'CANDOR_HEADER_TIMEOUT', key: 'headerTimeoutMs' },
  { flag: 'request-timeout', env: 'CANDOR_REQUEST_TIMEOUT', key: 'requestTimeoutMs' },
  { flag: 'idle-timeout', env: 'CANDOR_IDLE_TIMEOUT', key: 'idleTimeoutMs' },
  { flag: 'write-timeout', env: 'CANDOR_WRITE_TIMEOUT', key: 'writeTimeoutMs' },
  { flag: 'upload-budget', env: 'CANDOR_UPLOAD_BUDGET', key: 'uploadBudgetBytes' },
  { flag: 'max-pipelined', env: 'CANDOR_MAX_PIPELINED', key: 'maxPipelined' },
  { flag: 'write-budget', env: 'CANDOR_WRITE_BUDGET', key: 'writeBudgetBytes' },
];

/** The parseArgs options of the limit flags: every one takes a whole number. */
export const HTTP_LIMIT_OPTIONS = Object.fromEntries(
  FLAGS.map(({ flag }) => [flag, { type: 'string' as const }])
) as Record<string, { type: 'string' }>;

/**
 * Usage lines of the limit flags, indented by `indent` spaces; with `withEnv`, each
 * flag's environment variable in brackets (as `candor serve` lists them).
 */
export function httpLimitUsage(indent: number, withEnv: boolean): string {
  const d = defaultHttpLimits();
  const entries: Array<[string, string[], string]> = [
    [
      '--max-connections N',
      [
        `open connections at most, more closed at once (default ${d.maxConnections}:`,
        '512, or half the open-file limit when lower)',
      ],
      'CANDOR_MAX_CONNECTIONS',
    ],
    [
      '--max-connections-per-ip N',
      [
        `per client address, IPv6 per /64 (default ${d.maxConnectionsPerIp}; 0: none);`,
        'behind a proxy all clients share its address: raise it or 0',
      ],
      'CANDOR_MAX_CONNECTIONS_PER_IP',
    ],
    [
      '--header-timeout MS',
      [`complete headers within MS, else 408 and close (default ${d.headerTimeoutMs})`],
      'CANDOR_HEADER_TIMEOUT',
    ],
    [
      '--request-timeout MS',
      [`the whole request, body included, within MS (default ${d.requestTimeoutMs})`],
      'CANDOR_REQUEST_TIMEOUT',
    ],
    [
      '--idle-timeout MS',
      [`close a keep-alive connection idle for MS (default ${d.idleTimeoutMs})`],
      'CANDOR_IDLE_TIMEOUT',
    ],
    [
      '--write-timeout MS',
      [
        'close a connection whose answer makes no progress for MS',
        `(a client that stopped reading; default ${d.writeTimeoutMs})`,
      ],
      'CANDOR_WRITE_TIMEOUT',
    ],
    [
      '--write-budget BYTES',
      [
        'answer bytes waiting for slow readers at once; beyond it new',
        `requests wait and the longest-stalled are closed (default ${d.writeBudgetBytes})`,
      ],
      'CANDOR_WRITE_BUDGET',
    ],
    [
      '--upload-budget BYTES',
      [
        'request body bytes in flight at once; beyond it 503 PUSHBACK,',
        `Retry-After, body unread (default ${d.uploadBudgetBytes}, 64 MiB)`,
      ],
      'CANDOR_UPLOAD_BUDGET',
    ],
    [
      '--max-pipelined N',
      [
        'pipelined requests queued per connection (answered one at a',
        `time); more close the connection (default ${d.maxPipelined})`,
      ],
      'CANDOR_MAX_PIPELINED',
    ],
  ];
  const pad = ' '.repeat(indent);
  const column = pad + ' '.repeat(18);
  let out = '';
  for (const [flag, lines, env] of entries) {
    const text = withEnv ? [...lines, `[${env}]`] : lines;
    if (flag.length < 18) out += pad + flag.padEnd(18) + text[0] + '\n';
    else out += pad + flag + '\n' + column + text[0] + '\n';
    for (const line of text.slice(1)) out += column + line + '\n';
  }
  return out;
}

/**
 * The limits given by flags (or, with `env`, the environment), checked against each other
 * and the defaults. Throws `usageError(message)` for a value that is not a whole number or
 * out of range.
 */
export function httpLimitFlags(
  values: Record<string, unknown>,
  env: ((name: string) => string | undefined) | undefined,
  usageError: (message: string) => Error
): Partial<HttpLimits> {
  const limits: Partial<HttpLimits> = {};
  for (const { flag, env: name, key } of FLAGS) {
    const given = values[flag];
    const text = typeof given === 'string' ? given : env?.(name);
    if (text === undefined) continue;
    try {
      limits[key] = parseDecimal(text, `--${flag}`);
    } catch {
      throw usageError(`--${flag} must be a non-negative whole number, got "${text}"`);
    }
  }
  try {
    resolveHttpLimits(limits);
  } catch (err) {
    // The limits' own names in the message become their flags.
    let message = (err as Error).message;
    for (const { flag, key } of FLAGS) message = message.replaceAll(key, `--${flag}`);
    throw usageError(message);
  }
  return limits;
}
