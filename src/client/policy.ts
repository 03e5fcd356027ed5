/**
 * Trust policies (c2sp.org/tlog-policy): which logs may sign a checkpoint, which witnesses
 * may cosign it, and the quorum of cosignatures that makes it valid.
 *
 * The text format is line based. Items are separated by runs of ASCII space and tab; blank
 * lines and lines whose first non-blank character is `#` are ignored:
 *
 *     log <vkey> [<url>]                  a log; its key name is its origin
 *     witness <name> <vkey> [<url>]       a witness (cosignature/v1 key, type 0x04 or 0x01)
 *     group <name> <k|all|any> <name>...  at least k of the members (witnesses or groups)
 *     quorum <name|none>                  exactly one: what must cosign; `none` for nothing
 *
 * Rules enforced (each violation is LogError MALFORMED naming the line): a group or quorum
 * may only name witnesses and groups defined on earlier lines; names are unique across
 * witnesses and groups, `none` is reserved; a group lists each member once and 1 ≤ k ≤ n;
 * no two logs, and no two witnesses, wrap the same public key; log keys are Ed25519
 * (type 0x01); only tab and newline among control characters (so no CR); URLs must be
 * absolute. Deliberately lenient in one point: the last line may lack its newline.
 *
 * @example
 * const policy = parsePolicy(`
 * log example.com/log+3814a360+ARpc…
 * witness w1 w1.example+cc9a7044+BBpc…
 * witness w2 w2.example+12345678+BBxy…
 * group both all w1 w2
 * quorum both
 * `);
 * evaluateQuorum(policy, ['w1']).met; // false
 */
import { cosignatureV1Verifier } from '../checkpoint/cosignature.js';
import { ed25519Verifier, parseVerifierKey, type Verifier } from '../note/keys.js';
import { fromUtf8, toHex } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';

/** A log the policy trusts: any one of them may sign a checkpoint for its origin. */
export interface PolicyLog {
  /** The verifier key as written (type 0x01). Its name is the log's origin. */
  verifierKey: string;
  /** The key name, which is the origin of the checkpoints this log signs. */
  name: string;
  url?: string;
  /** Checks the log's Ed25519 signature on checkpoint notes. */
  verifier: Verifier;
}

/** A witness the policy knows, by its policy-local name. */
export interface PolicyWitness {
  /** The name used in groups and the quorum (not necessarily the key's name). */
  name: string;
  verifierKey: string;
  url?: string;
  /** Checks its cosignature/v1 lines (key ID recomputed over type 0x04). */
  verifier: Verifier;
}

/** A group: satisfied when at least `threshold` of its `members` are. */
export interface PolicyGroup {
  name: string;
  /** 1 ≤ threshold ≤ members.length. */
  threshold: number;
  /** Names of witnesses or earlier groups, each once. */
  members: string[];
}

/** A parsed policy. Treat as immutable. */
export interface Policy {
  logs: PolicyLog[];
  witnesses: PolicyWitness[];
  /** In definition order: a group only refers to witnesses and groups before it. */
  groups: PolicyGroup[];
  /** A witness or group name, or `none` when no cosignature is required. */
  quorum: string;
}

/** The outcome of evaluateQuorum. */
export interface QuorumResult {
  /** True when the quorum is `none` or the quorum witness or group is satisfied. */
  met: boolean;
  /** Every witness and group name that is satisfied, in policy order (witnesses first). */
  satisfied: string[];
}

/** Largest policy text accepted, in UTF-16 code units (about 1 MiB). */
export const MAX_POLICY_SIZE = 1024 * 1024;
/** Most logs, witnesses and groups (each) a policy may define; the spec asks for ≥ 32. */
export const MAX_POLICY_ITEMS = 1024;

const NONE = 'none';

function bad(line: number, why: string): LogError {
  return new LogError('MALFORMED', `policy line ${line}: ${why}`);
}

// Any octet below 0x20 other than tab and newline, and DEL, are forbidden; so are lone
// surrogates (a JS string can hold them, a file of UTF-8 cannot).
const FORBIDDEN_RE = /[\x00-\x08\x0b-\x1f\x7f]|\p{Cs}/u; // eslint-disable-line no-control-regex

function checkUrl(line: number, url: string | undefined): { url?: string } {
  if (url === undefined) return {};
  try {
    new URL(url);
  } catch {
    throw bad(line, `${JSON.stringify(url.slice(0, 100))} is not an absolute URL`);
  }
  return { url };
}

