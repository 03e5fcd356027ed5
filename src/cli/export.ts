/**
 * `candor export`: an evidence pack for auditors, a directory of plain files holding every
 * record of a model and/or environment logged in a period, with proofs that anyone can
 * check offline (`candor verify-export`). See docs/evidence.md and src/evidence/.
 *
 *   candor export (--model M | --env E | both) [--since TIME] [--until TIME] --out DIR
 *       --policy FILE --submitters FILE [--url URL] [--json]
 *
 * 1. The log's index lists the records of the model/environment logged (integration time)
 *    between --since and --until, bounds included; nothing: exit 3.
 * 2. Approvals are separate records: for every change, the index's `subject=<envelope
 *    digest>` search finds its approvals (and rejections), wherever they fall in time. An
 *    approval in the period whose change is outside it brings that change (and its
 *    approvals) along.
 * 3. Every record is read from the log's tiles, authenticated against ONE checkpoint that
 *    meets --policy (the newest the log serves with its witness quorum), and its tlog-proof
 *    against that checkpoint is verified (exit 7 when anything does not verify or the index
 *    contradicts the bytes, 8 when a record is not yet in a checkpoint meeting the quorum).
 * 4. The log's latest checkpoint (`/v1/info`) is fetched, checked against the log's key,
 *    and proven consistent with the pack's checkpoint.
 * 5. The pack is built (src/evidence/build.ts: claims written from the bytes, signers
 *    found by their DSSE signatures under --submitters, the report rendered), verified
 *    as `candor verify-export` would, and only then written: into a new directory next to
 *    DIR, renamed to DIR at the end, so DIR never holds half a pack.
 *
 * Exit codes (RECORDS_EXIT): 0 written; 1 other error; 2 usage (DIR exists and is not
 * empty, among others); 3 nothing matches; 7 bad proof; 8 quorum not met (retry later).
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { LogClient } from '../client/log-client.js';
import type { VerifiedCheckpoint } from '../client/open.js';
import { fetchBytes } from '../client/tile-reader.js';
import { buildPack, type PackRecordInput } from '../evidence/build.js';
import { isEvidenceError } from '../evidence/errors.js';
import { readPackEntry } from '../evidence/record.js';
import { isJsonObject } from '../governance/strict-json.js';
import type { SearchResult } from '../search/record-index.js';
import { toBase64 } from '../util/bytes.js';
import { isLogError } from '../util/errors.js';
import { readNodeAllowlist } from './evidence-allowlist.js';
import { CommandError, logUrl, nodeIo, readInput, runCommand, usage, type GovernanceIo } from './governance-io.js';
import { identifierFlag, timeFlag } from './history.js';
import {
  RECORDS_EXIT,
  RecordReader,
  searchAll,
  type CheckedRecord,
  type IndexClaims,
  reportFailure,
} from './records-client.js';
import { trustFlags } from './state.js';

const SYNOPSIS =
  'candor export (--model M | --env E) [--since TIME] [--until TIME] --out DIR --policy FILE ' +
  '--submitters FILE [--url URL] [--json]';

/** The lines of the evidence commands in the dispatcher's command list. */
export const EVIDENCE_USAGE =
  '  export      an evidence pack for auditors: every record of a model and/or environment\n' +
  '              logged in a period, with proofs, approvals and a report (docs/evidence.md):\n' +
  '              (--model M | --env E) [--since TIME] [--until TIME] --out DIR\n' +
  '              --policy FILE --submitters FILE [--url URL] [--json]\n' +
  '              (exit 0 written, 3 nothing matches, 7 bad proof, 8 quorum not met,\n' +
  '              1 other error, 2 usage)\n' +
  '  verify-export  check an evidence pack offline: DIR --policy FILE [--submitters FILE] [--json]\n' +
  '              (exit 0 valid, 3 malformed, 4 bad signature, 5 quorum not met, 6 bad proof,\n' +
  '              7 entry mismatch, 8 claim mismatch, 9 report mismatch, 1 other error, 2 usage)\n';

