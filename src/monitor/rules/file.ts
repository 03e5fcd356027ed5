/**
 * The alert rules file of `candor monitor --rules FILE` (docs/monitor.md, "Alert rules"):
 * named rules evaluated against every governance record the monitor verifies, and the
 * actions that deliver their alerts. A JSON file, parsed strictly: an unknown field, a
 * bad pattern, a bad duration or an unknown action is an error that names the field
 * (`rules[2].within: "30 min" is not a duration …`), never a rule that silently matches
 * nothing or everything.
 *
 *   {
 *     "notify": ["stdout", "pager"],
 *     "actions": {
 *       "pager": { "type": "webhook", "urlEnv": "PAGER_URL", "secretEnv": "PAGER_SECRET" },
 *       "ticket": { "type": "command", "command": "/etc/candor/open-ticket.sh" }
 *     },
 *     "rules": [
 *       { "name": "prod-signers", "condition": "unexpected-signer",
 *         "match": { "env": "prod-*" }, "signers": ["release-ci"] },
 *       { "name": "prod-approval", "condition": "unapproved-change",
 *         "match": { "env": "prod-*", "changeType": ["model-update", "safety-config", "deployment"] },
 *         "within": "30m" },
 *       { "name": "guardrails", "condition": "parameter-lowered",
 *         "parameters": [{ "name": "guardrail.*_threshold", "risky": "decrease" }] },
 *       { "name": "reasons", "condition": "missing-reason", "requireTicket": true }
 *     ]
 *   }
 *
 * A rules file always has a rule with the condition `unverified-record` (a record whose
 * signatures no allowlisted key made): when the file declares none, the built-in rule
 * `unverified-record` is added, matching every record and using the `notify` actions.
 */
import { createHash } from 'node:crypto';
import { LogError } from '../../util/errors.js';
import type { ChangeType } from '../../governance/predicate.js';
import { CHANGE_TYPES } from '../../governance/schema.js';
import { isJsonObject, parseStrictJson } from '../../governance/strict-json.js';
import type { SubmitterList } from '../../governance/submitters.js';

/** What a rule checks. */
export const CONDITIONS = [
  'unexpected-signer',
  'unapproved-change',
  'parameter-lowered',
  'missing-reason',
  'unverified-record',
] as const;
/** What a rule checks. */
export type Condition = (typeof CONDITIONS)[number];

/** How urgent a rule's alerts are (passed on to the actions). */
export const SEVERITIES = ['info', 'notify', 'page'] as const;
/** How urgent a rule's alerts are. */
export type Severity = (typeof SEVERITIES)[number];

/** Which way a monitored parameter moving is risky (parameter-lowered). */
export const RISKS = ['decrease', 'increase', 'disable', 'enable', 'change'] as const;
/** Which way a monitored parameter moving is risky. */
export type Risk = (typeof RISKS)[number];

const DEFAULT_SEVERITY: Readonly<Record<Condition, Severity>> = {
  'unexpected-signer': 'page',
  'unapproved-change': 'page',
  'unverified-record': 'page',
  'parameter-lowered': 'notify',
  'missing-reason': 'notify',
};

/** A compiled `*` pattern. */
export interface Pattern {
  /** As written in the file. */
  text: string;
  re: RegExp;
}

/** Which records a rule looks at; every given field must match. */
export interface RecordMatch {
  /** The record's `environment` matches one of these. */
  env?: Pattern[];
  /** The record's `model.id` matches one of these. */
  model?: Pattern[];
  /**
   * The record's change type is one of these. Absent: every record except approvals
   * (except for unverified-record, which then looks at every record).
   */
  changeType?: ChangeType[];
}

interface RuleBase {
  name: string;
  severity: Severity;
  description?: string;
  /** Free-form references for auditors (`ISO/IEC 42001 A.6.2.5`, a policy URL). */
  references?: string[];
  match: RecordMatch;
  /** Names of the actions that deliver this rule's alerts. */
  actions: string[];
}