/**
 * Parses a policy in the c2sp.org/tlog-policy text format (see the module comment).
 * Bytes must be UTF-8.
 * @throws LogError MALFORMED, with the 1-based line number, on any deviation.
 */
export function parsePolicy(text: string | Uint8Array): Policy {
  const src = typeof text === 'string' ? text : fromUtf8(text, 'policy');
  if (src.length > MAX_POLICY_SIZE) throw new LogError('MALFORMED', 'policy is too large');
  const policy: Policy = { logs: [], witnesses: [], groups: [], quorum: '' };
  const names = new Set<string>();
  const logKeys = new Set<string>();
  const witnessKeys = new Set<string>();
  let quorumLine = 0;
  const lines = src.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (FORBIDDEN_RE.test(raw)) throw bad(n, 'control character (only tab and newline allowed)');
    const body = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (body === '' || body.startsWith('#')) return;
    const [keyword, ...args] = body.split(/[ \t]+/) as [string, ...string[]];
    const defineName = (name: string): void => {
      if (name === NONE) throw bad(n, '"none" is reserved');
      if (names.has(name)) throw bad(n, `name ${JSON.stringify(name)} is already defined`);
      names.add(name);
    };
    const count = (list: unknown[], what: string): void => {
      if (list.length >= MAX_POLICY_ITEMS) throw bad(n, `more than ${MAX_POLICY_ITEMS} ${what}`);
    };
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) throw bad(n, 'want: log <vkey> [<url>]');
        count(policy.logs, 'logs');
        const verifier = keyOf(n, () => ed25519Verifier(args[0]!));
        const key = toHex(parseVerifierKey(args[0]!).publicKey);
        if (logKeys.has(key)) throw bad(n, 'duplicate log key');
        logKeys.add(key);
        policy.logs.push({
          verifierKey: args[0]!,
          name: verifier.name,
          verifier,
          ...checkUrl(n, args[1]),
        });
        return;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) {
          throw bad(n, 'want: witness <name> <vkey> [<url>]');
        }
        count(policy.witnesses, 'witnesses');
        const [name, vkey, url] = args as [string, string, string | undefined];
        const verifier = keyOf(n, () => cosignatureV1Verifier(vkey));
        const key = toHex(parseVerifierKey(vkey).publicKey);
        if (witnessKeys.has(key)) throw bad(n, 'duplicate witness key');
        defineName(name);
        witnessKeys.add(key);
        policy.witnesses.push({ name, verifierKey: vkey, verifier, ...checkUrl(n, url) });
        return;
      }
      case 'group': {
        if (args.length < 3) throw bad(n, 'want: group <name> <k|all|any> <name>...');
        count(policy.groups, 'groups');
        const [name, k, ...members] = args as [string, string, ...string[]];
        const seen = new Set<string>();
        for (const m of members) {
          if (m === NONE) throw bad(n, '"none" cannot be a group member');
          if (!names.has(m)) throw bad(n, `${JSON.stringify(m)} is not defined on an earlier line`);
          if (seen.has(m)) throw bad(n, `${JSON.stringify(m)} is listed twice`);
          seen.add(m);
        }
        defineName(name);
        policy.groups.push({ name, threshold: threshold(n, k, members.length), members });
        return;
      }
      case 'quorum': {
        if (args.length !== 1) throw bad(n, 'want: quorum <name|none>');
        if (quorumLine !== 0) throw bad(n, `second quorum line (the first is line ${quorumLine})`);
        const name = args[0]!;
        if (name !== NONE && !names.has(name)) {
          throw bad(n, `${JSON.stringify(name)} is not defined on an earlier line`);
        }
        policy.quorum = name;
        quorumLine = n;
        return;
      }
      default:
        throw bad(n, `unknown keyword ${JSON.stringify(keyword.slice(0, 40))}`);
    }
  });
  if (quorumLine === 0) throw new LogError('MALFORMED', 'policy has no quorum line');
  return policy;
}

function keyOf(line: number, make: () => Verifier): Verifier {
  try {
    return make();
  } catch (err) {
    throw bad(line, err instanceof Error ? err.message : String(err));
  }
}

