/**
 * What `candor history`, `candor state` and `candor verify-deployment` share: their exit
 * codes, searching a log's record index (`GET /v1/search`), and fetching records with
 * their proofs.
 *
 * The index is the log operator's answer to "which records are there": a convenience,
 * not evidence. Evidence is each record's bytes, authenticated against a checkpoint that
 * meets the trust policy (LogClient: the checkpoint is opened against the policy, the
 * entry is checked against its tiles, and the tlog-proof is verified with
 * verifyProofFile). Everything a verdict rests on is read from those bytes; when the
 * index says something the bytes do not, that is a bad proof (the log lies). What
 * the index cannot prove is that it shows every record: a monitor reading every entry
 * (`candor monitor`) covers that.
 *
 * Exit codes (RECORDS_EXIT):
 *   0  OK
 *   1  other error: the log cannot be reached, a file cannot be read, an odd answer
 *   2  bad usage
 *   3  no record: nothing is logged for that model and environment (at that time)
 *   4  artifact drift: the deployed artifact's digest is not the logged one
 *   5  configuration drift: the deployed configuration is not the logged one
 *   6  missing approval: the change lacks a counted approval (approvals.ts)
 *   7  bad proof: a checkpoint, signature or inclusion proof does not verify against the
 *      policy, or the log's index contradicts the proven entry
 *   8  quorum not met: validly signed, but not (yet) cosigned by enough witnesses, or
 *      the record is not yet in a checkpoint that is
 */
import { LogClient } from '../client/log-client.js';
import type { Policy } from '../client/policy.js';
import { verifyProofFile } from '../client/proof-file.js';
import type { VerifiedCheckpoint } from '../client/open.js';
import { fetchBytes } from '../client/tile-reader.js';
import type { SubmitterList } from '../governance/submitters.js';
import { parseRecord, type ParsedRecord } from '../governance/verify-record.js';
import { attributeRecord } from '../search/attribution.js';
import {
  evaluateApprovals,
  type ApprovalOutcome,
  type ApprovalView,
  type SignerInfo,
} from '../search/approvals.js';
import { formatSearchParams, type SearchQuery } from '../search/query.js';
import type { SearchResult } from '../search/record-index.js';
import { isJsonObject } from '../governance/strict-json.js';
import { LogError, isLogError } from '../util/errors.js';
import { CommandError, type GovernanceIo } from './governance-io.js';

/** The exit codes of history, state and verify-deployment (see the module comment). */
export const RECORDS_EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NO_RECORD: 3,
  ARTIFACT_DRIFT: 4,
  CONFIG_DRIFT: 5,
  MISSING_APPROVAL: 6,
  BAD_PROOF: 7,
  QUORUM_NOT_MET: 8,
} as const;

/** The stable names of the exit codes, as `--json` reports them. */
export const RECORDS_EXIT_NAME: Record<number, string> = {
  1: 'ERROR',
  2: 'USAGE',
  3: 'NO_RECORD',
  4: 'ARTIFACT_DRIFT',
  5: 'CONFIG_DRIFT',
  6: 'MISSING_APPROVAL',
  7: 'BAD_PROOF',
  8: 'QUORUM_NOT_MET',
};

/** The usage lines of the record query commands, for the dispatcher's command list. */
export const RECORDS_USAGE =
  '  history     the timeline of a model\'s records (who, what, why, approvals, digests):\n' +
  '              --model M [--env E] [--since TIME] [--until TIME] [--limit N] [--submitters FILE]\n' +
  '              [--url URL] [--json]; unattributed records are marked, never counted;\n' +
  '              --trained-on DIGEST instead: the records trained on that dataset\n' +
  '  state       what was live for a model in an environment at a time, each record with\n' +
  '              its proof: --model M --env E [--at TIME] [--policy FILE]\n' +
  '              [--submitters FILE] [--url URL] [--json]\n' +
  '  verify-deployment  check a deployed model against the log (for cron and init containers):\n' +
  '              --model M --env E (--artifact PATH | --digest D) [--config FILE [--secret P ...]]\n' +
  '              --policy FILE [--submitters FILE] [--require-approval | --no-require-approval]\n' +
  '              [--url URL] [--json]\n' +
  '              (exit 0 ok, 3 no record, 4 artifact drift, 5 config drift,\n' +
  '              6 missing approval, 7 bad proof, 8 quorum not met, 1 other error, 2 usage)\n' +
  '  reindex     rebuild the record index of a stopped log: --data DIR [--submitters FILE]\n';

