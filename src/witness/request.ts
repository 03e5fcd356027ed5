/**
 * The add-checkpoint request body of c2sp.org/tlog-witness v1.0.0 (specs §6.1):
 *
 *     old 20852014
 *     PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
 *     jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
 *
 *     example.com/behind-the-sofa
 *     20852163
 *     CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
 *
 *     — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
 *
 * `old <size>` (canonical decimal), then 0–63 consistency proof hashes (canonical base64,
 * 32 bytes), a blank line, then the signed checkpoint note. The header ends at the FIRST
 * blank line; the rest is the note. Parsing is strict (style P4, specs §9 item 8): every
 * line must match, with no leading zeros, spaces or stray text.
 */
import { fromBase64, fromUtf8, toBase64, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { MAX_PROOF_HASHES } from '../merkle/verify.js';
import { HASH_SIZE } from '../merkle/hash.js';

/** Largest add-checkpoint (and gossip) body accepted, in bytes. */
export const MAX_REQUEST_BODY = 64 * 1024;

/** A parsed add-checkpoint request. */
export interface AddCheckpointRequest {
  /** The size the client believes this witness last cosigned (0 for none). */
  old: number;
  /** The consistency proof from `old` to the checkpoint's size. */
  proof: Uint8Array[];
  /** The signed checkpoint note, not yet parsed. */
  note: string;
}

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `malformed add-checkpoint request: ${why}`);
}

/**
 * Parses an add-checkpoint body (the note itself is parsed later, by its own rules).
 * @throws LogError MALFORMED (or TOO_LARGE above MAX_REQUEST_BODY) on any deviation.
 */
export function parseAddCheckpointRequest(body: Uint8Array | string): AddCheckpointRequest {
  const size = typeof body === 'string' ? utf8(body).length : body.length;
  if (size > MAX_REQUEST_BODY) throw new LogError('TOO_LARGE', `request body exceeds ${MAX_REQUEST_BODY} bytes`);
  const text = typeof body === 'string' ? body : fromUtf8(body, 'add-checkpoint request');
  const split = text.indexOf('\n\n');
  if (split < 0) throw malformed('no blank line after the header');
  const lines = text.slice(0, split).split('\n');
  const note = text.slice(split + 2);
  const first = lines[0]!;
  if (!first.startsWith('old ')) throw malformed('the first line must be "old <size>"');
  const old = parseDecimal(first.slice(4), 'old size');
  const hashLines = lines.slice(1);
  if (hashLines.length > MAX_PROOF_HASHES) {
    throw malformed(`more than ${MAX_PROOF_HASHES} consistency proof hashes`);
  }
  const proof = hashLines.map((line, i) => fromBase64(line, HASH_SIZE, `proof hash ${i}`));
  if (note === '') throw malformed('no checkpoint after the blank line');
  return { old, proof, note };
}

/** Formats an add-checkpoint body (for clients and tests). */
export function formatAddCheckpointRequest(old: number, proof: readonly Uint8Array[], note: string): string {
  const lines = [`old ${old}`, ...proof.map(toBase64)];
  return `${lines.join('\n')}\n\n${note}`;
}