function threshold(line: number, k: string, n: number): number {
  if (k === 'all') return n;
  if (k === 'any') return 1;
  let t: number;
  try {
    t = parseDecimal(k, 'group threshold');
  } catch {
    throw bad(line, `threshold must be all, any or a decimal number, got ${JSON.stringify(k)}`);
  }
  if (t < 1 || t > n) throw bad(line, `threshold ${t} is not between 1 and ${n} (the members)`);
  return t;
}

/**
 * Evaluates the policy's quorum given the names of the policy witnesses whose cosignatures
 * verified: each witness is satisfied when named, each group when at least its threshold
 * of members are (groups in definition order, so nested groups work).
 * @example
 * evaluateQuorum(policy, ['w1', 'w2']); // { met: true, satisfied: ['w1', 'w2', 'both'] }
 */
export function evaluateQuorum(policy: Policy, cosigned: Iterable<string>): QuorumResult {
  const have = new Set(cosigned);
  const ok = new Map<string, boolean>();
  for (const w of policy.witnesses) ok.set(w.name, have.has(w.name));
  for (const g of policy.groups) {
    const count = g.members.filter((m) => ok.get(m) === true).length;
    ok.set(g.name, count >= g.threshold);
  }
  const satisfied = [...ok].filter(([, v]) => v).map(([k]) => k);
  return { met: policy.quorum === NONE || ok.get(policy.quorum) === true, satisfied };
}

/**
 * A policy trusting one log and requiring no cosignature (`quorum none`), for clients that
 * only know the log's verifier key.
 * @throws LogError MALFORMED when `verifierKey` is not an Ed25519 verifier key or the URL
 *   is not absolute.
 * @example
 * const policy = policyForLog('example.com/log+3814a360+ARpc…');
 */
export function policyForLog(verifierKey: string, url?: string): Policy {
  return parsePolicy(`log ${verifierKey}${url === undefined ? '' : ` ${url}`}\nquorum none\n`);
}

/**
 * Chooses the one log a client talks to: the log of `verifierKey` when given (added to the
 * policy when it does not list it, as tlog-policy allows policies without logs), else the
 * policy's log with `origin`, else its only log. Without a policy, `verifierKey` alone is
 * trusted with `quorum none`.
 * @throws TypeError when there is no such log, or several and no origin; LogError MALFORMED
 *   for a bad policy text or key.
 * @example
 * const { policy, log } = selectLog({ policy: policyText, origin: 'example.com/log' });
 */
export function selectLog(options: {
  policy?: Policy | string | undefined;
  verifierKey?: string | undefined;
  origin?: string | undefined;
}): { policy: Policy; log: PolicyLog } {
  const { verifierKey, origin } = options;
  let policy = typeof options.policy === 'string' ? parsePolicy(options.policy) : options.policy;
  if (verifierKey !== undefined) {
    const keyOnly = policyForLog(verifierKey);
    if (policy === undefined) policy = keyOnly;
    else if (!policy.logs.some((l) => l.verifierKey === verifierKey)) {
      policy = { ...policy, logs: [...policy.logs, ...keyOnly.logs] };
    }
  }
  if (policy === undefined) throw new TypeError('need a policy or a verifier key');
  const logs = policy.logs.filter((l) =>
    verifierKey === undefined ? (origin ?? l.name) === l.name : l.verifierKey === verifierKey
  );
  if (logs.length > 1) throw new TypeError('the policy lists several logs: give the origin');
  const log = logs[0];
  if (log === undefined || (origin !== undefined && log.name !== origin)) {
    throw new TypeError('the policy has no log with that origin');
  }
  return { policy, log };
}

/**
 * Formats a policy in the text format, one line per item: logs, witnesses, groups, then
 * the quorum. parsePolicy(formatPolicy(p)) describes the same policy.
 */
export function formatPolicy(policy: Policy): string {
  const url = (u: string | undefined): string => (u === undefined ? '' : ` ${u}`);
  const lines = [
    ...policy.logs.map((l) => `log ${l.verifierKey}${url(l.url)}`),
    ...policy.witnesses.map((w) => `witness ${w.name} ${w.verifierKey}${url(w.url)}`),
    ...policy.groups.map((g) => {
      const k = g.threshold === g.members.length ? 'all' : String(g.threshold);
      return `group ${g.name} ${k} ${g.members.join(' ')}`;
    }),
    `quorum ${policy.quorum}`,
  ];
  return lines.join('\n') + '\n';
}
