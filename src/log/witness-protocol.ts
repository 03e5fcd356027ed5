/**
 * The log's half of the c2sp.org/tlog-witness v1.0.0 wire protocol (specs §6.1): witness
 * configuration, the `add-checkpoint` request body, one request with a timeout, and what
 * each answer means. No state here; the Witnessing component (witnessing.ts) drives it.
 *
 * @example
 * The request body for a witness known to hold size 4, with the log at size 8:
 *
 *     old 4
 *     <base64 consistency proof hash, 4 → 8>   (one line per hash, 0 to 63 of them)
 *
 *     example.com/log
 *     8
 *     <base64 root hash>
 *
 *     — example.com/log <base64 key ID and signature>
 *
 * A 200 answer is one or more signature lines; appended to the note they must carry a valid
 * cosignature/v1 by the witness's key (specs §4.1). A 409 answer with Content-Type
 * `text/x.tlog.size` and body `<size>\n` says which size the witness holds.
 */
import { cosignatureV1Verifier } from '../checkpoint/cosignature.js';
import { parseNote, verifyNote, type NoteSignature } from '../note/note.js';
import type { Verifier } from '../note/keys.js';
import { fromUtf8, toBase64 } from '../util/bytes.js';
import { LogError, isLogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { readBodyCapped } from '../util/http-body.js';

/** One configured witness: a label, its cosigner vkey (type 0x01 or 0x04), its URL prefix. */
export interface WitnessConfig {
  name: string;
  verifierKey: string;
  /** The submission prefix, without a trailing slash; requests go to `<url>/add-checkpoint`. */
  url: string;
}

/** The fetch this module uses (injected, style P12); the global fetch fits. */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

/** Time and timers (injected, style P12). `now()` is in milliseconds since the epoch. */
export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms`; returns a handle for clearTimeout (never undefined). */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A witness's answer: status, Content-Type (or ''), and body text. */
export interface WitnessAnswer {
  status: number;
  type: string;
  text: string;
}

/** A failed exchange with a witness; `loud` ones are signs of a fork or rollback. */
export class WitnessRefusal extends Error {
  constructor(
    message: string,
    readonly loud = false
  ) {
    super(message);
    this.name = 'WitnessRefusal';
  }
}

/** Largest witness answer read, in bytes. */
export const MAX_ANSWER = 64 * 1024;
const SPEC_RE = /^([^=\s,]+)=(\S+?)@(https?:\/\/[^\s,]+)$/;

/**
 * Parses a witness given as `NAME=VKEY@URL`, e.g.
 * `w1=witness.example/w1+cc9a7044+BBpc…@https://witness.example/w1`.
 * @throws LogError MALFORMED on a bad form, vkey or URL.
 */
export function parseWitnessSpec(spec: string): WitnessConfig {
  const m = SPEC_RE.exec(spec.trim());
  if (m === null) {
    throw new LogError('MALFORMED', `witness "${spec.slice(0, 200)}" is not NAME=VKEY@URL`);
  }
  const [, name, verifierKey, url] = m as unknown as [string, string, string, string];
  cosignatureV1Verifier(verifierKey);
  try {
    new URL(url);
  } catch {
    throw new LogError('MALFORMED', `witness ${name}: "${url}" is not a URL`);
  }
  return { name, verifierKey, url: url.replace(/\/+$/, '') };
}

/**
 * Checks a witness list and quorum: distinct names and keys, 1 ≤ quorum ≤ witnesses.
 * @throws LogError MALFORMED when they do not hold.
 */
export function checkWitnessSet(witnesses: readonly WitnessConfig[], quorum: number): void {
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const w of witnesses) {
    const v = cosignatureV1Verifier(w.verifierKey);
    const key = `${v.name} ${v.keyId}`;
    if (names.has(w.name)) throw new LogError('MALFORMED', `witness name ${w.name} is repeated`);
    if (keys.has(key)) throw new LogError('MALFORMED', `witness key ${w.verifierKey} is repeated`);
    names.add(w.name);
    keys.add(key);
  }
  if (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > witnesses.length) {
    throw new LogError('MALFORMED', `quorum must be 1 to ${witnesses.length}, got ${quorum}`);
  }
}

/** The add-checkpoint body: `old <size>\n`, the proof hashes one per line, `\n`, the note. */
export function formatAddCheckpointBody(
  old: number,
  proof: readonly Uint8Array[],
  note: string
): string {
  return `old ${old}\n${proof.map((h) => toBase64(h) + '\n').join('')}\n${note}`;
}

/**
 * POSTs `body` to `<url>/add-checkpoint`. The timeout covers the whole answer, and aborting
 * `controller` (as stop does) ends the wait at once, even if `fetch` ignores the signal.
 * @throws WitnessRefusal on a timeout, an abort or an oversized answer; whatever fetch throws.
 */