/** Most records matching the query that one pack takes. */
export const MAX_PACK_RECORDS = 10_000;
/** Requests to the log at once. */
const CONCURRENCY = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** DIR must not exist (its parent must), or be an empty directory. @throws CommandError USAGE. */
async function checkOut(out: string): Promise<void> {
  let s;
  try {
    s = await stat(out);
  } catch {
    try {
      if (!(await stat(dirname(out))).isDirectory()) throw new Error('not a directory');
    } catch {
      throw usage(`--out ${out}: its parent directory does not exist`);
    }
    return;
  }
  if (!s.isDirectory() || (await readdir(out)).length > 0) {
    throw usage(`--out ${out} exists and is not an empty directory: choose a new one (a pack is never merged into files already there)`);
  }
}

/** Writes the files into a new directory next to `out`, then renames it to `out`. */
async function writePack(out: string, files: Map<string, Uint8Array>): Promise<void> {
  const tmp = `${out.replace(/\/+$/, '')}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp);
    for (const [path, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      const at = join(tmp, ...path.split('/'));
      await mkdir(dirname(at), { recursive: true });
      await writeFile(at, bytes, { flag: 'wx' });
    }
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new CommandError(RECORDS_EXIT.ERROR, `cannot write the pack to ${out}: ${(err as Error).message}`);
  }
}

/** The log's latest checkpoint note (`GET /v1/info`). */
async function latestNote(io: GovernanceIo, url: string): Promise<string> {
  let res;
  try {
    res = await fetchBytes(io.fetch, `${url}/v1/info`, { maxBytes: 4 * 1024 * 1024, timeoutMs: 30_000 });
  } catch (err) {
    throw new CommandError(RECORDS_EXIT.ERROR, `cannot reach the log: ${(err as Error).message}`);
  }
  let info: unknown;
  try {
    info = JSON.parse(Buffer.from(res.body).toString('utf8'));
  } catch {
    info = undefined;
  }
  if (res.status !== 200 || !isJsonObject(info) || typeof info.checkpoint !== 'string') {
    throw new CommandError(RECORDS_EXIT.ERROR, `${url}/v1/info: HTTP ${res.status}: not the log's info answer`);
  }
  return info.checkpoint;
}

/** A verification failure of the log's answers as exit 7 (bad proof), else 1. */
function logFailure(err: unknown, what: string): CommandError {
  if (err instanceof CommandError) return err;
  const message = `${what}: ${(err as Error).message}`;
  if (isLogError(err, 'TIMEOUT') || isLogError(err, 'PUSHBACK') || isLogError(err, 'TOO_LARGE') || isLogError(err, 'NOT_FOUND')) {
    return new CommandError(RECORDS_EXIT.ERROR, `cannot reach the log: ${message}`);
  }
  if (isLogError(err)) return new CommandError(RECORDS_EXIT.BAD_PROOF, message);
  return new CommandError(RECORDS_EXIT.ERROR, message);
}

/** GET /v1/records/<index>: the index's summary of one record, or undefined (404). */
async function indexRecord(io: GovernanceIo, url: string, index: number): Promise<SearchResult | undefined> {
  let res;
  try {
    res = await fetchBytes(io.fetch, `${url}/v1/records/${index}`, { maxBytes: 1024 * 1024, timeoutMs: 30_000 });
  } catch (err) {
    throw new CommandError(RECORDS_EXIT.ERROR, `cannot reach the log: ${(err as Error).message}`);
  }
  if (res.status === 404) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(res.body).toString('utf8'));
    if (res.status === 200 && isJsonObject(v) && v.index === index) return v as unknown as SearchResult;
  } catch {
    // not JSON: below
  }
  throw new CommandError(RECORDS_EXIT.ERROR, `${url}/v1/records/${index}: HTTP ${res.status}: not a record answer`);
}

const claimsOf = (r: SearchResult): IndexClaims => ({
  index: r.index,
  envelopeDigest: r.envelopeDigest,
  time: r.time,
  signer: r.signer,
  ...(r.changeType === null ? {} : { changeType: r.changeType }),
  model: r.model,
  env: r.env,
});