const MAX_PAGE_BYTES = 16 * 1024 * 1024;

function answerError(body: Uint8Array): string {
  const text = Buffer.from(body).toString('utf8').trim();
  try {
    const v: unknown = JSON.parse(text);
    if (isJsonObject(v) && isJsonObject(v.error)) return `${String(v.error.code)}: ${String(v.error.message)}`;
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}

/**
 * All results of a search (following `next`), at most `max`.
 * @throws CommandError ERROR when the log cannot be reached, has no record API, or
 *   answers something else than a page.
 */
export async function searchAll(
  io: GovernanceIo,
  url: string,
  query: Partial<SearchQuery>,
  max = 10_000
): Promise<SearchResult[]> {
  const out: SearchResult[] = [];
  let cursor: string | undefined;
  for (;;) {
    const q = { ...query, ...(cursor === undefined ? {} : { cursor }) };
    const at = `${url}/v1/search?${formatSearchParams(q)}`;
    let res;
    try {
      res = await fetchBytes(io.fetch, at, { maxBytes: MAX_PAGE_BYTES, timeoutMs: 30_000 });
    } catch (err) {
      throw new CommandError(RECORDS_EXIT.ERROR, `cannot search the log: ${(err as Error).message}`);
    }
    if (res.status !== 200) {
      throw new CommandError(RECORDS_EXIT.ERROR, `${at}: HTTP ${res.status}: ${answerError(res.body)}`);
    }
    let page: { results?: unknown; next?: unknown };
    try {
      page = JSON.parse(Buffer.from(res.body).toString('utf8')) as typeof page;
    } catch {
      throw new CommandError(RECORDS_EXIT.ERROR, `${at}: the answer is not JSON`);
    }
    if (!Array.isArray(page.results)) {
      throw new CommandError(RECORDS_EXIT.ERROR, `${at}: the answer has no results`);
    }
    for (const r of page.results as SearchResult[]) {
      if (out.length >= max) return out;
      out.push(r);
    }
    if (typeof page.next !== 'string') return out;
    cursor = page.next;
  }
}

/** What the index says about a record, checked against its bytes when read. */
export type IndexClaims = Pick<SearchResult, 'index' | 'envelopeDigest' | 'time' | 'signer'> &
  Partial<Pick<SearchResult, 'changeType' | 'model' | 'env' | 'attributed' | 'unattributed'>>;

/** A record read back from the log: its bytes, what they say, and how far it is proven. */
export interface CheckedRecord {
  index: number;
  entry: Uint8Array;
  parsed: ParsedRecord;
  /**
   * Whether the record counts as a governance statement (attributeRecord): judged locally
   * under --submitters, or as the log's index says. An unattributed record is never a
   * state, an approval or a governing record.
   */
  attributed: boolean;
  /** Why it is not attributed. */
  unattributed?: string;
  /** Who signed it: checked locally against --submitters, or as the log's index says. */
  signer: SignerInfo | null;
  signerFrom: 'submitters' | 'log';
  /** The log's integration time (from the index). */
  time: string;
  /** The tlog-proof, when one could be had. */
  proof?: string;
  /** True when the entry and its proof were verified against the policy. */
  proven: boolean;
}

/**
 * Reads records from the log: with a policy, every record is authenticated and proven
 * (LogClient against one verified checkpoint, and verifyProofFile); without one, the bytes
 * and a proof bundle are fetched as the log serves them (not verified). With an allowlist,
 * signers are checked locally instead of taken from the log's index.
 */
export class RecordReader {
  private readonly client: LogClient | undefined;
  private checkpointPromise: Promise<VerifiedCheckpoint> | undefined;
  private readonly cache = new Map<number, Promise<CheckedRecord>>();

  constructor(
    private readonly io: GovernanceIo,
    private readonly url: string,
    private readonly policy: Policy | undefined,
    private readonly submitters: SubmitterList | undefined
  ) {
    if (policy !== undefined) {
      try {
        this.client = new LogClient({ url, policy, fetch: io.fetch, now: io.now });
      } catch (err) {
        throw new CommandError(RECORDS_EXIT.USAGE, `--policy: ${(err as Error).message}`);
      }
    }
  }

  /** The checkpoint records are proven against (policy only), fetched once. */
  checkpoint(): Promise<VerifiedCheckpoint> | undefined {
    if (this.client === undefined) return undefined;
    this.checkpointPromise ??= this.client.checkpoint().catch((err: unknown) => {
      throw proofError(err, "the log's checkpoint");
    });
    return this.checkpointPromise;
  }

  /**
   * The record the index presented as `r`, read and checked (see the class comment).
   * @throws CommandError BAD_PROOF / QUORUM_NOT_MET when it cannot be proven, or the bytes
   *   contradict the index; ERROR when it cannot be fetched.
   */
  read(r: IndexClaims): Promise<CheckedRecord> {
    let p = this.cache.get(r.index);
    if (p === undefined) {
      p = this.load(r);
      this.cache.set(r.index, p);
    }
    return p;
  }

  private async load(r: IndexClaims): Promise<CheckedRecord> {
    let entry: Uint8Array;
    let proof: string | undefined;
    let proven = false;
    const cp = this.checkpoint();
    if (cp !== undefined && this.client !== undefined) {
      const checkpoint = await cp;
      if (r.index >= checkpoint.size) {
        throw new CommandError(
          RECORDS_EXIT.QUORUM_NOT_MET,
          `entry ${r.index} is not yet in a checkpoint that meets the policy ` +
            `(the log's is of size ${checkpoint.size}); try again once the witnesses cosign`
        );
      }
      try {
        entry = await this.client.entry(r.index, checkpoint);
        proof = await this.client.proofFile(r.index, checkpoint);
        verifyProofFile(proof, entry, this.client.policy, { now: this.io.now });
      } catch (err) {
        throw proofError(err, `entry ${r.index}`);
      }
      proven = true;
    } else {
      entry = await this.fetch(`v1/entries/${r.index}`, `entry ${r.index}`);
      const bundle = await this.fetch(`v1/proof/bundle?index=${r.index}`, 'proof', true);
      if (bundle.length > 0) proof = Buffer.from(bundle).toString('utf8');
    }
    let parsed: ParsedRecord;
    try {
      parsed = parseRecord(entry);
    } catch (err) {
      throw new CommandError(
        RECORDS_EXIT.BAD_PROOF,
        `the log's index lists entry ${r.index} as a record, but it is not one: ${(err as Error).message}`
      );
    }
    checkAgainstIndex(r, parsed);
    // The log's word (an index without `attributed` predates it: its signer said it),
    // unless we hold an allowlist: then the signatures are checked here, by the same rule.
    let signer = r.signer;
    let attributed = r.attributed ?? r.signer !== null;
    let why = r.unattributed;
    let signerFrom: CheckedRecord['signerFrom'] = 'log';
    if (this.submitters !== undefined) {
      signerFrom = 'submitters';
      ({ signer, attributed, why } = attributeRecord(parsed, this.submitters, Date.parse(r.time)));
    }
    return {
      index: r.index,
      entry,
      parsed,
      attributed,
      ...(attributed || why === undefined ? {} : { unattributed: why }),
      signer,
      signerFrom,
      time: r.time,
      ...(proof === undefined ? {} : { proof }),
      proven,
    };
  }

  private async fetch(path: string, what: string, allow404 = false): Promise<Uint8Array> {
    const at = `${this.url}/${path}`;
    let res;
    try {
      res = await fetchBytes(this.io.fetch, at, { maxBytes: 1024 * 1024, timeoutMs: 30_000 });
    } catch (err) {
      throw new CommandError(RECORDS_EXIT.ERROR, `cannot fetch ${what}: ${(err as Error).message}`);
    }
    if (res.status === 404 && allow404) return new Uint8Array(0);
    if (res.status !== 200) {
      throw new CommandError(RECORDS_EXIT.ERROR, `${at}: HTTP ${res.status}: ${answerError(res.body)}`);
    }
    return res.body;
  }
}

/** A change read back with its approvals, and the verdict on them. */
export interface ChangeStatus {
  record: CheckedRecord;
  outcome: ApprovalOutcome;
}

/**
 * Reads the change `r` and every approval the index lists for it through `reader`, checks
 * that each approval's bytes approve exactly this change's envelope, and applies the
 * approval rule (approvals.ts) to what the bytes say, as of `asOf` when given.
 * @throws CommandError as RecordReader.read; BAD_PROOF when a listed approval approves
 *   something else.
 */
export async function changeStatus(
  reader: RecordReader,
  r: SearchResult,
  asOf?: number
): Promise<ChangeStatus> {
  const record = await reader.read(r);
  const views: ApprovalView[] = [];
  for (const a of r.approvals ?? []) {
    const c = await reader.read({
      index: a.index,
      envelopeDigest: a.envelopeDigest,
      time: a.time,
      signer: a.signer,
      changeType: 'approval',
      ...(a.attributed === undefined ? {} : { attributed: a.attributed }),
      ...(a.unattributed === undefined ? {} : { unattributed: a.unattributed }),
    });
    const approves = c.parsed.predicate?.approves;
    if (approves?.digest.sha256 !== record.parsed.envelopeDigest) {
      throw new CommandError(
        RECORDS_EXIT.BAD_PROOF,
        `the log's index lists entry ${a.index} as an approval of entry ${r.index}, but it is not`
      );
    }
    const reason = c.parsed.predicate?.reason;
    views.push({
      index: a.index,
      envelopeDigest: c.parsed.envelopeDigest,
      signer: c.signer,
      decision: approves.decision,
      time: a.time,
      ...(reason === undefined ? {} : { reason }),
      attributed: c.attributed,
      ...(c.unattributed === undefined ? {} : { unattributed: c.unattributed }),
    });
  }
  const p = record.parsed.predicate;
  const change = {
    index: r.index,
    signer: record.signer,
    author: p?.author,
    env: p?.environment,
    attributed: record.attributed,
    unattributed: record.unattributed,
  };
  const outcome = evaluateApprovals(change, views, asOf === undefined ? {} : { asOf });
  return { record, outcome };
}

/** The verification failure `err` as an exit code: 8 for the quorum, 1 for I/O, else 7. */
function proofError(err: unknown, what: string): CommandError {
  const message = `${what}: ${(err as Error).message}`;
  if (err instanceof CommandError) return err;
  if (isLogError(err, 'QUORUM_NOT_MET')) return new CommandError(RECORDS_EXIT.QUORUM_NOT_MET, message);
  if (isLogError(err, 'TIMEOUT') || isLogError(err, 'PUSHBACK') || isLogError(err, 'TOO_LARGE')) {
    return new CommandError(RECORDS_EXIT.ERROR, `cannot reach the log: ${message}`);
  }
  if (isLogError(err) || err instanceof LogError) return new CommandError(RECORDS_EXIT.BAD_PROOF, message);
  return new CommandError(RECORDS_EXIT.ERROR, message);
}

/** The index's claims about a record must be what its bytes say (else: the log lies). */
function checkAgainstIndex(r: IndexClaims, parsed: ParsedRecord): void {
  const p = parsed.predicate;
  const claims: [string, unknown, unknown][] = [
    ['envelope digest', r.envelopeDigest, parsed.envelopeDigest],
    ['change type', r.changeType, p?.changeType ?? null],
    ['model', r.model, p?.model?.id ?? null],
    ['environment', r.env, p?.environment ?? null],
  ];
  for (const [what, said, is] of claims) {
    if (said !== undefined && said !== is) {
      throw new CommandError(
        RECORDS_EXIT.BAD_PROOF,
        `the log's index says entry ${r.index} has ${what} ${JSON.stringify(said)}, ` +
          `but the entry has ${JSON.stringify(is)}`
      );
    }
  }
}

/** `2026-03-03T14:32:05Z` (no milliseconds when zero). */
export function shortTime(iso: string): string {
  return iso.replace('.000Z', 'Z');
}

/** `sha256:abcd…wxyz` for a digest set (its sha256, else its first algorithm). */
export function shortDigest(d: Record<string, string> | undefined, full = false): string {
  if (d === undefined) return '-';
  const alg = d.sha256 !== undefined ? 'sha256' : Object.keys(d)[0]!;
  const v = d[alg]!;
  return `${alg}:${full || v.length <= 16 ? v : `${v.slice(0, 8)}…${v.slice(-8)}`}`;
}

/**
 * The failure path of a record command that reports its verdicts (export,
 * verify-deployment): usage errors, and without --json plain errors, go back to runCommand
 * (rethrown); any other failure is reported as `candor COMMAND: FAILED (CODE): …` on
 * standard error, or as `{ok: false, exitCode, error}` with --json, and its exit code is
 * returned.
 */
export function reportFailure(command: string, io: GovernanceIo, json: boolean, err: unknown): number {
  const exitCode = err instanceof CommandError ? err.exitCode : RECORDS_EXIT.ERROR;
  if (exitCode === RECORDS_EXIT.USAGE || (!json && exitCode === RECORDS_EXIT.ERROR)) throw err;
  const code = RECORDS_EXIT_NAME[exitCode] ?? 'ERROR';
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.out(JSON.stringify({ ok: false, exitCode, error: { code, message } }) + '\n');
  else io.err(`candor ${command}: FAILED (${code}): ${message}\n`);
  return exitCode;
}
