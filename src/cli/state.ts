/**
 * `candor state`: what was live for a model in an environment at a given time, each record
 * with its proof: for incident response ("which model, configuration and approvals were
 * live in prod-eu at 14:32, and what changed just before?").
 *
 *   candor state --model M --env E [--at TIME] [--policy FILE] [--submitters FILE]
 *       [--url URL] [--json]
 *
 * The live state at TIME (default now) comes from the records of type deployment,
 * rollback and safety-config for that model and environment that the log integrated at
 * or before TIME:
 * - the artifact: the model digest of the latest of them that names one;
 * - the configuration: the snapshot of the latest of them that carries one;
 * - the latest change of all.
 * Only attributed records count (src/search/attribution.ts: a signature by an allowlisted
 * key whose roles and environments permit the record, not retired when it was logged):
 * anything else, logged through /v1/entries say, is listed as ignored, never shown as the
 * state. Each comes with its approvals as they stood at TIME (approvals.ts) and its
 * tlog-proof.
 * With --policy every record and approval is authenticated against a checkpoint meeting
 * the policy (and the proofs are verified); without, they are shown as the log serves
 * them. --submitters FILE checks who signed against that allowlist instead of trusting
 * the log's attribution.
 *
 * Exit codes (RECORDS_EXIT): 0 shown; 3 nothing (attributed) logged by then; 7 bad proof;
 * 8 quorum not met; 1 other error; 2 usage.
 */
import { parseArgs } from 'node:util';
import { parsePolicy, type Policy } from '../client/policy.js';
import { parseSubmitters, type SubmitterList } from '../governance/submitters.js';
import type { SearchResult } from '../search/record-index.js';
import { whyNotApproved } from '../search/approvals.js';
import { toBase64 } from '../util/bytes.js';
import {
  CommandError,
  logUrl,
  nodeIo,
  readInput,
  runCommand,
  usage,
  type GovernanceIo,
} from './governance-io.js';
import { formatApproval, identifierFlag, timeFlag } from './history.js';
import {
  RECORDS_EXIT,
  RecordReader,
  changeStatus,
  searchAll,
  shortDigest,
  shortTime,
  type ChangeStatus,
  type CheckedRecord,
} from './records-client.js';

const SYNOPSIS =
  'candor state --model M --env E [--at TIME] [--policy FILE] [--submitters FILE] [--url URL] [--json]';

/** The change types that make up what is live. */
export const LIVE_CHANGE_TYPES = ['deployment', 'rollback', 'safety-config'] as const;

/** Most records looked at, newest first. */
const MAX_CANDIDATES = 1000;

