/**
 * `candor verify-deployment`: checks that what runs is what the log says was approved to
 * run. Made for cron, a CI step or a Kubernetes init container: one line on stdout (OK)
 * or stderr (why not), or one JSON object with --json, and an exit code per failure.
 *
 *   candor verify-deployment --model M --env E (--artifact PATH | --digest D)
 *       [--config FILE [--secret P ...]] --policy FILE [--submitters FILE] [--no-require-approval]
 *       [--url URL] [--json]
 *
 * 1. Digests are computed locally: the SHA-256 of the artifact file (streamed), and the
 *    configuration snapshot of --config exactly as `candor record --config` makes it
 *    (its digest is the SHA-256 of the file's bytes).
 * 2. The log's index lists the deployment, rollback and safety-config records of the
 *    model in the environment, newest first. None: exit 3.
 * 3. Each record used, and each of its approvals, is read back authenticated against a
 *    checkpoint meeting the policy, its tlog-proof verified (exit 7 when anything does
 *    not verify or the index contradicts the bytes, 8 when the witnesses' quorum is not
 *    met yet). Everything below is read from those bytes, never from the index. Records
 *    that are not attributed (src/search/attribution.ts; judged under --submitters when
 *    given) are ignored and listed: they never govern, and never count as a newer change.
 * 4. The governing record for the artifact is the newest APPROVED record naming a model
 *    digest (approval rule: approvals.ts; an approval by the change's signer or author,
 *    or by a signer without the approver role, does not count); for the configuration,
 *    the newest approved record carrying a snapshot. With --no-require-approval, the
 *    newest record regardless.
 * 5. Verdicts: the local digest differs from the governing one: artifact drift (4), unless
 *    it is that of a newer change that lacks approval, which is a missing approval (6);
 *    likewise configuration drift (5, with the parameter-level difference); no approved
 *    record at all: missing approval (6).
 * When several fail, the exit code is the first of 3, 4, 5, 6; --json lists them all.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { diffConfigs, formatConfigDiff, type ConfigDiff } from '../governance/config-diff.js';
import { snapshotConfig } from '../governance/config-snapshot.js';
import type { ConfigSnapshot, ParameterGroup, ParameterValue } from '../governance/predicate.js';
import { isJsonObject } from '../governance/strict-json.js';
import { whyNotApproved } from '../search/approvals.js';
import type { SearchResult } from '../search/record-index.js';
import { toBase64 } from '../util/bytes.js';
import {
  CommandError,
  logUrl,
  nodeIo,
  parseDigestArg,
  readInput,
  runCommand,
  usage,
  type GovernanceIo,
} from './governance-io.js';
import { identifierFlag } from './history.js';
import {
  RECORDS_EXIT,
  RECORDS_EXIT_NAME,
  RecordReader,
  changeStatus,
  searchAll,
  shortDigest,
  shortTime,
  type ChangeStatus,
  type CheckedRecord,
  reportFailure,
} from './records-client.js';
import { LIVE_CHANGE_TYPES, ignoredJson, ignoredLine, trustFlags } from './state.js';

const SYNOPSIS =
  'candor verify-deployment --model M --env E (--artifact PATH | --digest D) [--config FILE [--secret P ...]] ' +
  '--policy FILE [--submitters FILE] [--no-require-approval] [--url URL] [--json]';

/** Most records looked at, newest first. */
const MAX_CANDIDATES = 1000;