export async function postAddCheckpoint(args: {
  fetch: FetchFn;
  clock: Clock;
  url: string;
  body: string;
  timeoutMs: number;
  controller: AbortController;
}): Promise<WitnessAnswer> {
  const { clock, controller: ctl, timeoutMs } = args;
  const timeout = new WitnessRefusal(`no answer within ${timeoutMs} ms`);
  const timer = clock.setTimeout(() => ctl.abort(timeout), timeoutMs);
  const aborted = new Promise<never>((_, reject) => {
    const stop = (): void => reject(ctl.signal.reason as Error);
    if (ctl.signal.aborted) stop();
    else ctl.signal.addEventListener('abort', stop, { once: true });
  });
  const exchange = async (): Promise<WitnessAnswer> => {
    const init = { method: 'POST', body: args.body, signal: ctl.signal };
    const res = await args.fetch(`${args.url}/add-checkpoint`, init);
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, text: await readCapped(res) };
  };
  try {
    return await Promise.race([exchange(), aborted]);
  } finally {
    clock.clearTimeout(timer);
  }
}

/** The size in a 409 answer (`text/x.tlog.size`, body `<size>\n`), or undefined. */
export function sizeFromConflict(answer: WitnessAnswer): number | undefined {
  if (answer.status !== 409) return undefined;
  if (answer.type.split(';')[0]!.trim().toLowerCase() !== 'text/x.tlog.size') return undefined;
  const text = answer.text.endsWith('\n') ? answer.text.slice(0, -1) : answer.text;
  try {
    return parseDecimal(text, 'witness size');
  } catch {
    return undefined;
  }
}

/**
 * Checks the size a witness says it holds (from a 409) against the `old` size it was sent
 * and the log's latest size: one the log can prove from again passes.
 * @throws WitnessRefusal (loud) when the witness is ahead of the log or holds a different
 *   tree at `old`: the log was rolled back or forked.
 */
export function checkWitnessSize(size: number, old: number, latest: number): void {
  if (size > latest) {
    throw new WitnessRefusal(
      `it has cosigned size ${size} but this log has only ${latest} entries: ` +
        'the log was rolled back or forked, or another log uses its origin',
      true
    );
  }
  if (size === old) {
    throw new WitnessRefusal(`it holds a different tree at size ${size} (409): a fork`, true);
  }
}

/**
 * What a failing answer (not 200, not a 409 with a size) means: specs §6.1 status table and
 * §9 items 1 and 2. A 409 without a size or a 422 is a conflict or misbehaviour, never
 * retried blindly; 403 and 404 mean the witness is not configured for this log.
 */
export function refusalFor(answer: WitnessAnswer): WitnessRefusal {
  const said = answer.text.trim().slice(0, 200).replace(/[^\x20-\x7e]/g, '?');
  const detail = said === '' ? '' : `: ${said}`;
  switch (answer.status) {
    case 404:
      return new WitnessRefusal(
        `it does not know this log (404); configure the log's origin and key on it${detail}`
      );
    case 403:
      return new WitnessRefusal(
        `it refused the log's signature (403); it does not trust this log's key or origin${detail}`
      );
    case 409:
      return new WitnessRefusal(`it reports a conflict (409) without its size${detail}`, true);
    case 422:
      return new WitnessRefusal(
        `it rejected the consistency proof (422): it may hold a different tree${detail}`,
        true
      );
    default:
      return new WitnessRefusal(`HTTP ${answer.status}${detail}`);
  }
}

/**
 * Finds the witness's cosignature in a 200 answer: the answer is appended to the log-signed
 * `note` and verified with the witness's verifier (Go note.Open semantics, specs §2.5): only
 * lines with its (name, key ID) count, the first one must verify, others are ignored.
 * @returns the cosignature: its line (`— name base64\n`) and signature bytes (for its time).
 * @throws WitnessRefusal when the answer carries no valid cosignature by that key.
 */
export function openCosignature(note: string, answer: string, verifier: Verifier): NoteSignature {
  try {
    const text = parseNote(note).text;
    const cosigned = parseNote(note + answer);
    if (cosigned.text !== text) throw new Error('the answer is not only signature lines');
    return verifyNote(cosigned, [verifier]).verified[0]!;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const by = verifier.name;
    throw new WitnessRefusal(`answered 200 without a valid cosignature by ${by} (${why})`);
  }
}

async function readCapped(res: Response): Promise<string> {
  let body: Uint8Array;
  try {
    body = await readBodyCapped(res, MAX_ANSWER, 'witness answer');
  } catch (err) {
    if (isLogError(err, 'TOO_LARGE')) throw new WitnessRefusal(`answer larger than ${MAX_ANSWER} bytes`);
    throw err;
  }
  return fromUtf8(body, 'witness answer');
}