/** The parseArgs options of `candor export`. */
export const EXPORT_OPTIONS = {
  model: { type: 'string' },
  env: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  out: { type: 'string' },
  policy: { type: 'string' },
  submitters: { type: 'string' },
  url: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * Runs `candor export` with the arguments after `export`; resolves with the exit code
 * (RECORDS_EXIT). Never throws and never exits the process.
 */
export function exportCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  let json = false;
  const body = async (): Promise<number> => {
    const { values } = parseArgs({
      args,
      options: EXPORT_OPTIONS,
      strict: true,
    });
    json = values.json === true;
    const model = identifierFlag(values.model, '--model', false);
    const env = identifierFlag(values.env, '--env', false);
    if (model === undefined && env === undefined) throw usage('give --model M, --env E, or both');
    const since = timeFlag(values.since, '--since');
    const until = timeFlag(values.until, '--until');
    if (since !== undefined && until !== undefined && since > until) throw usage('--since is after --until');
    if (values.out === undefined) throw usage('--out DIR is required');
    if (values.policy === undefined) throw usage('--policy FILE is required: every record is proven against it');
    if (values.submitters === undefined) {
      throw usage('--submitters FILE is required: the pack carries the allowlist that says who signed');
    }
    const out = values.out;
    await checkOut(out);
    const { policy, submitters } = await trustFlags(io, values);
    const policyBytes = await readInput(io, values.policy, 'policy');
    const submittersBytes = await readInput(io, values.submitters, 'submitters file');
    const url = logUrl(io, values.url);

    // 1. The records of the query.
    const query = {
      ...(model === undefined ? {} : { model }),
      ...(env === undefined ? {} : { env }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      order: 'asc' as const,
      limit: 1000,
    };
    const matched = await searchAll(io, url, query, MAX_PACK_RECORDS + 1);
    if (matched.length > MAX_PACK_RECORDS) {
      throw usage(`more than ${MAX_PACK_RECORDS} records match: export a shorter period (--since, --until)`);
    }
    const what = [model === undefined ? '' : `model ${model}`, env === undefined ? '' : `environment ${env}`]
      .filter((s) => s !== '')
      .join(' in ');
    if (matched.length === 0) throw new CommandError(RECORDS_EXIT.NO_RECORD, `nothing is logged for ${what} in that period`);

    // 2. Approvals of every change, and the changes that approvals in the period decide on.
    const claims = new Map<number, IndexClaims>();
    const changes: SearchResult[] = [];
    const add = (r: SearchResult): void => {
      if (claims.has(r.index)) return;
      claims.set(r.index, claimsOf(r));
      if (r.changeType !== 'approval') changes.push(r);
    };
    for (const r of matched) add(r);
    const approved = matched
      .filter((r) => r.changeType === 'approval' && r.approves?.index !== null && r.approves?.index !== undefined)
      .map((r) => r.approves!.index!)
      .filter((i) => !claims.has(i));
    for (const r of await mapLimit([...new Set(approved)], CONCURRENCY, (i) => indexRecord(io, url, i))) {
      if (r !== undefined && r.changeType !== 'approval' && r.changeType !== null) add(r);
    }
    const approvalOf = new Map<number, number>(); // approval index -> change index
    const found = await mapLimit([...changes], CONCURRENCY, (c) =>
      searchAll(io, url, { subject: `sha256:${c.envelopeDigest}`, changeTypes: ['approval'], order: 'asc', limit: 1000 }, MAX_PACK_RECORDS)
    );
    changes.forEach((c, i) => {
      for (const a of found[i]!) {
        if (a.approves?.envelopeDigest !== c.envelopeDigest) continue;
        add(a);
        approvalOf.set(a.index, c.index);
      }
    });

    // 3. Every record, proven against one checkpoint meeting the policy.
    const reader = new RecordReader(io, url, policy, submitters);
    const cp: VerifiedCheckpoint = await reader.checkpoint()!;
    const read: CheckedRecord[] = await mapLimit([...claims.values()].sort((a, b) => a.index - b.index), CONCURRENCY, (c) => reader.read(c));
    const byIndex = new Map(read.map((r) => [r.index, r]));
    for (const [a, c] of approvalOf) {
      const approves = byIndex.get(a)!.parsed.predicate?.approves;
      if (approves?.digest.sha256 !== byIndex.get(c)!.parsed.envelopeDigest) {
        throw new CommandError(RECORDS_EXIT.BAD_PROOF, `the log's index lists entry ${a} as an approval of entry ${c}, but it is not`);
      }
    }
    const records: PackRecordInput[] = read.map((r) => {
      try {
        readPackEntry(r.entry);
      } catch (err) {
        throw new CommandError(RECORDS_EXIT.BAD_PROOF, `the log's index lists entry ${r.index} as a governance record, but it is not: ${(err as Error).message}`);
      }
      if (r.proof === undefined) throw new CommandError(RECORDS_EXIT.ERROR, `entry ${r.index}: no proof`);
      return { index: r.index, time: r.time, entry: r.entry, proof: r.proof };
    });

    // 4. The latest checkpoint, consistent with the pack's.
    let latest: string;
    let consistency: Uint8Array[];
    let latestSize: number;
    try {
      latest = await latestNote(io, url);
      const keyOnly = new LogClient({ url, verifierKey: cp.logKey, fetch: io.fetch, now: io.now });
      const a = keyOnly.verifyCheckpoint(cp.note);
      const b = keyOnly.verifyCheckpoint(latest);
      if (b.size < a.size) {
        throw new CommandError(RECORDS_EXIT.BAD_PROOF, `the log's latest checkpoint (size ${b.size}) is older than its witnessed one (size ${a.size})`);
      }
      consistency = await keyOnly.consistencyProof(a, b);
      latestSize = b.size;
    } catch (err) {
      throw logFailure(err, "the log's latest checkpoint");
    }

    // 5. Build, verify, write.
    let files: Map<string, Uint8Array>;
    try {
      files = buildPack(
        {
          query: {
            model: model ?? null,
            env: env ?? null,
            since: since === undefined ? null : new Date(since).toISOString(),
            until: until === undefined ? null : new Date(until).toISOString(),
          },
          exportedAt: new Date(io.now()).toISOString(),
          log: { origin: cp.origin, verifierKey: cp.logKey, url },
          checkpoint: cp.note,
          latest,
          consistency,
          policy: policyBytes,
          submitters: submittersBytes,
          records,
        },
        { readAllowlist: readNodeAllowlist, now: io.now }
      ).files;
    } catch (err) {
      if (isEvidenceError(err) || isLogError(err)) {
        throw new CommandError(RECORDS_EXIT.BAD_PROOF, `what the log answered does not make a pack that verifies: ${err.message}`);
      }
      throw err;
    }
    await writePack(out, files);

    const nMatched = matched.length;
    const extra = records.length - nMatched;
    const witnesses = cp.witnesses.map((w) => w.name);
    if (json) {
      io.out(
        JSON.stringify({
          ok: true,
          exitCode: 0,
          out,
          records: records.length,
          matched: nMatched,
          checkpoint: { origin: cp.origin, size: cp.size, rootHash: toBase64(cp.rootHash), witnesses: cp.witnesses },
          latest: { size: latestSize },
          files: files.size,
        }) + '\n'
      );
    } else {
      const w = witnesses.length === 0 ? 'no witnesses required' : `cosigned by ${witnesses.join(', ')}`;
      io.out(
        `wrote evidence pack ${out}: ${records.length} record${records.length === 1 ? '' : 's'} ` +
          `(${nMatched} matching ${what}${extra === 0 ? '' : `, ${extra} more: approvals and approved changes outside the query`})\n` +
          `  proven in ${cp.origin} at tree size ${cp.size} (${w}); the log's latest checkpoint (size ${latestSize}) is consistent with it\n` +
          `  verify it offline: candor verify-export ${out} --policy <your copy of the trust policy>\n`
      );
    }
    return RECORDS_EXIT.OK;
  };
  return runCommand('export', io, SYNOPSIS, async () => {
    try {
      return await body();
    } catch (err) {
      return reportFailure('export', io, json, err);
    }
  });
}