/** A record signed by someone not allowed to sign it here. */
export interface UnexpectedSignerRule extends RuleBase {
  condition: 'unexpected-signer';
  /** Allowed signers, by allowlist name or keyid; absent: any allowlisted signer. */
  signers?: string[];
  /** Also require what the allowlist requires: the role, and the environment among the key's. */
  allowlist: boolean;
}

/** A change without a counted approval within a time window. */
export interface UnapprovedChangeRule extends RuleBase {
  condition: 'unapproved-change';
  /** As written (`30m`). */
  within: string;
  withinMs: number;
}

/** One monitored parameter pattern of a parameter-lowered rule. */
export interface ParameterSpec {
  name: string;
  re: RegExp;
  risky: Risk;
}

/** A safety parameter that moved the risky way since the previous config of the model+env. */
export interface ParameterLoweredRule extends RuleBase {
  condition: 'parameter-lowered';
  parameters: ParameterSpec[];
  /** Do not alert when a monitored parameter disappears from the configuration. */
  ignoreRemoved: boolean;
}

/** A change whose reason is empty, a placeholder, too short, or (optionally) has no ticket. */
export interface MissingReasonRule extends RuleBase {
  condition: 'missing-reason';
  minLength: number;
  /** Lower-case, trimmed; compared with the reason lower-cased, trimmed, final `.!?` removed. */
  placeholders: string[];
  requireTicket: boolean;
}

/** A record whose signatures no key on the allowlist made. */
export interface UnverifiedRecordRule extends RuleBase {
  condition: 'unverified-record';
}

/** One rule. */
export type Rule =
  | UnexpectedSignerRule
  | UnapprovedChangeRule
  | ParameterLoweredRule
  | MissingReasonRule
  | UnverifiedRecordRule;

/** Retries of an action: `attempts` in all, waiting backoff·2^(n-1), at most maxBackoff. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

/** An action: how an alert is delivered. */
export type Action =
  | { name: string; type: 'stdout' }
  | { name: string; type: 'file'; path: string; retry: RetryPolicy }
  | {
      name: string;
      type: 'webhook';
      url: string;
      /** The HMAC key (Standard Webhooks), from the environment variable secretEnv. */
      secret?: Uint8Array;
      headers: Record<string, string>;
      timeoutMs: number;
      retry: RetryPolicy;
    }
  | { name: string; type: 'command'; command: string; timeoutMs: number; retry: RetryPolicy };

/** A parsed rules file. */
export interface RulesConfig {
  rules: Rule[];
  actions: Map<string, Action>;
  /** Hex SHA-256 of the file's bytes: alerts carry it, so an auditor knows which rules fired. */
  digest: string;
}

/** The name of the built-in action writing alert lines on standard output. */
export const STDOUT_ACTION = 'stdout';
/** The name of the built-in rule added when a file declares no unverified-record rule. */
export const BUILTIN_UNVERIFIED_RULE = 'unverified-record';
/** Largest rules file accepted, in bytes. */
export const MAX_RULES_FILE_SIZE = 1024 * 1024;

/** Default placeholders of missing-reason. */
export const DEFAULT_PLACEHOLDERS: readonly string[] = [
  '-', '--', '.', '...', '?', 'n/a', 'na', 'none', 'no reason', 'tbd', 'todo', 'wip', 'test',
  'fix', 'update', 'change', 'changes', 'misc', 'ok', 'x', 'xxx',
];

const DEFAULT_RETRY: RetryPolicy = { attempts: 8, backoffMs: 1000, maxBackoffMs: 300_000 };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV_GLOB = /^[A-Za-z0-9._:/@+*-]{1,256}$/;
const PARAM_GLOB = /^[A-Za-z0-9_.:/[\]*-]{1,512}$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function bad(at: string, why: string): LogError {
  return new LogError('MALFORMED', `rules file: ${at}: ${why}`);
}

function fields(v: unknown, at: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isJsonObject(v)) throw bad(at, 'must be an object');
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) {
      throw bad(at === '(top)' ? key : `${at}.${key}`, `is not a known field (known: ${allowed.join(', ')})`);
    }
  }
  return v;
}

function text(v: unknown, at: string, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw bad(at, `must be a non-empty string of at most ${max} characters`);
  }
  return v;
}

function bool(v: unknown, at: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw bad(at, 'must be true or false');
  return v;
}

