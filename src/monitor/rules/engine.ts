/**
 * The rule engine: evaluates every entry the monitor verified, once, in log order, and
 * raises alerts into the outbox (state.ts). Entries that are not records (parseRecord
 * fails: not a DSSE envelope with an in-toto statement, or an invalid governance
 * predicate) are skipped.
 *
 * Who signed a record, and whether it counts, is decided with the monitor's own copy of
 * the allowlist (`--submitters`) by attributeRecord (search/attribution.ts), the rule
 * every reader of records applies: a valid signature by an allowlisted key, not retired
 * (`until`) when the record was observed, whose roles and environments permit it. A record
 * that is not attributed (forged, altered, by an unknown or retired key, or by a key that
 * may not make it: the log's POST /v1/records refuses these, POST /v1/entries takes any
 * bytes) raises `unverified-record` (and `unexpected-signer` where a rule of that kind
 * matches it) and is otherwise ignored: it opens no approval window, is not compared with
 * or remembered as a configuration, and is not judged for its reason. Unattributed
 * approvals are still attached to the change they name, where evaluateApprovals
 * (search/approvals.ts) refuses to count them.
 *
 * Time (unapproved-change): a record is `observed` at the time of the poll that first
 * fetched a checkpoint containing it (the monitor's clock, read before the fetch). Its
 * window runs from its log time: the log's integration time, which the monitor asks the
 * log's record index for (the monitor sets it with dateWindow; a signed checkpoint carries
 * no time, and a cosignature dates a tree, not when an entry joined it), or `observed`
 * when that is earlier or the log cannot say. The index's time is the operator's word, so
 * it can only move a deadline earlier than `observed` would, never later: a change logged
 * hours ago is judged on the first poll that sees it. The window closes at the first poll
 * that fetched the log's checkpoint at or after `logged + within` and read every entry of
 * it: the approvals found by then decide, with the rule of evaluateApprovals. Nothing closes on a poll that could not read the log,
 * or that was served a stale checkpoint. So an approval logged before the deadline always
 * counts, and one logged after it counts only when it is already in the checkpoint that
 * closes the window (at most one polling interval late). Windows are kept in the state
 * file and survive restarts.
 */
import { createHash } from 'node:crypto';
import { leafHash } from '../../merkle/hash.js';
import { diffConfigs, flattenParameters, type ParameterChange } from '../../governance/config-diff.js';
import type { GovernancePredicate, ParameterGroup, ParameterValue } from '../../governance/predicate.js';
import { allowsEnvironment, type Submitter, type SubmitterList } from '../../governance/submitters.js';
import { parseRecord, rolesFor, type ParsedRecord } from '../../governance/verify-record.js';
import { evaluateApprovals, whyNotApproved } from '../../search/approvals.js';
import { attributeRecord, chooseSigner, signerInfo, verifiedSigners } from '../../search/attribution.js';
import { isLogError } from '../../util/errors.js';
import { toBase64 } from '../../util/bytes.js';
import {
  matches,
  type MissingReasonRule,
  type ParameterLoweredRule,
  type Risk,
  type Rule,
  type RulesConfig,
  type UnapprovedChangeRule,
  type UnexpectedSignerRule,
} from './file.js';
import {
  MAX_FIRED_IDS,
  newRulesState,
  type ConfigBaseline,
  type EntryEvidence,
  type PendingWindow,
  type RecordSummary,
  type RuleAlert,
  type RulesState,
} from './state.js';

/** Which log the engine watches (copied into alerts). */
export interface EngineContext {
  origin: string;
  url: string;
}

/** One monitored parameter that moved the risky way (parameter-lowered). */
export interface ParameterFinding {
  path: string;
  risky: Risk;
  movement: 'decreased' | 'increased' | 'disabled' | 'enabled' | 'removed' | 'changed';
  old?: ParameterValue;
  new?: ParameterValue;
  /** Why a change is reported although its direction is unknown. */
  note?: string;
}

