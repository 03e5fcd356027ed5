/**
 * `candor history`: the timeline of a model's governance records, from the log's record
 * index: when each change was logged, what it was, who signed it and on whose behalf,
 * why, its ticket, its digests (model, configuration, training data), and who approved it
 * (and which approvals do not count).
 *
 *   candor history --model M [--env E] [--since TIME] [--until TIME] [--limit N]
 *       [--submitters FILE] [--url URL] [--json]
 *   candor history --trained-on DIGEST [--model M] [--env E] …
 *
 * `--trained-on DIGEST` lists the records whose training data names that digest (the
 * index's `trainedOn=`): which models were trained on a dataset; `--model` is then
 * optional.
 *
 * Approvals are shown under the change they approve; an approval whose change is not in
 * the listing (another environment, say) gets its own line. Records that are not
 * attributed (src/search/attribution.ts: logged through /v1/entries without a signature
 * an allowlisted submitter may make) are listed, marked UNATTRIBUTED with why, and not
 * counted as changes or approvals. This reads the index, which is the operator's word;
 * with --submitters FILE each record's bytes are fetched and attributed here, under that
 * allowlist, instead (and the approvals judged again); `candor state --policy` and `candor
 * verify-deployment` also prove what they show. Exit 0; 3 when nothing is logged for the
 * model (or trained on the digest); 7 when the index contradicts a record's bytes; 1 other error; 2 usage.
 */
import { parseArgs } from 'node:util';
import { IDENTIFIER_PATTERN } from '../governance/schema.js';
import type { ApprovalVerdict } from '../search/approvals.js';
import { parseDigestParam, parseTime, type SearchQuery } from '../search/query.js';
import type { SearchResult } from '../search/record-index.js';
import { isLogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { CommandError, logUrl, nodeIo, runCommand, usage, type GovernanceIo } from './governance-io.js';
import {
  RECORDS_EXIT,
  RecordReader,
  changeStatus,
  searchAll,
  shortDigest,
  shortTime,
} from './records-client.js';
import type { SubmitterList } from '../governance/submitters.js';
import { trustFlags } from './state.js';

const SYNOPSIS =
  'candor history --model M | --trained-on DIGEST [--env E] [--since TIME] [--until TIME] [--limit N] ' +
  '[--submitters FILE] [--url URL] [--json]';

/** Checks an identifier flag (model id, environment). @throws CommandError (usage). */
export function identifierFlag(value: string | undefined, flag: string, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw usage(`${flag} is required`);
    return undefined;
  }
  if (!new RegExp(IDENTIFIER_PATTERN).test(value)) {
    throw usage(`${flag} must be an identifier (letters, digits and ._:/@+-), got "${value}"`);
  }
  return value;
}

/** Parses an RFC 3339 time flag into milliseconds. @throws CommandError (usage). */
export function timeFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTime(value, flag);
  } catch (err) {
    throw usage(isLogError(err) ? err.message : String(err));
  }
}

