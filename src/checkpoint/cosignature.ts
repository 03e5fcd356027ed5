/**
 * Timestamped Ed25519 cosignatures, cosignature/v1, signature type 0x04
 * (c2sp.org/tlog-cosignature; specs §4.1), as made by witnesses (c2sp.org/tlog-witness).
 *
 * The cosigner signs, with plain Ed25519, the message
 *   `cosignature/v1\ntime <timestamp>\n` ‖ <the whole checkpoint note text>
 * and the note signature is `u64be(timestamp) ‖ ed25519 signature` (72 bytes; 76 with the key
 * ID). The key ID is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4].
 *
 * Timestamps are POSIX seconds. The spec allows up to 2^63 - 1; candor handles them as JS
 * numbers, so it accepts at most 2^53 - 1 (about 285 million years from now), and a
 * signature claiming a later time does not verify here.
 *
 * @example
 * Witness `witness.example/w1+cc9a7044+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW` at time
 * 1679315147 cosigns the specs §8.2 checkpoint with the line
 *
 *     — witness.example/w1 zJpwRAAAAABkGFDLcYi7M5vNiPX13OdYnOc3KT0Pet29CaRC0wiUYZK6wGoRB3Hm1NiveieDjjziesoFgTox1UrHDAs0IVVzXUY+CA==
 *
 * whose bytes are cc9a7044 (key ID), 00000000641850cb (the time), then the signature.
 */
import { concatBytes, fromUtf8, readU64be, u64be, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../note/ed25519.js';
import {
  computeKeyId,
  formatVerifierKey,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  type Signer,
  type Verifier,
} from '../note/keys.js';
import { parseCheckpoint } from './checkpoint.js';

/** Size of a cosignature/v1 note signature without the key ID: u64 time ‖ 64-byte sig. */
export const COSIGNATURE_V1_SIZE = 72;


/** A cosignature/v1 verifier; also remembers the time of the last signature it accepted. */
export interface CosignatureV1Verifier extends Verifier {
  /**
   * Timestamp of the most recent signature this verifier accepted. Convenience for
   * single-shot use; with shared verifiers prefer cosignatureTimestamp(sig.signature) on
   * openNote's `verified` list.
   */
  readonly lastTimestamp: number | undefined;
}

function checkTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError(
      `cosignature timestamp must be a safe non-negative integer, got ${String(timestamp)}`
    );
  }
}

/**
 * Builds the signed message `cosignature/v1\ntime <timestamp>\n<checkpoint text>`.
 * @throws TypeError when the timestamp is not a safe non-negative integer.
 */
export function cosignatureMessage(
  checkpointText: string | Uint8Array,
  timestamp: number
): Uint8Array {
  checkTimestamp(timestamp);
  const body = typeof checkpointText === 'string' ? utf8(checkpointText) : checkpointText;
  return concatBytes(utf8(`cosignature/v1\ntime ${timestamp}\n`), body);
}

/**
 * Reads the timestamp of a cosignature/v1 signature (the note signature without key ID).
 * @throws LogError MALFORMED when the signature is not 72 bytes or the time exceeds 2^53 - 1.
 */
export function cosignatureTimestamp(sig: Uint8Array): number {
  if (sig.length !== COSIGNATURE_V1_SIZE) {
    throw new LogError(
      'MALFORMED',
      `cosignature/v1 signature must be ${COSIGNATURE_V1_SIZE} bytes`
    );
  }
  return readU64be(sig, 0);
}

/** Default tolerance for cosignature timestamps ahead of the local clock: five minutes. */
export const DEFAULT_MAX_FUTURE_SKEW_SECONDS = 300;

/**
 * The clock rule for counting a cosignature: one whose timestamp is more than
 * `maxFutureSkewSeconds` ahead of the local clock is not counted (tlog-cosignature lets
 * verifiers reject it; its witness's clock is wrong, or the signature was made to look
 * fresh). The one rule for clients (openCheckpointWithPolicy) and for the log counting
 * its witnesses' cosignatures (witnessing.ts), so the log never publishes a quorum its
 * clients would refuse.
 * @param timestamp the cosignature's time, POSIX seconds (cosignatureTimestamp).
 * @param nowMs the local clock, milliseconds since the epoch.
 * @returns why it is not counted (`timestamp T is in the future`), or undefined when it counts.
 */
export function cosignatureTimeProblem(
  timestamp: number,
  nowMs: number,
  maxFutureSkewSeconds: number = DEFAULT_MAX_FUTURE_SKEW_SECONDS
): string | undefined {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (timestamp <= nowSeconds + maxFutureSkewSeconds) return undefined;
  return `timestamp ${timestamp} is in the future`;
}

/**
 * Formats a cosigner verifier key (type 0x04): `<name>+<keyid over 0x04>+B…` (specs §4.1).
 * @throws LogError MALFORMED on an invalid name; TypeError on a bad key length.
 */
export function formatCosignerVerifierKey(name: string, publicKey: Uint8Array): string {
  return formatVerifierKey(name, SIG_TYPE_COSIGNATURE_V1, publicKey);
}

/**
 * Builds a cosignature/v1 Signer from a Go Ed25519 signer key (`PRIVATE+KEY+…`, key ID over
 * type 0x01 as Go writes it). Its `keyId` is recomputed over type 0x04. It refuses to sign
 * anything that is not a checkpoint body, so a witness key cannot be made to sign other text.
 * @param now Current time in POSIX seconds (injected; style P12).
 * @throws LogError MALFORMED on a malformed key.
 */
export function cosignatureV1Signer(skey: string, now: () => number): Signer {
  const { name, seed } = parseSignerKey(skey);
  const keyId = computeKeyId(name, SIG_TYPE_COSIGNATURE_V1, ed25519PublicKey(seed));
  return {
    name,
    keyId,
    sign(msg: Uint8Array): Uint8Array {
      parseCheckpoint(fromUtf8(msg, 'cosignature/v1 text'), { allowExtensions: true });
      const timestamp = now();
      const sig = ed25519Sign(seed, cosignatureMessage(msg, timestamp));
      return concatBytes(u64be(timestamp), sig);
    },
  };
}

/**
 * Builds a cosignature/v1 Verifier from a vkey of type 0x04 or 0x01 (many witness keys are
 * published as type 0x01). Like transparency-dev/formats `NewVerifierForCosignatureV1`, the
 * key ID is ALWAYS recomputed over type 0x04, so a type-0x01 vkey `…+36ccdbc6+A…` matches
 * signature lines carrying the 0x04 ID (specs §4.1 interop trap).
 * @throws LogError MALFORMED on a malformed key.
 */
export function cosignatureV1Verifier(vkey: string): CosignatureV1Verifier {
  const { name, publicKey } = parseVerifierKey(vkey);
  const keyId = computeKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey);
  let lastTimestamp: number | undefined;
  return {
    name,
    keyId,
    get lastTimestamp() {
      return lastTimestamp;
    },
    verify(msg: Uint8Array, sig: Uint8Array): boolean {
      if (sig.length !== COSIGNATURE_V1_SIZE) return false;
      let timestamp: number;
      try {
        timestamp = cosignatureTimestamp(sig);
      } catch {
        return false; // beyond 2^53 - 1: not representable here, treated as invalid
      }
      const ok = ed25519Verify(publicKey, cosignatureMessage(msg, timestamp), sig.subarray(8));
      if (ok) lastTimestamp = timestamp;
      return ok;
    },
  };
}