// A verified-or-not record as the rules see it.
interface Facts {
  parsed: ParsedRecord;
  p: GovernancePredicate | undefined;
  signers: Submitter[];
  unverified?: string;
  /** attributeRecord's verdict: only attributed records are changes. */
  attributed: boolean;
  summary: RecordSummary;
  evidence: EntryEvidence;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The alert id (see RuleAlert.id). */
export function ruleAlertId(origin: string, rule: Rule, index: number, envelopeDigest: string): string {
  return createHash('sha256')
    .update(['candor-rule-alert', origin, rule.name, rule.condition, String(index), envelopeDigest].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

function summarize(parsed: ParsedRecord, signers: Submitter[]): RecordSummary {
  const p = parsed.predicate;
  const chosen = chooseSigner(signers, p?.changeType ?? null);
  const signer = chosen === undefined ? null : signerInfo(chosen);
  const s: RecordSummary = { predicateType: parsed.statement.predicateType, signer };
  if (p === undefined) {
    if (signers.length > 1) s.signers = signers.map((x) => x.name);
    return s;
  }
  // Built in reading order: what changed, where, who, why.
  const out = { predicateType: s.predicateType, changeType: p.changeType } as RecordSummary;
  if (p.model !== undefined) {
    out.model = { id: p.model.id };
    if (p.model.version !== undefined) out.model.version = p.model.version;
    if (p.model.digest !== undefined) out.model.digest = { ...p.model.digest };
  }
  if (p.environment !== undefined) out.env = p.environment;
  out.signer = signer;
  if (signers.length > 1) out.signers = signers.map((x) => x.name);
  if (p.author !== undefined) out.author = p.author;
  if (p.reason !== undefined) out.reason = p.reason;
  if (p.ticket !== undefined) out.ticket = p.ticket;
  if (p.createdAt !== undefined) out.createdAt = p.createdAt;
  if (p.preDetermined !== undefined) out.preDetermined = p.preDetermined;
  if (p.config !== undefined) out.configDigest = p.config.digest.sha256!;
  if (p.approves !== undefined) {
    out.approves = { envelopeDigest: p.approves.digest.sha256!, decision: p.approves.decision };
    if (p.approves.entry !== undefined) out.approves.entry = p.approves.entry;
  }
  return out;
}

/** `entry 7: deployment of support-bot in prod-eu by release-ci` */
function headline(index: number, r: RecordSummary): string {
  if (r.changeType === undefined) return `entry ${index}: statement ${r.predicateType}`;
  const model = r.model === undefined ? '' : ` of ${r.model.id}`;
  const env = r.env === undefined ? '' : ` in ${r.env}`;
  const by = r.signer === null ? '' : ` by ${r.signer.name}`;
  return `entry ${index}: ${r.changeType}${model}${env}${by}`;
}

function showValue(v: ParameterValue | undefined): string {
  if (v === undefined) return '(absent)';
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.digest === 'object') {
    const d = v.digest as Record<string, string>;
    const alg = d.sha256 !== undefined ? 'sha256' : Object.keys(d).sort()[0]!;
    return `<secret ${alg}:${d[alg]}>`;
  }
  return JSON.stringify(v);
}

// How a changed monitored parameter counts under `risky` (undefined: not risky).
function judgeParameter(c: ParameterChange, risky: Risk, ignoreRemoved: boolean): ParameterFinding | undefined {
  const f = (movement: ParameterFinding['movement'], note?: string): ParameterFinding => {
    const out: ParameterFinding = { path: c.path, risky, movement };
    if (c.old !== undefined) out.old = c.old;
    if (c.new !== undefined) out.new = c.new;
    if (note !== undefined) out.note = note;
    return out;
  };
  if (c.kind === 'removed') return ignoreRemoved || risky === 'enable' ? undefined : f('removed');
  if (c.kind === 'added') return risky === 'enable' && c.new === true ? f('enabled') : undefined;
  const unordered = 'not two numbers: which way it moved cannot be told';
  switch (risky) {
    case 'decrease':
      if (c.direction === undefined) return f('changed', unordered);
      return c.direction === 'decreased' ? f('decreased') : undefined;
    case 'increase':
      if (c.direction === undefined) return f('changed', unordered);
      return c.direction === 'increased' ? f('increased') : undefined;
    case 'disable':
      return c.old === true && c.new !== true ? f('disabled') : undefined;
    case 'enable':
      return c.old !== true && c.new === true ? f('enabled') : undefined;
    case 'change':
      return f('changed');
  }
}

function normalizedReason(reason: string): string[] {
  const t = reason.trim().toLowerCase();
  return [t, t.replace(/[.!?]+$/, '').trim()];
}

/** Evaluates the rules (see the module comment). */
export class RuleEngine {
  readonly state: RulesState;
  private readonly fired: Set<string>;
  private fresh: RuleAlert[] = [];
  private readonly byName: Map<string, Rule>;
  /** Paths any parameter-lowered rule monitors. */
  private readonly monitored: RegExp[];
  /** True when the state changed since the last markSaved(). */
  dirty = false;

  /**
   * @param state the saved rules state (it is adopted and changed in place), or undefined
   *   for a new one.
   */
  constructor(
    readonly config: RulesConfig,
    state: RulesState | undefined,
    private readonly ctx: EngineContext
  ) {
    this.state = state ?? newRulesState();
    this.fired = new Set(this.state.fired);
    this.byName = new Map(config.rules.map((r) => [r.name, r]));
    this.monitored = config.rules.flatMap((r) => (r.condition === 'parameter-lowered' ? r.parameters.map((p) => p.re) : []));
  }

  /**
   * Drops open windows whose rule is no longer an unapproved-change rule of the file.
   * @returns one warning per dropped window.
   */
  pruneWindows(): string[] {
    const warnings: string[] = [];
    this.state.pending = this.state.pending.filter((w) => {
      if (this.byName.get(w.rule)?.condition === 'unapproved-change') return true;
      warnings.push(`rules: the approval window of entry ${w.entry.index} under rule "${w.rule}" is dropped: the rules file has no such unapproved-change rule now`);
      this.dirty = true;
      return false;
    });
    return warnings;
  }

  /** Entries [0, processed) were evaluated. */
  get processed(): number {
    return this.state.processed;
  }

  /** The alerts raised since the last call, oldest first. */
  takeFresh(): RuleAlert[] {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  /**
   * Evaluates entry `index` (the next one: entries below `processed` are skipped, so
   * entries emitted again after a crash are not evaluated twice).
   * @param observedMs the time of the poll whose checkpoint first contained the entry.
   */
  process(index: number, entry: Uint8Array, checkpointSize: number, observedMs: number, list: SubmitterList, nowMs: number): void {
    if (index < this.state.processed) return;
    if (index > this.state.processed) {
      throw new Error(`candor internal error: rules skipped entries ${this.state.processed} to ${index - 1}`);
    }
    this.state.processed = index + 1;
    this.dirty = true;
    let parsed: ParsedRecord;
    try {
      parsed = parseRecord(entry);
    } catch (err) {
      if (isLogError(err)) return; // not a record
      throw err;
    }
    const { signers } = verifiedSigners(parsed.envelope, list);
    // Retirement is judged at the poll that saw the entry (the monitor has no log time).
    const attribution = attributeRecord(parsed, list, observedMs);
    const facts: Facts = {
      parsed,
      p: parsed.predicate,
      signers,
      attributed: attribution.attributed,
      summary: summarize(parsed, signers),
      evidence: {
        index,
        envelopeDigest: parsed.envelopeDigest,
        leafHash: toBase64(leafHash(entry)),
        checkpointSize,
        observed: iso(observedMs),
      },
    };
    if (attribution.why !== undefined) facts.unverified = attribution.why;
    const seen = {
      env: facts.p?.environment,
      model: facts.p?.model?.id,
      changeType: facts.p?.changeType,
    };
    const verifiedChange = facts.p !== undefined && facts.p.changeType !== 'approval' && facts.attributed;
    for (const rule of this.config.rules) {
      if (!matches(rule, seen)) continue;
      switch (rule.condition) {
        case 'unverified-record':
          if (!facts.attributed) {
            const what =
              signers.length === 0
                ? 'no key on the submitter allowlist made its signature'
                : `not attributed: ${facts.unverified ?? ''}`;
            const summary = `${headline(index, facts.summary)}: ${what}`;
            this.fire(rule, facts.evidence, facts.summary, summary, { why: facts.unverified }, nowMs);
          }
          break;
        case 'unexpected-signer':
          this.checkSigner(rule, facts, nowMs);
          break;
        case 'missing-reason':
          if (verifiedChange) this.checkReason(rule, facts, nowMs);
          break;
        case 'parameter-lowered':
          if (verifiedChange) this.checkParameters(rule, facts, nowMs);
          break;
        case 'unapproved-change':
          if (verifiedChange) this.openWindow(rule, facts, observedMs);
          break;
      }
    }
    if (facts.p?.changeType === 'approval') this.attachApproval(facts);
    if (verifiedChange) this.remember(facts);
  }

  /**
   * Closes the windows whose deadline is at or before `confirmedMs`, the time of a poll
   * that fetched the log's checkpoint and evaluated every entry of it; an unapproved change
   * raises its alert.
   */
  closeWindows(confirmedMs: number, nowMs: number): void {
    const open: PendingWindow[] = [];
    for (const w of this.state.pending) {
      if (Date.parse(w.deadline) > confirmedMs) {
        open.push(w);
        continue;
      }
      this.dirty = true;
      const rule = this.byName.get(w.rule);
      if (rule?.condition !== 'unapproved-change') continue;
      const change = { index: w.change.index, signer: w.change.signer, author: w.change.author, env: w.change.env };
      const outcome = evaluateApprovals(change, w.approvals);
      if (outcome.approved) continue;
      const why = whyNotApproved(outcome);
      const summary = `${headline(w.entry.index, w.record)}: no counted approval within ${w.within} (${why})`;
      this.fire(rule, w.entry, w.record, summary, {
        within: w.within,
        ...(typeof w.logged === 'string' ? { logged: w.logged } : {}),
        deadline: w.deadline,
        closedAt: iso(confirmedMs),
        why,
        approvedBy: outcome.approvedBy,
        rejectedBy: outcome.rejectedBy,
        approvals: outcome.approvals,
      }, nowMs);
    }
    this.state.pending = open;
  }

  /** The open windows whose log time has not been asked of the log yet. */
  undated(): { rule: string; index: number; envelopeDigest: string }[] {
    return this.state.pending
      .filter((w) => w.logged === undefined)
      .map((w) => ({ rule: w.rule, index: w.entry.index, envelopeDigest: w.entry.envelopeDigest }));
  }

  /**
   * Sets the log time of the window of entry `index` under `rule` (see the module comment):
   * `loggedMs` as the log's index states it, its deadline counted from the earlier of it and
   * `observed`; null when the log cannot say (the deadline stays `observed + within`).
   */
  dateWindow(rule: string, index: number, loggedMs: number | null): void {
    const w = this.state.pending.find((p) => p.rule === rule && p.entry.index === index);
    const r = this.byName.get(rule);
    if (w === undefined || w.logged !== undefined || r?.condition !== 'unapproved-change') return;
    this.dirty = true;
    if (loggedMs === null) {
      w.logged = null;
      return;
    }
    const from = Math.min(loggedMs, Date.parse(w.entry.observed));
    w.logged = iso(from);
    w.deadline = iso(from + r.withinMs);
  }

  /** The earliest deadline of an open window (ms), if any. */
  nextDeadline(): number | undefined {
    const times = this.state.pending.map((w) => Date.parse(w.deadline));
    return times.length === 0 ? undefined : Math.min(...times);
  }

  private fire(
    rule: Rule,
    evidence: EntryEvidence,
    record: RecordSummary,
    summary: string,
    details: Record<string, unknown>,
    nowMs: number
  ): void {
    const id = ruleAlertId(this.ctx.origin, rule, evidence.index, evidence.envelopeDigest);
    if (this.fired.has(id)) return;
    const alert: RuleAlert = {
      type: 'rule-alert',
      id,
      rule: rule.name,
      condition: rule.condition,
      severity: rule.severity,
      summary: summary.replace(/\s+/g, ' '),
      origin: this.ctx.origin,
      url: this.ctx.url,
      time: iso(nowMs),
      rulesDigest: this.config.digest,
      entry: evidence,
      record,
      details: JSON.parse(JSON.stringify(details)) as Record<string, unknown>,
    };
    if (rule.description !== undefined) alert.description = rule.description;
    if (rule.references !== undefined) alert.references = [...rule.references];
    this.fired.add(id);
    this.state.fired.push(id);
    if (this.state.fired.length > MAX_FIRED_IDS) {
      for (const old of this.state.fired.splice(0, this.state.fired.length - MAX_FIRED_IDS)) this.fired.delete(old);
    }
    const next = iso(nowMs);
    this.state.outbox.push({
      alert,
      deliveries: rule.actions.map((action) => ({ action, status: 'pending', attempts: 0, next })),
    });
    this.fresh.push(alert);
    this.dirty = true;
  }

  private checkSigner(rule: UnexpectedSignerRule, facts: Facts, nowMs: number): void {
    const head = headline(facts.evidence.index, facts.summary);
    const details = {
      allowed: rule.signers ?? null,
      allowlist: rule.allowlist,
      verifiedSigners: facts.signers.map(signerInfo),
    };
    if (facts.signers.length === 0) {
      const why = `no key on the submitter allowlist made its signature (${facts.unverified ?? 'unverified'})`;
      this.fire(rule, facts.evidence, facts.summary, `${head}: ${why}`, { ...details, why }, nowMs);
      return;
    }
    const roles = rolesFor(facts.p);
    const env = facts.p?.environment;
    const listed = (s: Submitter): boolean =>
      rule.signers === undefined || rule.signers.includes(s.name) || rule.signers.includes(s.keyid);
    const hasRole = (s: Submitter): boolean => s.roles.some((r) => roles.includes(r));
    const fits = (s: Submitter): boolean =>
      !rule.allowlist || (hasRole(s) && (env === undefined || allowsEnvironment(s, env)));
    if (facts.signers.some((s) => listed(s) && fits(s))) return;
    const names = facts.signers.map((s) => s.name).join(', ');
    const candidate = facts.signers.find(listed);
    let why: string;
    if (candidate === undefined) {
      why = `signed by ${names}, not among the signers this rule allows (${rule.signers!.join(', ')})`;
    } else if (!hasRole(candidate)) {
      why = `signed by ${candidate.name} (roles: ${candidate.roles.join(', ')}), without the role ${roles.join(' or ')} the allowlist requires`;
    } else {
      why = `signed by ${candidate.name}, whose allowlist entry does not cover ${env} (environments: ${(candidate.environments ?? []).join(', ')})`;
    }
    this.fire(rule, facts.evidence, facts.summary, `${head}: ${why}`, { ...details, why }, nowMs);
  }

  private checkReason(rule: MissingReasonRule, facts: Facts, nowMs: number): void {
    const reason = facts.p!.reason;
    const whys: string[] = [];
    const trimmed = reason?.trim() ?? '';
    if (trimmed === '') whys.push('the reason is empty');
    else if (normalizedReason(trimmed).some((r) => rule.placeholders.includes(r))) {
      whys.push(`the reason ${JSON.stringify(reason)} is a placeholder`);
    } else if ([...trimmed].length < rule.minLength) {
      whys.push(`the reason ${JSON.stringify(reason)} is shorter than ${rule.minLength} characters`);
    }
    const ticket = facts.p!.ticket;
    if (rule.requireTicket && (ticket === undefined || ticket.trim() === '')) whys.push('it names no ticket');
    if (whys.length === 0) return;
    const why = whys.join('; ');
    const summary = `${headline(facts.evidence.index, facts.summary)}: ${why}`;
    this.fire(rule, facts.evidence, facts.summary, summary, { reason: reason ?? null, ticket: ticket ?? null, why }, nowMs);
  }

  // The monitored leaves of a record's configuration, or undefined without parameters.
  private monitoredValues(p: GovernancePredicate): Record<string, ParameterValue> | undefined {
    const parameters = p.config?.parameters;
    if (parameters === undefined || this.monitored.length === 0) return undefined;
    const values: Record<string, ParameterValue> = {};
    for (const [path, v] of flattenParameters(parameters)) {
      if (this.monitored.some((re) => re.test(path))) values[path] = v;
    }
    return values;
  }

  private baseline(model: string, env: string | null): ConfigBaseline | undefined {
    return this.state.configs.find((c) => c.model === model && c.env === env);
  }

  private checkParameters(rule: ParameterLoweredRule, facts: Facts, nowMs: number): void {
    const p = facts.p!;
    const model = p.model?.id;
    const now = this.monitoredValues(p);
    if (model === undefined || now === undefined) return;
    const before = this.baseline(model, p.environment ?? null);
    if (before === undefined) return;
    const diff = diffConfigs(before.values as ParameterGroup, now as ParameterGroup);
    const findings: ParameterFinding[] = [];
    for (const c of diff.changes) {
      const spec = rule.parameters.find((s) => s.re.test(c.path));
      if (spec === undefined) continue;
      const finding = judgeParameter(c, spec.risky, rule.ignoreRemoved);
      if (finding !== undefined) findings.push(finding);
    }
    if (findings.length === 0) return;
    const moves = findings.map((f) => `${f.path} ${f.movement} ${showValue(f.old)} -> ${showValue(f.new)}`).join('; ');
    const summary = `${headline(facts.evidence.index, facts.summary)}: ${moves} (previous config: entry ${before.index})`;
    this.fire(rule, facts.evidence, facts.summary, summary, {
      previous: {
        index: before.index,
        envelopeDigest: before.envelopeDigest,
        configDigest: before.configDigest,
        observed: before.observed,
      },
      configDigest: p.config!.digest.sha256!,
      parameters: findings,
    }, nowMs);
  }

  // The new config becomes the one later records of this model+env compare with.
  private remember(facts: Facts): void {
    const p = facts.p!;
    const model = p.model?.id;
    const values = this.monitoredValues(p);
    if (model === undefined || values === undefined) return;
    const env = p.environment ?? null;
    const baseline: ConfigBaseline = {
      model,
      env,
      index: facts.evidence.index,
      envelopeDigest: facts.evidence.envelopeDigest,
      configDigest: p.config!.digest.sha256!,
      observed: facts.evidence.observed,
      values,
    };
    const at = this.state.configs.findIndex((c) => c.model === model && c.env === env);
    if (at >= 0) this.state.configs[at] = baseline;
    else this.state.configs.push(baseline);
  }

  private openWindow(rule: UnapprovedChangeRule, facts: Facts, observedMs: number): void {
    const index = facts.evidence.index;
    if (this.state.pending.some((w) => w.rule === rule.name && w.entry.index === index)) return;
    const change: PendingWindow['change'] = { index, signer: facts.summary.signer, env: facts.p!.environment ?? null };
    if (facts.p!.author !== undefined) change.author = facts.p!.author;
    this.state.pending.push({
      rule: rule.name,
      entry: facts.evidence,
      record: facts.summary,
      change,
      within: rule.within,
      deadline: iso(observedMs + rule.withinMs),
      approvals: [],
    });
  }

  private attachApproval(facts: Facts): void {
    const approves = facts.p!.approves;
    if (approves === undefined) return;
    const digest = approves.digest.sha256!;
    for (const w of this.state.pending) {
      if (w.entry.envelopeDigest !== digest || w.approvals.some((a) => a.index === facts.evidence.index)) continue;
      const a: PendingWindow['approvals'][number] = {
        index: facts.evidence.index,
        envelopeDigest: facts.evidence.envelopeDigest,
        signer: facts.summary.signer,
        decision: approves.decision,
        time: facts.evidence.observed,
      };
      if (!facts.attributed) {
        a.attributed = false;
        if (facts.unverified !== undefined) a.unattributed = facts.unverified;
      }
      if (facts.p!.reason !== undefined) a.reason = facts.p!.reason;
      w.approvals.push(a);
    }
  }
}
