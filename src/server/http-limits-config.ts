/**
 * The limits of candor's HTTP servers and their defaults (enforced by http-limits.ts).
 * Apart, without node:http, so that the CLI can print and check them cheaply.
 */
import { readFileSync } from 'node:fs';
import { LogError } from '../util/errors.js';

/** The limits of one HTTP server. Every field is configurable (`candor serve --help`). */
export interface HttpLimits {
  /** Complete request headers must arrive within this many ms; else 408 and close. */
  headerTimeoutMs: number;
  /** The whole request, body included, must arrive within this many ms; else 408 and close. */
  requestTimeoutMs: number;
  /** A keep-alive connection with no request for this many ms is closed. */
  idleTimeoutMs: number;
  /** An answer whose bytes make no progress into the socket for this many ms closes it. */
  writeTimeoutMs: number;
  /** Open connections at most; more are closed at once. */
  maxConnections: number;
  /** Open connections per client address (IPv6: per /64) at most; 0: no per-address cap. */
  maxConnectionsPerIp: number;
  /** Pipelined requests waiting behind the one being answered, per connection, at most. */
  maxPipelined: number;
  /** Request body bytes reserved at once, over all connections, at most. */
  uploadBudgetBytes: number;
  /**
   * Answer bytes waiting for slow clients' sockets, over all connections, at most: beyond
   * it new requests wait, and connections whose answers have stalled longest are closed.
   */
  writeBudgetBytes: number;
}

/** The most connections by default: far enough below a 1024 open-file limit for the store's files. */
const DEFAULT_MAX_CONNECTIONS = 512;

/** The defaults: deadlines of a few seconds, caps well below the process's open-file limit. */
export function defaultHttpLimits(): HttpLimits {
  const files = openFileLimit();
  return {
    headerTimeoutMs: 5_000,
    requestTimeoutMs: 30_000,
    idleTimeoutMs: 5_000,
    writeTimeoutMs: 10_000,
    // Half the open-file limit at most: LevelDB, the key and log files need the rest.
    maxConnections:
      files === undefined
        ? DEFAULT_MAX_CONNECTIONS
        : Math.max(16, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor(files / 2))),
    maxConnectionsPerIp: 128,
    maxPipelined: 16,
    uploadBudgetBytes: 64 * 1024 * 1024,
    writeBudgetBytes: 256 * 1024 * 1024,
  };
}

/**
 * The defaults overridden by `given`, checked.
 * @throws LogError MALFORMED when a value is not a positive whole number (0 is allowed for
 *   maxConnectionsPerIp and maxPipelined), or the header deadline exceeds the request's.
 */
export function resolveHttpLimits(given: Partial<HttpLimits> = {}): HttpLimits {
  const limits: HttpLimits = { ...defaultHttpLimits() };
  for (const [key, value] of Object.entries(given) as Array<[keyof HttpLimits, number | undefined]>) {
    if (value !== undefined) limits[key] = value;
  }
  for (const [key, value] of Object.entries(limits) as Array<[keyof HttpLimits, number]>) {
    const zeroOk = key === 'maxConnectionsPerIp' || key === 'maxPipelined';
    if (!Number.isSafeInteger(value) || value < (zeroOk ? 0 : 1)) {
      const least = zeroOk ? 0 : 1;
      throw new LogError('MALFORMED', `${key} must be a whole number of at least ${least}, got ${value}`);
    }
  }
  if (limits.headerTimeoutMs > limits.requestTimeoutMs) {
    throw new LogError('MALFORMED', 'headerTimeoutMs must not exceed requestTimeoutMs');
  }
  return limits;
}

/** The soft open-file limit of this process (Linux /proc), or undefined when unknown. */
function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null || m[1] === 'unlimited' ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}
