/**
 * `candor verify`: checks an offline proof (c2sp.org/tlog-proof) of an entry against a trust
 * policy (c2sp.org/tlog-policy), with no network access.
 *
 *   candor verify --policy FILE --proof FILE --entry FILE [--json]
 *
 * Exit codes (VERIFY_EXIT), one per kind of failure:
 *   0  valid: the entry is in the log, at a checkpoint meeting the policy
 *   1  other error (e.g. a file cannot be read)
 *   2  bad usage
 *   3  malformed input (policy, proof or checkpoint does not parse)
 *   4  bad signature: the checkpoint is not validly signed by a log of the policy (wrong or
 *      unknown origin, bad log signature), or a policy witness's cosignature is invalid
 *   5  quorum not met: validly signed, but not cosigned by enough policy witnesses
 *   6  bad proof: the inclusion proof does not verify
 *   7  entry mismatch: the proof is valid, but for another entry
 *
 * By default it prints one readable line (stdout when valid, stderr otherwise); with
 * --json it prints one JSON object on stdout either way:
 *   {"valid":true,"index":…,"origin":…,"size":…,"rootHash":…,"leafHash":…,
 *    "witnesses":[{"name":…,"timestamp":…},…]}
 *   {"valid":false,"exitCode":5,"error":{"code":"QUORUM_NOT_MET","message":"…"}}
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePolicy } from '../client/policy.js';
import { verifyProofFile } from '../client/proof-file.js';
import { toBase64 } from '../util/bytes.js';
import { isLogError, type ErrorCode } from '../util/errors.js';

/** The exit codes of `candor verify`. */
export const VERIFY_EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  MALFORMED: 3,
  BAD_SIGNATURE: 4,
  QUORUM_NOT_MET: 5,
  PROOF_FAILED: 6,
  ENTRY_MISMATCH: 7,
} as const;

/** The one-line synopsis of `candor verify`. */
export const VERIFY_SYNOPSIS = 'candor verify --policy FILE --proof FILE --entry FILE [--json]';

/** The lines for `candor verify` in the dispatcher's command list (indented like it). */
export const VERIFY_USAGE =
  '  verify      check an offline proof of an entry against a trust policy, with no network:\n' +
  '              --policy FILE --proof FILE --entry FILE [--json]\n' +
  '              (exit 0 valid, 3 malformed, 4 bad signature, 5 quorum not met,\n' +
  '              6 bad proof, 7 entry mismatch, 1 other error, 2 usage)\n';

const KIND: Partial<Record<ErrorCode, [number, string]>> = {
  MALFORMED: [VERIFY_EXIT.MALFORMED, 'malformed input'],
  UNKNOWN_LOG: [VERIFY_EXIT.BAD_SIGNATURE, 'bad signature'],
  BAD_SIGNATURE: [VERIFY_EXIT.BAD_SIGNATURE, 'bad signature'],
  QUORUM_NOT_MET: [VERIFY_EXIT.QUORUM_NOT_MET, 'quorum not met'],
  PROOF_FAILED: [VERIFY_EXIT.PROOF_FAILED, 'bad proof'],
  ENTRY_MISMATCH: [VERIFY_EXIT.ENTRY_MISMATCH, 'entry mismatch'],
};

/** Where verifyCommand writes, and how it reads files and the clock (for tests). */
export interface VerifyIo {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): Promise<Uint8Array>;
  /** Milliseconds since the epoch. */
  now(): number;
}

const nodeIo: VerifyIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  readFile: async (p) => new Uint8Array(await readFile(p)),
  now: Date.now,
};

/** The parseArgs options of `candor verify`. */
export const VERIFY_OPTIONS = {
  policy: { type: 'string' },
  proof: { type: 'string' },
  entry: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * Runs `candor verify` with the arguments after `verify`; resolves with the exit code (see
 * the module comment). Never throws and never exits the process.
 */
export async function verifyCommand(args: string[], io: VerifyIo = nodeIo): Promise<number> {
  let values: { policy?: string; proof?: string; entry?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: VERIFY_OPTIONS,
      strict: true,
    }));
  } catch (err) {
    io.err(`candor verify: ${(err as Error).message}\nusage: ${VERIFY_SYNOPSIS}\n`);
    return VERIFY_EXIT.USAGE;
  }
  const { policy: policyPath, proof, entry, json = false } = values;
  if (policyPath === undefined || proof === undefined || entry === undefined) {
    const why = '--policy, --proof and --entry are required';
    io.err(`candor verify: ${why}\nusage: ${VERIFY_SYNOPSIS}\n`);
    return VERIFY_EXIT.USAGE;
  }
  let files: Uint8Array[];
  try {
    files = await Promise.all([policyPath, proof, entry].map((p) => io.readFile(p)));
  } catch (err) {
    return fail(io, json, VERIFY_EXIT.ERROR, 'ERROR', (err as Error).message);
  }
  try {
    const [policyBytes, proofBytes, entryBytes] = files as [Uint8Array, Uint8Array, Uint8Array];
    const policy = parsePolicy(policyBytes);
    const result = verifyProofFile(proofBytes, entryBytes, policy, { now: io.now });
    const cp = result.checkpoint;
    const witnesses = result.witnesses.map((w) => ({ name: w.name, timestamp: w.timestamp }));
    if (json) {
      io.out(
        JSON.stringify({
          valid: true,
          index: result.index,
          origin: cp.origin,
          size: cp.size,
          rootHash: toBase64(cp.rootHash),
          leafHash: toBase64(result.leafHash),
          witnesses,
        }) + '\n'
      );
    } else {
      const cosigned =
        witnesses.length === 0
          ? 'no witness cosignatures required'
          : `cosigned by ${witnesses.map((w) => `${w.name} (${isoTime(w.timestamp)})`).join(', ')}`;
      io.out(
        `OK: entry ${result.index} is in ${cp.origin} at tree size ${cp.size} ` +
          `(root ${toBase64(cp.rootHash)}), ${cosigned}\n`
      );
    }
    return VERIFY_EXIT.OK;
  } catch (err) {
    const kind = isLogError(err) ? KIND[err.code] : undefined;
    if (kind === undefined || !isLogError(err)) {
      const message = err instanceof Error ? err.message : String(err);
      return fail(io, json, VERIFY_EXIT.ERROR, 'ERROR', message);
    }
    return fail(io, json, kind[0], err.code, err.message, kind[1]);
  }
}

// Reports a failure (see the module comment) and returns its exit code.
function fail(
  io: VerifyIo,
  json: boolean,
  exitCode: number,
  code: string,
  message: string,
  kind = 'error'
): number {
  if (json) io.out(JSON.stringify({ valid: false, exitCode, error: { code, message } }) + '\n');
  else io.err(`candor verify: FAILED (${kind}): ${message}\n`);
  return exitCode;
}

function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? `${seconds}` : d.toISOString().replace('.000Z', 'Z');
}