/** The parseArgs options of `candor history`. */
export const HISTORY_OPTIONS = {
  model: { type: 'string' },
  'trained-on': { type: 'string' },
  env: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  submitters: { type: 'string' },
  url: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * Runs `candor history` with the arguments after `history`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function historyCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('history', io, SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: HISTORY_OPTIONS,
      strict: true,
    });
    let trainedOn: string | undefined;
    if (values['trained-on'] !== undefined) {
      try {
        trainedOn = parseDigestParam(values['trained-on'], '--trained-on');
      } catch (err) {
        throw usage(isLogError(err) ? err.message : String(err));
      }
    }
    if (values.model === undefined && trainedOn === undefined) {
      throw usage('--model M (or --trained-on DIGEST) is required');
    }
    const model = identifierFlag(values.model, '--model', false);
    const { submitters } = await trustFlags(io, values);
    const env = identifierFlag(values.env, '--env', false);
    const since = timeFlag(values.since, '--since');
    const until = timeFlag(values.until, '--until');
    let max = 1000;
    if (values.limit !== undefined) {
      try {
        max = parseDecimal(values.limit, '--limit');
      } catch {
        max = 0;
      }
      if (max < 1) throw usage(`--limit must be a positive whole number, got "${values.limit}"`);
    }
    const query: Partial<SearchQuery> = { limit: Math.min(max, 1000) };
    if (model !== undefined) query.model = model;
    if (trainedOn !== undefined) query.trainedOn = trainedOn;
    if (env !== undefined) query.env = env;
    if (since !== undefined) query.since = since;
    if (until !== undefined) query.until = until;
    const url = logUrl(io, values.url);
    const found = await searchAll(io, url, query, max);
    const records =
      submitters === undefined ? found : await attributeHere(io, url, submitters, found, trainedOn);
    if (values.json === true) {
      const trained = trainedOn === undefined ? {} : { trainedOn };
      io.out(JSON.stringify({ model: model ?? null, ...trained, env: env ?? null, records }) + '\n');
    }
    const title = [
      model ?? 'records',
      ...(trainedOn === undefined ? [] : [`trained on ${trainedOn}`]),
    ].join(' ');
    const where = env === undefined ? '' : ` in ${env}`;
    if (records.length === 0) {
      const what = model === undefined ? `trained on ${trainedOn ?? ''}` : `for ${title}`;
      throw new CommandError(RECORDS_EXIT.NO_RECORD, `nothing is logged ${what}${where}`);
    }
    if (values.json !== true) io.out(formatHistory(title, env, records));
    return RECORDS_EXIT.OK;
  });
}

/**
 * The index's results with attribution, signers and approval verdicts judged here under
 * `list` from each record's bytes (RecordReader without a policy: fetched, not proven).
 * With `trainedOn`, each record's bytes must name that digest in their training data.
 * @throws CommandError BAD_PROOF when the index contradicts a record's bytes; ERROR when
 *   one cannot be fetched.
 */
async function attributeHere(
  io: GovernanceIo,
  url: string,
  list: SubmitterList,
  found: SearchResult[],
  trainedOn: string | undefined
): Promise<SearchResult[]> {
  const reader = new RecordReader(io, url, undefined, list);
  const out: SearchResult[] = [];
  for (const r of found) {
    const c = await reader.read(r);
    if (trainedOn !== undefined) {
      const [alg, value] = [trainedOn.slice(0, trainedOn.indexOf(':')), trainedOn.slice(trainedOn.indexOf(':') + 1)];
      if (!(c.parsed.predicate?.trainingData ?? []).some((d) => d.digest[alg] === value)) {
        throw new CommandError(
          RECORDS_EXIT.BAD_PROOF,
          `the log's index lists entry ${r.index} as trained on ${trainedOn}, but its training data does not name it`
        );
      }
    }
    const { unattributed: _old, ...rest } = r;
    const judged: SearchResult = {
      ...rest,
      attributed: c.attributed,
      signer: c.signer,
      ...(c.unattributed === undefined ? {} : { unattributed: c.unattributed }),
    };
    if (r.approvals !== undefined) {
      const { outcome } = await changeStatus(reader, r);
      judged.approvals = outcome.approvals;
      judged.approved = outcome.approved;
    }
    out.push(judged);
  }
  return out;
}

/** The readable timeline (see the module comment). */
export function formatHistory(model: string, env: string | undefined, records: SearchResult[]): string {
  const shown = new Set(records.filter((r) => r.changeType !== 'approval').map((r) => r.envelopeDigest));
  // An index from before `attributed` existed said it with the signer.
  const counts = (r: SearchResult): boolean => r.attributed ?? r.signer !== null;
  const changes = records.filter((r) => r.changeType !== 'approval' && counts(r)).length;
  const approvals = records.filter((r) => r.changeType === 'approval' && counts(r)).length;
  const unattributed = records.length - changes - approvals;
  const lines: string[] = [
    `${model}${env === undefined ? '' : ` in ${env}`}: ${changes} change${changes === 1 ? '' : 's'}, ` +
      `${approvals} approval record${approvals === 1 ? '' : 's'}` +
      (unattributed === 0
        ? ''
        : `, ${unattributed} UNATTRIBUTED record${unattributed === 1 ? '' : 's'} (not counted)`) +
      " (from the log's index; candor state --policy proves them)",
    '',
  ];
  for (const r of records) {
    if (r.changeType === 'approval' && r.approves !== undefined && shown.has(r.approves.envelopeDigest)) {
      continue;
    }
    lines.push(...formatRecord(r), '');
  }
  return lines.join('\n');
}

