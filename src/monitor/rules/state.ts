/**
 * What the alert rules remember between polls and across restarts, kept as the `rules`
 * member of the monitor's state.json and saved with it, atomically, together with `next`
 * (state.ts). Because the two are saved together, `processed` always equals the `next` of
 * the same save (or is behind it only when the rules were enabled on an existing state,
 * see RuleEngine): entries the monitor emits again after a crash are evaluated again from
 * exactly the state they were first evaluated from, and the alerts they raised were never
 * delivered (delivery starts only after the save that holds them).
 *
 *   processed  entries [0, processed) were evaluated
 *   configs    per model+environment, the monitored parameters of the last logged config
 *   pending    unapproved-change windows not closed yet, with the approvals seen so far
 *   outbox     alerts with their deliveries (per action: pending, delivered or failed)
 *   fired      ids of the most recent alerts, so none is raised twice
 */
import type { ParameterValue } from '../../governance/predicate.js';
import type { ApprovalView, SignerInfo } from '../../search/approvals.js';
import { CONDITIONS, SEVERITIES, type Condition, type Severity } from './file.js';

/** The record fields an alert shows. */
export interface RecordSummary {
  predicateType: string;
  changeType?: string;
  model?: { id: string; version?: string; digest?: Record<string, string> };
  env?: string;
  /** The allowlisted signer the record is attributed to; null when none signed it. */
  signer: SignerInfo | null;
  /** Every allowlisted signer, when several signed. */
  signers?: string[];
  author?: string;
  reason?: string;
  ticket?: string;
  createdAt?: string;
  preDetermined?: boolean;
  configDigest?: string;
  /** For an approval: what it approves. */
  approves?: { envelopeDigest: string; decision: string; entry?: number };
}

/** Where the record is in the log. */
export interface EntryEvidence {
  index: number;
  /** Hex SHA-256 of the entry bytes: what approvals name, and `subject=` in search. */
  envelopeDigest: string;
  /** RFC 6962 leaf hash, base64. */
  leafHash: string;
  /** The size of the signed tree the entry was verified against. */
  checkpointSize: number;
  /** When the monitor first saw it: the time of the poll that fetched that tree (ISO 8601). */
  observed: string;
}

/** One alert raised by a rule, as delivered and as kept in the outbox. */
export interface RuleAlert {
  type: 'rule-alert';
  /** 32 hex digits hashing origin, rule, condition, entry index and envelope digest. */
  id: string;
  rule: string;
  condition: Condition;
  severity: Severity;
  description?: string;
  references?: string[];
  /** One line saying what happened. */
  summary: string;
  origin: string;
  url: string;
  /** When the rule fired (ISO 8601). */
  time: string;
  /** Hex SHA-256 of the rules file that fired. */
  rulesDigest: string;
  entry: EntryEvidence;
  record: RecordSummary;
  /** What the condition found (docs/monitor.md, "Alert format"). */
  details: Record<string, unknown>;
}

/** The monitored parameters of the last config logged for a model in an environment. */
export interface ConfigBaseline {
  model: string;
  /** null for records without an environment. */
  env: string | null;
  index: number;
  envelopeDigest: string;
  configDigest: string;
  observed: string;
  /** Monitored leaves by path (`guardrail.toxicity_threshold`). */
  values: Record<string, ParameterValue>;
}

/** An unapproved-change window still open. */
export interface PendingWindow {
  rule: string;
  entry: EntryEvidence;
  record: RecordSummary;
  /** As evaluateApprovals wants it. */
  change: { index: number; signer: SignerInfo | null; author?: string; env: string | null };
  within: string;
  /**
   * The change's log time (ISO 8601) the deadline counts from: the log's integration time
   * as its record index states it, or `observed` when that is earlier; null when the log
   * could not say (no record API, or another record at that index); absent until asked.
   */
  logged?: string | null;
  /** (logged, else observed) + within (ISO 8601): closes at the first poll fetched at or after it. */
  deadline: string;
  approvals: ApprovalView[];
}

/** One action's delivery of one alert. */
export interface Delivery {
  action: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** When to try next (ISO 8601), while pending. */
  next?: string;
  /** The last failure. */
  error?: string;
  /** When it succeeded or was given up (ISO 8601). */
  done?: string;
}

/** An alert and its deliveries. */
export interface OutboxItem {
  alert: RuleAlert;
  deliveries: Delivery[];
}

/** The rules' part of the monitor state (see the module comment). */
export interface RulesState {
  processed: number;
  configs: ConfigBaseline[];
  pending: PendingWindow[];
  outbox: OutboxItem[];
  fired: string[];
}

