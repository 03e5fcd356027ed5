/**
 * Opening a checkpoint against a trust policy (c2sp.org/tlog-policy): the checkpoint must be
 * signed by a log of the policy whose key name is the checkpoint's origin, and cosigned
 * (c2sp.org/tlog-cosignature, cosignature/v1) by witnesses meeting the policy's quorum.
 *
 * Order of checks, each with its own error code:
 * 1. note and checkpoint syntax (MALFORMED);
 * 2. the origin: the expected one when given, and one the policy has a log for
 *    (UNKNOWN_LOG);
 * 3. signatures (BAD_SIGNATURE): every signature line by a key of the policy (log or
 *    witness) must verify, as c2sp.org/signed-note recommends, and one must be the log's;
 * 4. the quorum (QUORUM_NOT_MET), counting each policy witness whose cosignature verified
 *    and whose timestamp is not in the future beyond `maxFutureSkewSeconds` (such a
 *    cosignature is not counted; tlog-cosignature lets verifiers reject it).
 *
 * Signature lines by keys the policy does not know are ignored, as the spec requires.
 */
import { parseCheckpoint, type Checkpoint } from '../checkpoint/checkpoint.js';
import {
  cosignatureTimeProblem,
  cosignatureTimestamp,
  DEFAULT_MAX_FUTURE_SKEW_SECONDS,
} from '../checkpoint/cosignature.js';
import { parseNote, verifyNote, type NoteSignature } from '../note/note.js';
import { fromUtf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { evaluateQuorum, type Policy } from './policy.js';

/** A policy witness whose cosignature verified and counted. */
export interface CosigningWitness {
  /** The witness's name in the policy. */
  name: string;
  verifierKey: string;
  /** The cosignature's timestamp, POSIX seconds. */
  timestamp: number;
}

/** A checkpoint signed by a policy log and cosigned to the policy's quorum. */
export interface VerifiedCheckpoint extends Checkpoint {
  /** The whole note as received: checkpoint text, blank line, signature lines. */
  note: string;
  /** The verifier key of the policy log that signed it. */
  logKey: string;
  /** Policy witnesses whose cosignatures verified and counted, in policy order. */
  witnesses: CosigningWitness[];
}

/** Options for openCheckpointWithPolicy. */
export interface OpenWithPolicyOptions {
  /** The current time in milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Only accept checkpoints with this origin (a policy may list several logs). */
  origin?: string;
  /** Tolerated clock difference for cosignature timestamps, in seconds; default 300. */
  maxFutureSkewSeconds?: number;
}

/** Default tolerance for cosignature timestamps ahead of the local clock: five minutes. */
export { DEFAULT_MAX_FUTURE_SKEW_SECONDS };

function matches(sig: NoteSignature, v: { name: string; keyId: number }): boolean {
  return sig.name === v.name && sig.keyId === v.keyId;
}

/**
 * Verifies a checkpoint note against a policy (see the module comment for the rules).
 * @throws LogError MALFORMED, UNKNOWN_LOG, BAD_SIGNATURE or QUORUM_NOT_MET.
 * @example
 * const policy = parsePolicy(policyText);
 * const cp = openCheckpointWithPolicy(noteText, policy);
 * console.log(cp.origin, cp.size, cp.witnesses.map((w) => w.name));
 */
export function openCheckpointWithPolicy(
  note: string | Uint8Array,
  policy: Policy,
  options: OpenWithPolicyOptions = {}
): VerifiedCheckpoint {
  const noteText = typeof note === 'string' ? note : fromUtf8(note, 'checkpoint note');
  const parsed = parseNote(noteText);
  const checkpoint = parseCheckpoint(parsed.text);
  const origin = JSON.stringify(checkpoint.origin.slice(0, 100));
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new LogError(
      'UNKNOWN_LOG',
      `checkpoint origin ${origin} is not the expected ${JSON.stringify(options.origin)}`
    );
  }
  const logs = policy.logs.filter((l) => l.name === checkpoint.origin);
  if (logs.length === 0) {
    throw new LogError('UNKNOWN_LOG', `the policy has no log with origin ${origin}`);
  }
  const opened = verifyNote(parsed, [
    ...logs.map((l) => l.verifier),
    ...policy.witnesses.map((w) => w.verifier),
  ]);
  const log = logs.find((l) => opened.verified.some((s) => matches(s, l.verifier)));
  if (log === undefined) {
    throw new LogError('BAD_SIGNATURE', `checkpoint is not signed by the log ${origin}`);
  }

  const nowMs = (options.now ?? Date.now)();
  const skew = options.maxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS;
  const witnesses: CosigningWitness[] = [];
  const notCounted: string[] = [];
  for (const w of policy.witnesses) {
    const sig = opened.verified.find((s) => matches(s, w.verifier));
    if (sig === undefined) continue;
    const timestamp = cosignatureTimestamp(sig.signature);
    const problem = cosignatureTimeProblem(timestamp, nowMs, skew);
    if (problem !== undefined) {
      notCounted.push(`${w.name} (${problem})`);
      continue;
    }
    witnesses.push({ name: w.name, verifierKey: w.verifierKey, timestamp });
  }
  const result = evaluateQuorum(policy, witnesses.map((w) => w.name));
  if (!result.met) {
    const have = witnesses.length === 0 ? 'none' : witnesses.map((w) => w.name).join(', ');
    const ignored = notCounted.length === 0 ? '' : `; not counted: ${notCounted.join(', ')}`;
    const why = `the cosignatures do not satisfy the quorum "${policy.quorum}"`;
    throw new LogError('QUORUM_NOT_MET', `${why} (valid: ${have}${ignored})`);
  }
  return { ...checkpoint, note: noteText, logKey: log.verifierKey, witnesses };
}