function oneOrMany(v: unknown, at: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.length > 256 || !list.every((x) => typeof x === 'string')) {
    throw bad(at, 'must be a string or a non-empty array of strings');
  }
  return list as string[];
}

/** A `*` pattern (any run of characters) matched against the whole value. */
export function compilePattern(pattern: string): RegExp {
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

function patterns(v: unknown, at: string, allowed: RegExp, what: string): Pattern[] {
  return oneOrMany(v, at).map((p, i) => {
    const where = typeof v === 'string' ? at : `${at}[${i}]`;
    if (!allowed.test(p)) throw bad(where, `${JSON.stringify(p)} is not a valid ${what} pattern`);
    return { text: p, re: compilePattern(p) };
  });
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: one or more `<digits><unit>` with units ms, s, m, h, d (`30m`,
 * `1h30m`, `500ms`); above 0 and at most 366 days.
 * @throws LogError MALFORMED naming `at`.
 */
export function parseDuration(v: unknown, at: string): number {
  const example = '(e.g. "30m", "2h", "1h30m", "90s", "500ms")';
  if (typeof v !== 'string' || !/^(?:[0-9]{1,9}(?:ms|s|m|h|d))+$/.test(v)) {
    throw bad(at, `${JSON.stringify(v)} is not a duration ${example}`);
  }
  let ms = 0;
  for (const m of v.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms <= 0 || ms > 366 * UNIT_MS.d!) throw bad(at, `${JSON.stringify(v)} must be above 0 and at most 366d`);
  return ms;
}

function integer(v: unknown, at: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw bad(at, `must be a whole number from ${min} to ${max}`);
  }
  return v as number;
}

function parseMatch(v: unknown, at: string, condition: Condition): RecordMatch {
  if (v === undefined) return {};
  const o = fields(v, at, ['env', 'model', 'changeType']);
  const m: RecordMatch = {};
  if (o.env !== undefined) m.env = patterns(o.env, `${at}.env`, ENV_GLOB, 'environment');
  if (o.model !== undefined) m.model = patterns(o.model, `${at}.model`, ENV_GLOB, 'model');
  if (o.changeType !== undefined) {
    const types = oneOrMany(o.changeType, `${at}.changeType`);
    types.forEach((t, i) => {
      if (!(CHANGE_TYPES as readonly string[]).includes(t)) {
        throw bad(`${at}.changeType[${i}]`, `${JSON.stringify(t)} is not one of ${CHANGE_TYPES.join(', ')}`);
      }
    });
    if (types.includes('approval') && (condition === 'unapproved-change' || condition === 'missing-reason')) {
      throw bad(`${at}.changeType`, `approvals are not changes: ${condition} cannot match "approval"`);
    }
    m.changeType = [...new Set(types)] as ChangeType[];
  }
  return m;
}

function parseRetry(o: Record<string, unknown>, at: string): RetryPolicy {
  const retry: RetryPolicy = {
    attempts: integer(o.attempts, `${at}.attempts`, 1, 100, DEFAULT_RETRY.attempts),
    backoffMs: o.backoff === undefined ? DEFAULT_RETRY.backoffMs : parseDuration(o.backoff, `${at}.backoff`),
    maxBackoffMs:
      o.maxBackoff === undefined ? DEFAULT_RETRY.maxBackoffMs : parseDuration(o.maxBackoff, `${at}.maxBackoff`),
  };
  if (retry.maxBackoffMs < retry.backoffMs) throw bad(`${at}.maxBackoff`, 'must not be below backoff');
  return retry;
}

/** Standard Webhooks secrets are `whsec_<base64>`; anything else is used as UTF-8 bytes. */
function webhookSecret(value: string, at: string): Uint8Array {
  if (!value.startsWith('whsec_')) return new TextEncoder().encode(value);
  const b64 = value.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw bad(at, 'a whsec_ secret must be whsec_<base64>');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function envValue(v: unknown, at: string, env: (name: string) => string | undefined): string {
  if (typeof v !== 'string' || !ENV_VAR.test(v)) throw bad(at, 'must be the name of an environment variable');
  const value = env(v);
  if (value === undefined || value === '') throw bad(at, `the environment variable ${v} is not set`);
  return value;
}

function parseAction(name: string, v: unknown, at: string, env: (name: string) => string | undefined): Action {
  if (!isJsonObject(v)) throw bad(at, 'must be an object');
  const retryFields = ['attempts', 'backoff', 'maxBackoff'];
  switch (v.type) {
    case 'stdout':
      fields(v, at, ['type']);
      return { name, type: 'stdout' };
    case 'file': {
      const o = fields(v, at, ['type', 'path', ...retryFields]);
      return { name, type: 'file', path: text(o.path, `${at}.path`), retry: parseRetry(o, at) };
    }
    case 'command': {
      const o = fields(v, at, ['type', 'command', 'timeout', ...retryFields]);
      return {
        name,
        type: 'command',
        command: text(o.command, `${at}.command`),
        timeoutMs: o.timeout === undefined ? 30_000 : parseDuration(o.timeout, `${at}.timeout`),
        retry: parseRetry(o, at),
      };
    }
    case 'webhook': {
      const o = fields(v, at, ['type', 'url', 'urlEnv', 'secretEnv', 'headers', 'timeout', ...retryFields]);
      if ((o.url === undefined) === (o.urlEnv === undefined)) throw bad(at, 'needs exactly one of url and urlEnv');
      const url = o.url !== undefined ? text(o.url, `${at}.url`) : envValue(o.urlEnv, `${at}.urlEnv`, env);
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        throw bad(o.url !== undefined ? `${at}.url` : `${at}.urlEnv`, 'must be an http(s) URL');
      }
      const headers: Record<string, string> = {};
      if (o.headers !== undefined) {
        if (!isJsonObject(o.headers)) throw bad(`${at}.headers`, 'must be an object of header names to values');
        for (const [h, value] of Object.entries(o.headers)) {
          const where = `${at}.headers.${h}`;
          if (!HEADER_NAME.test(h)) throw bad(where, 'is not a valid header name');
          if (/^(content-type|content-length|host|webhook-.*)$/i.test(h)) throw bad(where, 'is set by candor');
          if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw bad(where, 'must be a string on one line');
          headers[h] = value;
        }
      }
      const action: Action = {
        name,
        type: 'webhook',
        url,
        headers,
        timeoutMs: o.timeout === undefined ? 10_000 : parseDuration(o.timeout, `${at}.timeout`),
        retry: parseRetry(o, at),
      };
      if (o.secretEnv !== undefined) {
        action.secret = webhookSecret(envValue(o.secretEnv, `${at}.secretEnv`, env), `${at}.secretEnv`);
      }
      return action;
    }
    default:
      throw bad(`${at}.type`, 'must be one of stdout, file, webhook, command');
  }
}

const COMMON = ['name', 'condition', 'severity', 'description', 'references', 'match', 'actions'];
const SPECIFIC: Readonly<Record<Condition, readonly string[]>> = {
  'unexpected-signer': ['signers', 'allowlist'],
  'unapproved-change': ['within'],
  'parameter-lowered': ['parameters', 'ignoreRemoved'],
  'missing-reason': ['minLength', 'placeholders', 'requireTicket'],
  'unverified-record': [],
};

function parseRule(
  v: unknown,
  at: string,
  actions: Map<string, Action>,
  notify: string[],
  submitters: SubmitterList | undefined
): Rule {
  if (!isJsonObject(v)) throw bad(at, 'must be an object');
  const condition = v.condition;
  if (!(CONDITIONS as readonly unknown[]).includes(condition)) {
    throw bad(`${at}.condition`, `must be one of ${CONDITIONS.join(', ')}`);
  }
  const c = condition as Condition;
  for (const key of Object.keys(v)) {
    if (COMMON.includes(key) || SPECIFIC[c].includes(key)) continue;
    const owner = CONDITIONS.find((k) => SPECIFIC[k].includes(key));
    const why = owner === undefined ? 'is not a known field' : `is a field of ${owner} rules, not of ${c}`;
    throw bad(`${at}.${key}`, why);
  }
  if (typeof v.name !== 'string' || !NAME.test(v.name)) {
    throw bad(`${at}.name`, 'must be 1 to 64 of letters, digits and ._- (starting alphanumeric)');
  }
  let severity = DEFAULT_SEVERITY[c];
  if (v.severity !== undefined) {
    if (!(SEVERITIES as readonly unknown[]).includes(v.severity)) {
      throw bad(`${at}.severity`, `must be one of ${SEVERITIES.join(', ')}`);
    }
    severity = v.severity as Severity;
  }
  const ruleActions = v.actions === undefined ? notify : oneOrMany(v.actions, `${at}.actions`);
  ruleActions.forEach((a, i) => {
    if (!actions.has(a)) throw bad(v.actions === undefined ? 'notify' : `${at}.actions[${i}]`, `no action named ${JSON.stringify(a)}`);
  });
  const base: RuleBase = { name: v.name, severity, match: parseMatch(v.match, `${at}.match`, c), actions: [...new Set(ruleActions)] };
  if (v.description !== undefined) base.description = text(v.description, `${at}.description`);
  if (v.references !== undefined) {
    base.references = oneOrMany(v.references, `${at}.references`).map((r, i) => text(r, `${at}.references[${i}]`, 512));
  }
  switch (c) {
    case 'unexpected-signer': {
      const rule: UnexpectedSignerRule = { ...base, condition: c, allowlist: bool(v.allowlist, `${at}.allowlist`, true) };
      if (v.signers !== undefined) {
        rule.signers = oneOrMany(v.signers, `${at}.signers`);
        rule.signers.forEach((s, i) => {
          const known = submitters?.submitters.some((k) => k.name === s || k.keyid === s) ?? true;
          if (!known) {
            throw bad(`${at}.signers[${i}]`, `${JSON.stringify(s)} is neither the name nor the keyid of a key on the submitter allowlist`);
          }
        });
      }
      if (rule.signers === undefined && !rule.allowlist) {
        throw bad(at, 'an unexpected-signer rule needs "signers", or "allowlist": true, or both');
      }
      return rule;
    }
    case 'unapproved-change':
      if (v.within === undefined) throw bad(`${at}.within`, 'is required: how long a change may wait for its approval');
      return { ...base, condition: c, within: v.within as string, withinMs: parseDuration(v.within, `${at}.within`) };
    case 'parameter-lowered': {
      if (!Array.isArray(v.parameters) || v.parameters.length === 0 || v.parameters.length > 256) {
        throw bad(`${at}.parameters`, 'must be a non-empty array of {"name": PATTERN, "risky": …}');
      }
      const parameters = v.parameters.map((p: unknown, i): ParameterSpec => {
        const where = `${at}.parameters[${i}]`;
        const o = fields(p, where, ['name', 'risky']);
        if (typeof o.name !== 'string' || !PARAM_GLOB.test(o.name)) {
          throw bad(`${where}.name`, `${JSON.stringify(o.name)} is not a valid parameter pattern (a dotted path, * for any characters)`);
        }
        if (!(RISKS as readonly unknown[]).includes(o.risky)) throw bad(`${where}.risky`, `must be one of ${RISKS.join(', ')}`);
        return { name: o.name, re: compilePattern(o.name), risky: o.risky as Risk };
      });
      return { ...base, condition: c, parameters, ignoreRemoved: bool(v.ignoreRemoved, `${at}.ignoreRemoved`, false) };
    }
    case 'missing-reason': {
      let placeholders = [...DEFAULT_PLACEHOLDERS];
      if (v.placeholders !== undefined) {
        if (!Array.isArray(v.placeholders) || !v.placeholders.every((p) => typeof p === 'string' && p.trim() !== '')) {
          throw bad(`${at}.placeholders`, 'must be an array of non-blank strings (may be empty)');
        }
        placeholders = (v.placeholders as string[]).map((p) => p.trim().toLowerCase());
      }
      return {
        ...base,
        condition: c,
        minLength: integer(v.minLength, `${at}.minLength`, 1, 4096, 1),
        placeholders,
        requireTicket: bool(v.requireTicket, `${at}.requireTicket`, false),
      };
    }
    case 'unverified-record':
      return { ...base, condition: c };
  }
}

/** Options of parseRulesFile. */
export interface ParseRulesOptions {
  /** The allowlist the monitor checks against: `signers` must name keys on it. */
  submitters?: SubmitterList;
  /** Environment variables (urlEnv, secretEnv); default process.env. */
  env?: (name: string) => string | undefined;
}

/**
 * Parses a rules file (see the module comment).
 * @throws LogError MALFORMED naming the field; TOO_LARGE over 1 MiB.
 */
export function parseRulesFile(bytes: Uint8Array, options: ParseRulesOptions = {}): RulesConfig {
  if (bytes.length > MAX_RULES_FILE_SIZE) {
    throw new LogError('TOO_LARGE', `rules file: larger than ${MAX_RULES_FILE_SIZE} bytes`);
  }
  const env = options.env ?? ((name: string) => process.env[name]);
  const v = parseStrictJson(bytes, 'rules file is not valid JSON');
  const top = fields(v, '(top)', ['rules', 'actions', 'notify']);
  const actions = new Map<string, Action>([[STDOUT_ACTION, { name: STDOUT_ACTION, type: 'stdout' }]]);
  if (top.actions !== undefined) {
    if (!isJsonObject(top.actions)) throw bad('actions', 'must be an object of action names to actions');
    for (const [name, a] of Object.entries(top.actions)) {
      if (!NAME.test(name)) throw bad(`actions.${name}`, 'an action name must be 1 to 64 of letters, digits and ._-');
      if (name === STDOUT_ACTION) throw bad(`actions.${name}`, 'is built in: it writes each alert as a JSON line on standard output');
      actions.set(name, parseAction(name, a, `actions.${name}`, env));
    }
  }
  const notify = top.notify === undefined ? [STDOUT_ACTION] : oneOrMany(top.notify, 'notify');
  notify.forEach((a, i) => {
    if (!actions.has(a)) throw bad(`notify[${i}]`, `no action named ${JSON.stringify(a)}`);
  });
  if (!Array.isArray(top.rules) || top.rules.length === 0 || top.rules.length > 256) {
    throw bad('rules', 'must be an array of 1 to 256 rules');
  }
  const rules = top.rules.map((r: unknown, i) => parseRule(r, `rules[${i}]`, actions, notify, options.submitters));
  const names = new Set<string>();
  rules.forEach((r, i) => {
    if (names.has(r.name)) throw bad(`rules[${i}].name`, `${JSON.stringify(r.name)} is used by another rule`);
    names.add(r.name);
  });
  if (!rules.some((r) => r.condition === 'unverified-record')) {
    if (names.has(BUILTIN_UNVERIFIED_RULE)) {
      throw bad('rules', `the name "${BUILTIN_UNVERIFIED_RULE}" is kept for the built-in rule of that condition`);
    }
    rules.push({
      name: BUILTIN_UNVERIFIED_RULE,
      condition: 'unverified-record',
      severity: 'page',
      description: 'A record whose signatures no key on the submitter allowlist made (built in).',
      match: {},
      actions: [...new Set(notify)],
    });
  }
  return { rules, actions, digest: createHash('sha256').update(bytes).digest('hex') };
}

/** The rules in force when the monitor has an allowlist but no rules file: the built-in rule. */
export function builtinRules(): RulesConfig {
  return parseRulesFile(new TextEncoder().encode('{"rules":[{"name":"unverified-record","condition":"unverified-record"}]}'));
}

/** True when `rule` looks at a record with these fields (see RecordMatch). */
export function matches(
  rule: Rule,
  record: { env: string | undefined; model: string | undefined; changeType: ChangeType | undefined }
): boolean {
  const m = rule.match;
  if (m.env !== undefined && (record.env === undefined || !m.env.some((p) => p.re.test(record.env!)))) return false;
  if (m.model !== undefined && (record.model === undefined || !m.model.some((p) => p.re.test(record.model!)))) return false;
  if (m.changeType !== undefined) return record.changeType !== undefined && m.changeType.includes(record.changeType);
  return rule.condition === 'unverified-record' || record.changeType !== 'approval';
}