/** Most alert ids remembered in `fired`. */
export const MAX_FIRED_IDS = 5000;
/** Most alerts kept in the outbox with a failed delivery (the oldest go first). */
export const MAX_FAILED_KEPT = 100;

/** An empty rules state. */
export function newRulesState(): RulesState {
  return { processed: 0, configs: [], pending: [], outbox: [], fired: [] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): v is string => isString(v) && !Number.isNaN(Date.parse(v));

function isEntry(v: unknown): v is EntryEvidence {
  return (
    isObject(v) &&
    isIndex(v.index) &&
    isString(v.envelopeDigest) &&
    isString(v.leafHash) &&
    isIndex(v.checkpointSize) &&
    isTime(v.observed)
  );
}

function isSigner(v: unknown): v is SignerInfo | null {
  return v === null || (isObject(v) && isString(v.name) && isString(v.keyid) && Array.isArray(v.roles));
}

function isSummary(v: unknown): v is RecordSummary {
  return isObject(v) && isString(v.predicateType) && isSigner(v.signer);
}

/** Checks the shape of an alert read back from the state file. */
export function isRuleAlert(v: unknown): v is RuleAlert {
  return (
    isObject(v) &&
    v.type === 'rule-alert' &&
    ['id', 'rule', 'summary', 'origin', 'url', 'rulesDigest'].every((k) => isString(v[k])) &&
    isTime(v.time) &&
    (CONDITIONS as readonly unknown[]).includes(v.condition) &&
    (SEVERITIES as readonly unknown[]).includes(v.severity) &&
    isEntry(v.entry) &&
    isSummary(v.record) &&
    isObject(v.details)
  );
}

function isDelivery(v: unknown): v is Delivery {
  return (
    isObject(v) &&
    isString(v.action) &&
    ['pending', 'delivered', 'failed'].includes(v.status as string) &&
    isIndex(v.attempts) &&
    (v.next === undefined || isTime(v.next)) &&
    (v.status !== 'pending' || v.next !== undefined) &&
    (v.error === undefined || isString(v.error)) &&
    (v.done === undefined || isTime(v.done))
  );
}

function isApproval(v: unknown): v is ApprovalView {
  return (
    isObject(v) &&
    isIndex(v.index) &&
    isString(v.envelopeDigest) &&
    isSigner(v.signer) &&
    (v.decision === 'approve' || v.decision === 'reject') &&
    isTime(v.time)
  );
}

function isPending(v: unknown): v is PendingWindow {
  if (!isObject(v) || !isObject(v.change)) return false;
  const c = v.change;
  return (
    isString(v.rule) &&
    isEntry(v.entry) &&
    isSummary(v.record) &&
    isIndex(c.index) &&
    isSigner(c.signer) &&
    (c.author === undefined || isString(c.author)) &&
    (c.env === null || isString(c.env)) &&
    isString(v.within) &&
    (v.logged === undefined || v.logged === null || isTime(v.logged)) &&
    isTime(v.deadline) &&
    Array.isArray(v.approvals) &&
    v.approvals.every(isApproval)
  );
}

function isBaseline(v: unknown): v is ConfigBaseline {
  return (
    isObject(v) &&
    isString(v.model) &&
    (v.env === null || isString(v.env)) &&
    isIndex(v.index) &&
    isString(v.envelopeDigest) &&
    isString(v.configDigest) &&
    isTime(v.observed) &&
    isObject(v.values)
  );
}

/** Checks the shape of the `rules` member read back from state.json. */
export function isRulesState(v: unknown): v is RulesState {
  return (
    isObject(v) &&
    isIndex(v.processed) &&
    Array.isArray(v.configs) &&
    v.configs.every(isBaseline) &&
    Array.isArray(v.pending) &&
    v.pending.every(isPending) &&
    Array.isArray(v.outbox) &&
    v.outbox.every((o) => isObject(o) && isRuleAlert(o.alert) && Array.isArray(o.deliveries) && o.deliveries.every(isDelivery)) &&
    Array.isArray(v.fired) &&
    v.fired.every(isString)
  );
}

/**
 * The rules state after an operator acknowledged the alerts (`candor monitor reset
 * --keep-checkpoint`): alerts whose deliveries failed are dropped from the outbox;
 * pending deliveries, open windows, configs and fired ids are kept.
 */
export function acknowledgeRules(s: RulesState): RulesState {
  const outbox = s.outbox.filter((o) => o.deliveries.some((d) => d.status === 'pending'));
  return { ...s, outbox };
}