/** Hex SHA-256 of a file, streamed (model weights do not fit in memory). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

interface Problem {
  exitCode: number;
  code: string;
  message: string;
}

const problem = (exitCode: number, message: string): Problem => ({
  exitCode,
  code: RECORDS_EXIT_NAME[exitCode]!,
  message,
});

/** The paths of the secrets (digest references) among logged parameters. */
function secretPaths(g: ParameterGroup | undefined, at = ''): string[] {
  const out: string[] = [];
  const walk = (v: ParameterValue, path: string): void => {
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${path}[${i}]`));
    else if (isJsonObject(v)) {
      if (isJsonObject(v.digest)) out.push(path);
      else for (const [k, child] of Object.entries(v)) walk(child as ParameterValue, path === '' ? k : `${path}.${k}`);
    }
  };
  if (g !== undefined) walk(g, at);
  return out;
}

function describe(s: ChangeStatus): string {
  const p = s.record.parsed.predicate!;
  const by = s.record.signer === null ? 'an unknown key' : s.record.signer.name;
  return `entry ${s.record.index} (${p.changeType} by ${by}, logged ${shortTime(s.record.time)})`;
}

/** The parseArgs options of `candor verify-deployment`. */
export const VERIFY_DEPLOYMENT_OPTIONS = {
  model: { type: 'string' },
  env: { type: 'string' },
  artifact: { type: 'string' },
  digest: { type: 'string' },
  config: { type: 'string' },
  secret: { type: 'string', multiple: true },
  policy: { type: 'string' },
  submitters: { type: 'string' },
  'require-approval': { type: 'boolean' },
  'no-require-approval': { type: 'boolean' },
  url: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * Runs `candor verify-deployment` with the arguments after `verify-deployment`; resolves
 * with the exit code (RECORDS_EXIT). Never throws and never exits the process.
 * @param hashFile computes an artifact's hex SHA-256 (default: sha256File).
 */
export function verifyDeploymentCommand(
  args: string[],
  io: GovernanceIo = nodeIo,
  hashFile: (path: string) => Promise<string> = sha256File
): Promise<number> {
  let json = false;
  const body = async (): Promise<number> => {
    const { values } = parseArgs({
      args,
      options: VERIFY_DEPLOYMENT_OPTIONS,
      strict: true,
    });
    json = values.json === true;
    const model = identifierFlag(values.model, '--model', true)!;
    const env = identifierFlag(values.env, '--env', true)!;
    if ((values.artifact === undefined) === (values.digest === undefined)) {
      throw usage('give exactly one of --artifact PATH and --digest D');
    }
    if (values.policy === undefined) throw usage('--policy FILE is required');
    if (values['require-approval'] === true && values['no-require-approval'] === true) {
      throw usage('--require-approval and --no-require-approval contradict each other');
    }
    const requireApproval = values['no-require-approval'] !== true;
    const { policy, submitters } = await trustFlags(io, values);

    // 1. Local digests.
    let local: string;
    if (values.digest !== undefined) {
      const d = parseDigestArg(values.digest, '--digest');
      if (d.sha256 === undefined) throw usage('--digest must be a SHA-256 digest (sha256:<hex> or 64 hex digits)');
      local = d.sha256;
    } else {
      try {
        local = await hashFile(values.artifact!);
      } catch (err) {
        throw new CommandError(RECORDS_EXIT.ERROR, `cannot read artifact ${values.artifact}: ${(err as Error).message}`);
      }
    }
    const configBytes = values.config === undefined ? undefined : await readInput(io, values.config, 'config');

    // 2. Candidates, newest first.
    const url = logUrl(io, values.url);
    const found = await searchAll(
      io,
      url,
      { model, env, changeTypes: [...LIVE_CHANGE_TYPES], order: 'desc', limit: 200 },
      MAX_CANDIDATES
    );
    if (found.length === 0) {
      throw new CommandError(RECORDS_EXIT.NO_RECORD, `nothing is logged for ${model} in ${env}`);
    }
    const reader = new RecordReader(io, url, policy, submitters);
    const cp = await reader.checkpoint()!;
    const statuses = new Map<number, Promise<ChangeStatus>>();
    const status = (r: SearchResult): Promise<ChangeStatus> => {
      let s = statuses.get(r.index);
      if (s === undefined) statuses.set(r.index, (s = changeStatus(reader, r)));
      return s;
    };
    // Unattributed records on the way, passed over whatever they name.
    const ignored = new Map<number, CheckedRecord>();
    // The newest (approved) attributed record among `list`, the newer unapproved ones
    // skipped on the way.
    const governing = async (
      list: SearchResult[]
    ): Promise<{ rec?: ChangeStatus; skipped: ChangeStatus[] }> => {
      const skipped: ChangeStatus[] = [];
      for (const r of list) {
        const s = await status(r);
        if (!s.record.attributed) {
          ignored.set(s.record.index, s.record);
          continue;
        }
        if (!requireApproval || s.outcome.approved) return { rec: s, skipped };
        skipped.push(s);
      }
      return { skipped };
    };
    const problems: Problem[] = [];
    const report: Record<string, unknown> = { model, env, requireApproval };

    // 3-5. The artifact.
    const withModel = found.filter((r) => r.modelDigest !== undefined);
    const a = await governing(withModel);
    const aDigest = a.rec?.record.parsed.predicate?.model?.digest?.sha256;
    report.artifact = {
      digest: `sha256:${local}`,
      entry: a.rec?.record.index ?? null,
      logged: aDigest === undefined ? null : `sha256:${aDigest}`,
      ok: aDigest === local,
    };
    const newerMatch = (skipped: ChangeStatus[], test: (s: ChangeStatus) => boolean): ChangeStatus | undefined =>
      skipped.find(test);
    if (a.rec === undefined && a.skipped.length === 0) {
      const what = withModel.length === 0 ? 'record' : 'attributed record';
      problems.push(problem(RECORDS_EXIT.NO_RECORD, `no ${what} of ${model} in ${env} names a model digest`));
    } else if (a.rec === undefined) {
      const newest = a.skipped[0]!;
      problems.push(
        problem(
          RECORDS_EXIT.MISSING_APPROVAL,
          `no record of ${model} in ${env} is approved: the newest, ${describe(newest)}, ${whyNotApproved(newest.outcome)}`
        )
      );
    } else if (aDigest !== local) {
      const pending = newerMatch(a.skipped, (s) => s.record.parsed.predicate?.model?.digest?.sha256 === local);
      if (pending !== undefined) {
        problems.push(
          problem(
            RECORDS_EXIT.MISSING_APPROVAL,
            `the deployed artifact sha256:${local} is that of ${describe(pending)}, which is not approved: ` +
              whyNotApproved(pending.outcome)
          )
        );
      } else {
        problems.push(
          problem(
            RECORDS_EXIT.ARTIFACT_DRIFT,
            `artifact drift: the deployed artifact is sha256:${local}, but the latest ` +
              `${requireApproval ? 'approved ' : ''}record, ${describe(a.rec)}, logged sha256:${aDigest}`
          )
        );
      }
    }

    // The configuration.
    let diff: ConfigDiff | undefined;
    if (configBytes !== undefined) {
      const withConfig = found.filter((r) => r.configDigest !== undefined);
      const c = await governing(withConfig);
      const logged: ConfigSnapshot | undefined = c.rec?.record.parsed.predicate?.config;
      let snapshot: ConfigSnapshot;
      try {
        snapshot = snapshotConfig(configBytes, {
          secrets: [...secretPaths(logged?.parameters), ...(values.secret ?? [])],
        });
      } catch (err) {
        throw new CommandError(RECORDS_EXIT.ERROR, `--config ${values.config}: ${(err as Error).message}`);
      }
      const localConfig = snapshot.digest.sha256!;
      const cDigest = logged?.digest.sha256;
      report.config = {
        digest: `sha256:${localConfig}`,
        entry: c.rec?.record.index ?? null,
        logged: cDigest === undefined ? null : `sha256:${cDigest}`,
        ok: cDigest === localConfig,
      };
      if (c.rec === undefined && c.skipped.length === 0) {
        const what = withConfig.length === 0 ? 'record' : 'attributed record';
        problems.push(
          problem(
            RECORDS_EXIT.CONFIG_DRIFT,
            `configuration drift: no ${what} of ${model} in ${env} carries a configuration snapshot`
          )
        );
      } else if (c.rec === undefined) {
        const newest = c.skipped[0]!;
        problems.push(
          problem(
            RECORDS_EXIT.MISSING_APPROVAL,
            `no configuration of ${model} in ${env} is approved: the newest, ${describe(newest)}, ` +
              whyNotApproved(newest.outcome)
          )
        );
      } else if (cDigest !== localConfig) {
        const pending = newerMatch(c.skipped, (s) => s.record.parsed.predicate?.config?.digest.sha256 === localConfig);
        if (pending !== undefined) {
          problems.push(
            problem(
              RECORDS_EXIT.MISSING_APPROVAL,
              `the deployed configuration sha256:${localConfig} is that of ${describe(pending)}, which is not approved: ` +
                whyNotApproved(pending.outcome)
            )
          );
        } else {
          diff = diffConfigs(logged!, snapshot);
          report.diff = diff;
          const changed = diff.changes.length;
          problems.push(
            problem(
              RECORDS_EXIT.CONFIG_DRIFT,
              `configuration drift: ${values.config} is sha256:${localConfig}, but the latest ` +
                `${requireApproval ? 'approved ' : ''}configuration, ${describe(c.rec)}, is sha256:${cDigest}` +
                (changed === 0
                  ? ' (no logged parameter differs: the file differs in formatting or in parameters not logged)'
                  : ` (${changed} parameter${changed === 1 ? ' differs' : 's differ'})`)
            )
          );
        }
      }
    }

    const governingRec = a.rec;
    if (governingRec !== undefined) {
      const g = governingRec.record;
      report.record = {
        index: g.index,
        changeType: g.parsed.predicate?.changeType,
        signer: g.signer,
        signerFrom: g.signerFrom,
        time: g.time,
        envelopeDigest: g.parsed.envelopeDigest,
        approved: governingRec.outcome.approved,
        approvedBy: governingRec.outcome.approvedBy,
        approvals: governingRec.outcome.approvals,
        proof: g.proof ?? null,
      };
    }
    report.checkpoint = { origin: cp.origin, size: cp.size, rootHash: toBase64(cp.rootHash), witnesses: cp.witnesses };
    const ignoredList = [...ignored.values()].sort((x, y) => y.index - x.index);
    report.ignored = ignoredList.map(ignoredJson);

    const order = [RECORDS_EXIT.NO_RECORD, RECORDS_EXIT.ARTIFACT_DRIFT, RECORDS_EXIT.CONFIG_DRIFT, RECORDS_EXIT.MISSING_APPROVAL];
    problems.sort((x, y) => order.indexOf(x.exitCode as never) - order.indexOf(y.exitCode as never));
    if (problems.length > 0) {
      const first = problems[0]!;
      if (json) {
        io.out(JSON.stringify({ ok: false, exitCode: first.exitCode, error: { code: first.code, message: first.message }, problems, ...report }) + '\n');
      } else {
        io.err(`candor verify-deployment: FAILED (${first.code}): ${first.message}\n`);
        for (const p of problems.slice(1)) io.err(`  also (${p.code}): ${p.message}\n`);
        for (const c of ignoredList) io.err(`  ignored: ${ignoredLine(c)}\n`);
        if (diff !== undefined) io.err(formatConfigDiff(diff).replace(/^/gm, '  '));
      }
      return first.exitCode;
    }
    if (json) {
      io.out(JSON.stringify({ ok: true, exitCode: 0, ...report }) + '\n');
    } else {
      const g = governingRec!;
      const approvedBy = g.outcome.approvedBy.length === 0 ? 'approval not required' : `approved by ${g.outcome.approvedBy.join(', ')}`;
      const conf = report.config as { digest: string; entry: number } | undefined;
      const configPart =
        conf === undefined ? '' : `; config ${shortDigest({ sha256: conf.digest.slice(7) })} as logged in entry ${conf.entry}`;
      const w = cp.witnesses.length === 0 ? 'no witnesses required' : `cosigned by ${cp.witnesses.map((x) => x.name).join(', ')}`;
      io.out(
        `OK: ${model} in ${env} runs sha256:${local} as logged in ${describe(g)}, ${approvedBy}${configPart}; ` +
          `proven in ${cp.origin} at tree size ${cp.size} (${w})` +
          (ignoredList.length === 0 ? '' : `; ${ignoredList.length} unattributed record(s) ignored`) +
          '\n'
      );
    }
    return RECORDS_EXIT.OK;
  };
  return runCommand('verify-deployment', io, SYNOPSIS, async () => {
    try {
      return await body();
    } catch (err) {
      return reportFailure('verify-deployment', io, json, err);
    }
  });
}
