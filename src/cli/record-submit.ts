/**
 * Talking to a log's record API for the governance commands.
 *
 * `POST /v1/records[?wait=witnessed]` takes the DSSE envelope (Content-Type
 * `application/json`) and answers, once the record is durably included in a signed
 * checkpoint (with `?wait=witnessed`, one carrying the witness quorum), the same receipt
 * as `POST /v1/entries` — `{index, leafHash, duplicate, checkpoint, inclusionProof}` —
 * for the canonical envelope it logged, plus `record: {envelopeDigest, …}`. Refusals are
 * 4xx with `{"error": {"code", "message"}}`; 503 and 504 mean "not yet".
 *
 * submitRecord never trusts a 200 blindly: the receipt's inclusion proof must lead to its
 * checkpoint's root, its leaf hash must be that of the envelope submitted (the CLI only
 * ever submits canonical envelopes, so the log stores exactly these bytes), and with a
 * policy the checkpoint must be signed (and cosigned) as the policy demands. With
 * --witnessed and no policy it at least requires a cosignature line next to the log's.
 */
import { parseReceipt, receiptToProofFile, type Receipt } from '../client/receipt.js';
import { verifyProofFile } from '../client/proof-file.js';
import type { Policy } from '../client/policy.js';
import { fetchBytes } from '../client/tile-reader.js';
import { leafHash } from '../merkle/hash.js';
import { parseNote } from '../note/note.js';
import { equalBytes } from '../util/bytes.js';
import { isLogError } from '../util/errors.js';
import { MAX_ENVELOPE_SIZE } from '../governance/dsse.js';
import { isJsonObject } from '../governance/strict-json.js';
import { CommandError, GOVERNANCE_EXIT, withExit, type GovernanceIo } from './governance-io.js';

/** How to submit. */
export interface SubmitOptions {
  url: string;
  /** Ask for (and require) a witnessed checkpoint. */
  witnessed: boolean;
  /** Retry transient failures until the deadline (otherwise: one attempt). */
  wait: boolean;
  /** The deadline, in milliseconds from the start. */
  timeoutMs: number;
  /** Verify the receipt's checkpoint against this policy. */
  policy?: Policy;
}

/** A verified submission. */
export interface Submitted {
  receipt: Receipt;
  /** The receipt JSON text as the log sent it (for --proof-out). */
  receiptText: string;
}

const MAX_ANSWER = 1024 * 1024;
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

function errorText(body: Uint8Array): string {
  const text = Buffer.from(body).toString('utf8').trim();
  try {
    const v: unknown = JSON.parse(text);
    const e = isJsonObject(v) && isJsonObject(v.error) ? v.error : undefined;
    if (e !== undefined) return `${String(e.code)}: ${String(e.message)}`;
  } catch {
    // not JSON: show it as text
  }
  return text.slice(0, 500);
}

/** Checks a 200 answer (see the module comment); throws BAD_RECEIPT failures. */
function checkReceipt(
  text: string,
  entry: Uint8Array,
  options: SubmitOptions,
  digest?: string
): Receipt {
  let receipt: Receipt;
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
    receipt = parseReceipt(answer);
  } catch (err) {
    throw withExit(
      GOVERNANCE_EXIT.BAD_RECEIPT,
      `the log's receipt is not valid: ${(err as Error).message}`
    );
  }
  if (!equalBytes(receipt.leafHash, leafHash(entry))) {
    throw new CommandError(
      GOVERNANCE_EXIT.BAD_RECEIPT,
      `the log's receipt (index ${receipt.index}) is for another entry`
    );
  }
  const record = isJsonObject(answer.record) ? answer.record : {};
  if (
    digest !== undefined &&
    record.envelopeDigest !== undefined &&
    record.envelopeDigest !== digest
  ) {
    throw new CommandError(GOVERNANCE_EXIT.BAD_RECEIPT, 'the log reports another envelope digest');
  }
  if (options.policy !== undefined) {
    try {
      verifyProofFile(receiptToProofFile(answer), entry, options.policy);
    } catch (err) {
      throw withExit(
        GOVERNANCE_EXIT.BAD_RECEIPT,
        `the receipt does not satisfy the policy: ${(err as Error).message}`
      );
    }
  } else if (options.witnessed && parseNote(receipt.checkpoint).signatures.length < 2) {
    throw new CommandError(
      GOVERNANCE_EXIT.BAD_RECEIPT,
      "the receipt's checkpoint carries no cosignature"
    );
  }
  return receipt;
}