function who(r: { signer: SearchResult['signer']; author?: string }): string {
  const s = r.signer === null ? 'an unknown key (no allowlisted key signed it)' : `${r.signer.name} (${r.signer.roles.join(', ')})`;
  return r.author === undefined ? s : `${s} for ${r.author}`;
}

function formatRecord(r: SearchResult): string[] {
  const type = r.changeType ?? r.predicateType;
  const head = `${shortTime(r.time)}  entry ${r.index}  ${type}${r.env === null ? '' : `  ${r.env}`}`;
  const out = [head, `    by ${who(r)}`];
  if (r.attributed === false || (r.attributed === undefined && r.signer === null)) {
    const why = r.unattributed ?? 'no allowlisted key signed it';
    out.push(`    UNATTRIBUTED: not a governance record of this model (${why})`);
  }
  if (r.reason !== undefined) out.push(`    reason: ${oneLine(r.reason)}`);
  if (r.ticket !== undefined) out.push(`    ticket: ${r.ticket}`);
  if (r.model !== null) {
    const version = r.modelVersion === undefined ? '' : ` v${r.modelVersion}`;
    const digest = r.modelDigest === undefined ? '' : ` ${shortDigest(r.modelDigest, true)}`;
    out.push(`    model: ${r.model}${version}${digest}`);
  }
  if (r.configDigest !== undefined) out.push(`    config: ${shortDigest(r.configDigest, true)}`);
  for (const d of r.trainingData ?? []) {
    const name = d.name === undefined ? '' : ` (${d.name})`;
    out.push(`    training data: ${d.uri}${name} ${shortDigest(d.digest, true)}`);
  }
  const more = (r.trainingDataCount ?? 0) - (r.trainingData?.length ?? 0);
  if (more > 0) out.push(`    training data: ${more} more dataset${more === 1 ? '' : 's'} (see the record)`);
  if (r.createdAt !== undefined) out.push(`    claimed time: ${r.createdAt}`);
  if (r.preDetermined !== undefined) out.push(`    pre-determined change: ${r.preDetermined ? 'yes' : 'no'}`);
  out.push(`    envelope: sha256:${r.envelopeDigest}`);
  if (r.approves !== undefined) {
    const at = r.approves.index === null ? 'a change not in the log' : `entry ${r.approves.index}`;
    out.push(`    ${r.approves.decision === 'approve' ? 'approves' : 'rejects'} ${at} (sha256:${r.approves.envelopeDigest})`);
  }
  if (r.approvals !== undefined) {
    if (r.approvals.length === 0) out.push('    approvals: none');
    else {
      out.push(`    approvals: ${r.approved === true ? 'APPROVED' : 'NOT APPROVED'}`);
      for (const a of r.approvals) out.push(`      ${formatApproval(a)}`);
    }
  }
  return out;
}

/** One approval line: decision, who, when, entry, reason, and why it does not count. */
export function formatApproval(a: ApprovalVerdict): string {
  const by = a.signer === null ? 'an unknown key' : a.signer.name;
  const reason = a.reason === undefined ? '' : ` "${oneLine(a.reason)}"`;
  const verb = a.decision === 'approve' ? 'approved' : 'rejected';
  const base = `${verb} by ${by} at ${shortTime(a.time)} (entry ${a.index})${reason}`;
  return a.counted ? base : `${base} -- not counted: ${a.why ?? ''}`;
}

function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}