/** Reads --policy and --submitters. @throws CommandError USAGE for a bad file. */
export async function trustFlags(
  io: GovernanceIo,
  values: { policy?: string | undefined; submitters?: string | undefined }
): Promise<{ policy?: Policy; submitters?: SubmitterList }> {
  const out: { policy?: Policy; submitters?: SubmitterList } = {};
  if (values.policy !== undefined) {
    try {
      out.policy = parsePolicy(await readInput(io, values.policy, 'policy'));
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw usage(`--policy ${values.policy}: ${(err as Error).message}`);
    }
  }
  if (values.submitters !== undefined) {
    try {
      out.submitters = parseSubmitters(await readInput(io, values.submitters, 'submitters file'));
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw usage(`--submitters ${values.submitters}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** An unattributed record passed over, as --json shows it. */
export function ignoredJson(c: CheckedRecord): object {
  return {
    index: c.index,
    changeType: c.parsed.predicate?.changeType ?? null,
    time: c.time,
    attributed: false,
    signer: c.signer,
    signerFrom: c.signerFrom,
    unattributed: c.unattributed ?? null,
    envelopeDigest: c.parsed.envelopeDigest,
  };
}

/** An unattributed record passed over, as one line of text. */
export function ignoredLine(c: CheckedRecord): string {
  const type = c.parsed.predicate?.changeType ?? c.parsed.statement.predicateType;
  const why = c.unattributed ?? 'no reason given';
  return `entry ${c.index} (${type}, logged ${shortTime(c.time)}): UNATTRIBUTED: ${why}`;
}

/**
 * Reads the candidates (newest first) that pass `test` through `reader` until one is
 * attributed, and returns it; the unattributed ones on the way are added to `ignored`.
 */
export async function newestAttributed(
  reader: RecordReader,
  candidates: readonly SearchResult[],
  test: (r: SearchResult) => boolean,
  ignored: Map<number, CheckedRecord>
): Promise<SearchResult | undefined> {
  for (const r of candidates) {
    if (!test(r)) continue;
    const c = await reader.read(r);
    if (c.attributed) return r;
    ignored.set(c.index, c);
  }
  return undefined;
}

/** One part of the state, as --json shows it. */
function stateJson(s: ChangeStatus, r: SearchResult): object {
  const p = s.record.parsed.predicate;
  return {
    index: s.record.index,
    changeType: p?.changeType ?? null,
    time: s.record.time,
    attributed: s.record.attributed,
    signer: s.record.signer,
    signerFrom: s.record.signerFrom,
    author: p?.author ?? null,
    reason: p?.reason ?? null,
    ticket: p?.ticket ?? null,
    envelopeDigest: s.record.parsed.envelopeDigest,
    modelDigest: p?.model?.digest ?? null,
    modelVersion: p?.model?.version ?? null,
    config: p?.config ?? null,
    approved: s.outcome.approved,
    approvals: s.outcome.approvals,
    indexTime: r.time,
    proven: s.record.proven,
    proof: s.record.proof ?? null,
  };
}

/** The parseArgs options of `candor state`. */
export const STATE_OPTIONS = {
  model: { type: 'string' },
  env: { type: 'string' },
  at: { type: 'string' },
  policy: { type: 'string' },
  submitters: { type: 'string' },
  url: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * Runs `candor state` with the arguments after `state`; resolves with the exit code.
 * Never throws and never exits the process.
 */
export function stateCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('state', io, SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: STATE_OPTIONS,
      strict: true,
    });
    const model = identifierFlag(values.model, '--model', true)!;
    const env = identifierFlag(values.env, '--env', true)!;
    const at = timeFlag(values.at, '--at') ?? io.now();
    const { policy, submitters } = await trustFlags(io, values);
    const url = logUrl(io, values.url);
    const found = await searchAll(
      io,
      url,
      { model, env, changeTypes: [...LIVE_CHANGE_TYPES], until: at, order: 'desc', limit: 200 },
      MAX_CANDIDATES
    );
    const when = new Date(at).toISOString();
    if (found.length === 0) {
      throw new CommandError(
        RECORDS_EXIT.NO_RECORD,
        `nothing is logged for ${model} in ${env} at or before ${shortTime(when)}`
      );
    }
    const reader = new RecordReader(io, url, policy, submitters);
    // Unattributed records are passed over (and listed): never the state of a model.
    const ignored = new Map<number, CheckedRecord>();
    const latest = await newestAttributed(reader, found, () => true, ignored);
    if (latest === undefined) {
      const lines = [...ignored.values()].map((c) => `\n  ignored: ${ignoredLine(c)}`).join('');
      throw new CommandError(
        RECORDS_EXIT.NO_RECORD,
        `no attributed record is logged for ${model} in ${env} at or before ${shortTime(when)}` +
          ` (${ignored.size} unattributed record${ignored.size === 1 ? '' : 's'} ignored)${lines}`
      );
    }
    const artifact = await newestAttributed(reader, found, (r) => r.modelDigest !== undefined, ignored);
    const config = await newestAttributed(reader, found, (r) => r.configDigest !== undefined, ignored);
    const ignoredList = [...ignored.values()].sort((a, b) => b.index - a.index);
    const status = async (r: SearchResult | undefined): Promise<ChangeStatus | undefined> =>
      r === undefined ? undefined : changeStatus(reader, r, at);
    const [sLatest, sArtifact, sConfig] = [await status(latest), await status(artifact), await status(config)];
    const cp = await reader.checkpoint();
    if (values.json === true) {
      io.out(
        JSON.stringify({
          model,
          env,
          at: when,
          artifact: sArtifact === undefined ? null : stateJson(sArtifact, artifact!),
          config: sConfig === undefined ? null : stateJson(sConfig, config!),
          latest: stateJson(sLatest!, latest),
          ignored: ignoredList.map(ignoredJson),
          checkpoint:
            cp === undefined
              ? null
              : { origin: cp.origin, size: cp.size, rootHash: toBase64(cp.rootHash), witnesses: cp.witnesses },
        }) + '\n'
      );
      return RECORDS_EXIT.OK;
    }
    const lines = [`${model} in ${env} at ${shortTime(when)} (log time):`];
    const part = (label: string, s: ChangeStatus | undefined, value: string): void => {
      if (s === undefined) {
        lines.push(`  ${label}: nothing logged`);
        return;
      }
      const p = s.record.parsed.predicate!;
      const by = s.record.signer === null ? 'an unknown key' : s.record.signer.name;
      lines.push(
        `  ${label}: ${value}`,
        `    from entry ${s.record.index}: ${p.changeType} by ${by}${p.author === undefined ? '' : ` for ${p.author}`}, logged ${shortTime(s.record.time)}`
      );
      if (p.reason !== undefined) lines.push(`    reason: ${p.reason}`);
      if (p.ticket !== undefined) lines.push(`    ticket: ${p.ticket}`);
      lines.push(
        `    ${s.outcome.approved ? 'approved' : `NOT APPROVED then: ${whyNotApproved(s.outcome)}`}`
      );
      for (const a of s.outcome.approvals) lines.push(`      ${formatApproval(a)}`);
      lines.push(`    envelope: sha256:${s.record.parsed.envelopeDigest}`);
    };
    part('artifact', sArtifact, shortDigest(sArtifact?.record.parsed.predicate?.model?.digest, true));
    part('config', sConfig, shortDigest(sConfig?.record.parsed.predicate?.config?.digest, true));
    if (latest !== artifact && latest !== config) part('latest change', sLatest, latest.changeType ?? '');
    for (const c of ignoredList) lines.push(`  ignored: ${ignoredLine(c)}`);
    if (cp === undefined) {
      lines.push('proofs: NOT verified (no --policy); use --json for the proofs as the log serves them');
    } else {
      const w = cp.witnesses.length === 0 ? 'no witnesses required' : `cosigned by ${cp.witnesses.map((x) => x.name).join(', ')}`;
      lines.push(`proofs: every record above verified in ${cp.origin} at tree size ${cp.size} (${w})`);
    }
    if (submitters === undefined) lines.push("signers: as the log's index attributes them (check with --submitters FILE)");
    io.out(lines.join('\n') + '\n');
    return RECORDS_EXIT.OK;
  });
}