/**
 * Submits a canonical envelope to `POST /v1/records` and returns the verified receipt.
 * Transient failures (no connection, 408/425/429/5xx) are retried with backoff (and the
 * server's Retry-After) until the deadline when `wait`; resubmitting is safe because the
 * log deduplicates identical entries.
 * @throws CommandError REFUSED (4xx), NOT_INCLUDED (deadline or transient failure),
 *   BAD_RECEIPT (see checkReceipt) or ERROR (404: no record API, or an odd status).
 */
export async function submitRecord(
  io: GovernanceIo,
  entry: Uint8Array,
  options: SubmitOptions,
  envelopeDigest?: string
): Promise<Submitted> {
  const url = `${options.url}/v1/records${options.witnessed ? '?wait=witnessed' : ''}`;
  const deadline = io.now() + options.timeoutMs;
  let backoff = 250;
  let last = 'no attempt made';
  for (;;) {
    const remaining = deadline - io.now();
    if (remaining <= 0) break;
    let retryAfterMs = 0;
    try {
      const res = await fetchBytes(io.fetch, url, {
        method: 'POST',
        body: entry,
        headers: { 'content-type': 'application/json', ...apiToken(io) },
        timeoutMs: remaining,
        maxBytes: MAX_ANSWER,
      });
      if (res.status === 200) {
        const receiptText = Buffer.from(res.body).toString('utf8');
        return {
          receipt: checkReceipt(receiptText, entry, options, envelopeDigest),
          receiptText,
        };
      }
      last = `HTTP ${res.status}: ${errorText(res.body)}`;
      if (res.status === 404) {
        throw new CommandError(
          GOVERNANCE_EXIT.ERROR,
          `${url}: ${last} (does this log serve /v1/records?)`
        );
      }
      if (!TRANSIENT.has(res.status)) {
        const exit =
          res.status >= 400 && res.status < 500 ? GOVERNANCE_EXIT.REFUSED : GOVERNANCE_EXIT.ERROR;
        throw new CommandError(exit, `the log refused the record: ${last}`);
      }
      const retryAfter = Number(res.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
    } catch (err) {
      if (!isLogError(err, 'TIMEOUT')) throw err;
      last = err.message;
    }
    if (!options.wait) break;
    const pause = Math.min(Math.max(backoff, retryAfterMs), deadline - io.now());
    if (pause <= 0) break;
    await io.sleep(pause);
    backoff = Math.min(backoff * 2, 5000);
  }
  const hint = options.wait ? `within ${options.timeoutMs / 1000} s` : '(use --wait to retry)';
  throw new CommandError(
    GOVERNANCE_EXIT.NOT_INCLUDED,
    `the record was not ${options.witnessed ? 'witness-' : ''}included ${hint}: ${last}; ` +
      'running the same command again is safe'
  );
}

/**
 * Fetches the raw bytes of entry `index` (`GET /v1/entries/<index>`).
 * @throws CommandError ERROR when there is no such entry or the log cannot be reached.
 */
export async function fetchEntry(
  io: GovernanceIo,
  url: string,
  index: number,
  timeoutMs: number
): Promise<Uint8Array> {
  const at = `${url}/v1/entries/${index}`;
  let res;
  try {
    res = await fetchBytes(io.fetch, at, { timeoutMs, maxBytes: MAX_ENVELOPE_SIZE + 1 });
  } catch (err) {
    throw withExit(GOVERNANCE_EXIT.ERROR, err);
  }
  if (res.status === 404)
    throw new CommandError(GOVERNANCE_EXIT.ERROR, `the log has no entry ${index}`);
  if (res.status !== 200) {
    throw new CommandError(
      GOVERNANCE_EXIT.ERROR,
      `${at}: HTTP ${res.status}: ${errorText(res.body)}`
    );
  }
  return res.body;
}

/** The Authorization header of CANDOR_TOKEN, the API token of a log that needs one. */
function apiToken(io: GovernanceIo): Record<string, string> {
  const token = io.env('CANDOR_TOKEN');
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
