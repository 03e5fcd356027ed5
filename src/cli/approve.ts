/**
 * `candor approve`: signs and logs an approval of a logged change, as its own statement
 * whose subject is the SHA-256 of the change's envelope exactly as logged.
 *
 *   candor approve --entry N --key KEY [--reason TEXT] [--reject] [--time RFC3339]
 *       [--url URL] [--wait] [--witnessed] [--timeout S] [--policy FILE]
 *       [--proof-out FILE] [--envelope-out FILE] [--dry-run]
 *
 * It fetches entry N, checks it is a governance change record (not an approval, not
 * another predicate type), shows on stderr what is being approved, and refuses when the
 * approver's own key signed the change (two people, not one: the log's policy checks
 * this too, by name). Exit codes as `candor record` (GOVERNANCE_EXIT), a refusal to approve
 * (self-approval, an approval, not a governance change) being REFUSED (3) like the log's
 * own refusals; retrying is safe.
 */
import { parseArgs } from 'node:util';
import { pae } from '../governance/dsse.js';
import { parsePrivateKey, verifySignature } from '../governance/keys.js';
import { approvalFor } from '../governance/record.js';
import { parseRecord } from '../governance/verify-record.js';
import { parseDecimal } from '../util/integers.js';
import {
  CommandError,
  GOVERNANCE_EXIT,
  logUrl,
  nodeIo,
  readInput,
  recordTime,
  runCommand,
  timeoutMs,
  usage,
  type GovernanceIo,
} from './governance-io.js';
import { fetchEntry } from './record-submit.js';
import { SUBMIT_FLAGS, signAndSubmit } from './record.js';

const SYNOPSIS =
  'candor approve --entry N --key KEY [--reason TEXT] [--reject] [--url URL] [--wait] ' +
  '[--witnessed] [--timeout S] [--proof-out FILE] (all flags: candor approve --help)';

/** A refusal: retrying the same approval will not help, as when the log answers 4xx. */
const notApprovable = (why: string): CommandError =>
  new CommandError(GOVERNANCE_EXIT.REFUSED, `entry cannot be approved: ${why}`);

/** The parseArgs options of `candor approve`. */
export const APPROVE_OPTIONS = {
  ...SUBMIT_FLAGS,
  entry: { type: 'string' },
  reason: { type: 'string' },
  reject: { type: 'boolean' },
} as const;

/**
 * Runs `candor approve` with the arguments after `approve`; resolves with the exit code
 * (GOVERNANCE_EXIT). Never throws and never exits the process.
 */
export function approveCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('approve', io, SYNOPSIS, async () => {
    const { values } = parseArgs({
      args,
      options: APPROVE_OPTIONS,
      strict: true,
    });
    if (values.entry === undefined) throw usage('--entry N is required');
    if (values.key === undefined) throw usage('--key KEY is required');
    let index: number;
    try {
      index = parseDecimal(values.entry, '--entry');
    } catch {
      throw usage(`--entry must be an entry index, got "${values.entry}"`);
    }
    const key = parsePrivateKey(await readInput(io, values.key, 'key'), `key ${values.key}`);
    const url = logUrl(io, values.url);
    const bytes = await fetchEntry(io, url, index, timeoutMs(values.timeout));

    let record;
    try {
      record = parseRecord(bytes);
    } catch (err) {
      throw notApprovable((err as Error).message);
    }
    const change = record.predicate;
    if (change === undefined) {
      const type = record.statement.predicateType;
      throw notApprovable(`its predicate type is ${type}, not a governance record`);
    }
    if (change.changeType === 'approval') throw notApprovable('it is itself an approval');
    const { envelope, envelopeDigest } = record;
    const message = pae(envelope.payloadType, envelope.payload);
    if (envelope.signatures.some((s) => verifySignature(key.publicKey, message, s.sig))) {
      throw notApprovable('your key signed this change; someone else must approve it');
    }
    const decision = values.reject === true ? 'reject' : 'approve';
    const model = change.model === undefined ? '' : ` of ${change.model.id}`;
    const env = change.environment === undefined ? '' : ` in ${change.environment}`;
    io.err(
      `${decision === 'approve' ? 'approving' : 'rejecting'} entry ${index}: ${change.changeType}${model}${env}\n` +
        `  reason: ${change.reason ?? ''}${change.ticket === undefined ? '' : ` (ticket ${change.ticket})`}\n` +
        `  envelope sha256:${envelopeDigest}\n`
    );
    const createdAt = recordTime(io, values.time);
    const predicate = approvalFor(
      change,
      { envelopeDigest, entry: index },
      {
        decision,
        ...(values.reason === undefined ? {} : { reason: values.reason }),
        ...(createdAt === undefined ? {} : { createdAt }),
      }
    );
    return signAndSubmit(io, values, predicate, key);
  });
}
