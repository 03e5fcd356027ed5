/**
 * The monitor's alerts: evidence that the log misbehaved, each a JSON object printed as one
 * line on stderr (and on stdout with --json-alerts) and kept in the state directory.
 * Kinds, and the `candor monitor --once` exit code of each (docs/monitor.md):
 *
 * | kind             | exit | evidence                     | halts |
 * |------------------|------|------------------------------|-------|
 * | `bad-signature`  | 4    | `received`                   | no    |
 * | `quorum-not-met` | 5    | `received`                   | no    |
 * | `bad-tiles`      | 6    | `received` (the checkpoint)  | no    |
 * | `rollback`       | 7    | `trusted` and `received`     | yes   |
 * | `inconsistent`   | 8    | `trusted` and `received`     | yes   |
 *
 * A halting alert is evidence against the log's history itself: the monitor keeps its
 * trusted checkpoint, stops reading the log and repeats the alert at every poll until an
 * operator resets the state (`candor monitor reset`). The others leave the trusted state
 * as it was; the next poll tries again.
 */
import { createHash } from 'node:crypto';

/** What went wrong (see the module comment). */
export type AlertKind = 'bad-signature' | 'quorum-not-met' | 'bad-tiles' | 'rollback' | 'inconsistent';

/** Exit codes of `candor monitor` (with --once, one per outcome; see docs/monitor.md). */
export const MONITOR_EXIT = {
  /** The log is consistent and every new entry was emitted (a stale checkpoint included). */
  OK: 0,
  /** The monitor could not run: unreadable policy or state, state in use, I/O error. */
  ERROR: 1,
  USAGE: 2,
  /** Network errors (or tiles not served) persisted through every retry; no alert. */
  UNREACHABLE: 3,
  BAD_SIGNATURE: 4,
  QUORUM_NOT_MET: 5,
  BAD_TILES: 6,
  ROLLBACK: 7,
  INCONSISTENT: 8,
  /** The log is fine, and alert rules fired (docs/monitor.md, "Alert rules"). */
  RULE_ALERTS: 9,
  /** The log is fine, but a rule alert could not be delivered (yet) by one of its actions. */
  UNDELIVERED: 10,
} as const;

/** The exit code for each alert kind. */
export const EXIT_FOR_KIND: Readonly<Record<AlertKind, number>> = {
  'bad-signature': MONITOR_EXIT.BAD_SIGNATURE,
  'quorum-not-met': MONITOR_EXIT.QUORUM_NOT_MET,
  'bad-tiles': MONITOR_EXIT.BAD_TILES,
  rollback: MONITOR_EXIT.ROLLBACK,
  inconsistent: MONITOR_EXIT.INCONSISTENT,
};

/** Every alert kind, for parsing. */
export const ALERT_KINDS: readonly AlertKind[] = Object.keys(EXIT_FOR_KIND) as AlertKind[];

/** True for the kinds that stop the monitor until an operator resets its state. */
export function isHalting(kind: AlertKind): boolean {
  return kind === 'rollback' || kind === 'inconsistent';
}

/** The signed notes an alert rests on, verbatim. */
export interface AlertEvidence {
  /** The checkpoint the monitor trusted (its saved state) when the alert was raised. */
  trusted?: string;
  /** What the log served: the checkpoint note (for bad-tiles, the checkpoint whose tiles lie). */
  received?: string;
}

/** One alert, as printed (one JSON line) and as kept in the state file. */
export interface MonitorAlert {
  type: 'alert';
  /** 32 hex digits hashing kind, origin, detail and evidence: the same evidence, the same id. */
  id: string;
  kind: AlertKind;
  origin: string;
  url: string;
  /** When first raised (ISO 8601). */
  time: string;
  /** When last raised (ISO 8601). */
  lastSeen: string;
  /** How many polls raised it. */
  count: number;
  /** True for rollback and inconsistent: the monitor stopped until reset. */
  halted: boolean;
  detail: string;
  evidence: AlertEvidence;
}

/** What the monitor knows when it raises an alert. */
export interface AlertInput {
  kind: AlertKind;
  origin: string;
  url: string;
  detail: string;
  evidence: AlertEvidence;
}

/**
 * Longest evidence kept verbatim (characters). Real checkpoint notes are far smaller; a
 * log answering megabytes of garbage must not bloat the state file it is rewritten into.
 */
export const MAX_EVIDENCE = 64 * 1024;

function capped(note: string): string {
  if (note.length <= MAX_EVIDENCE) return note;
  return `${note.slice(0, MAX_EVIDENCE)}\n[truncated: ${note.length} characters in all]`;
}

/** Builds an alert raised at `nowMs` (see MonitorAlert for its id). */
export function makeAlert(input: AlertInput, nowMs: number): MonitorAlert {
  const { kind, origin, url, detail, evidence } = input;
  const digest = createHash('sha256')
    .update(['candor-monitor-alert', kind, origin, detail, evidence.trusted ?? '', ''].join('\n'))
    .update(evidence.received ?? '')
    .digest('hex');
  const time = new Date(nowMs).toISOString();
  const ev: AlertEvidence = {};
  if (evidence.trusted !== undefined) ev.trusted = capped(evidence.trusted);
  if (evidence.received !== undefined) ev.received = capped(evidence.received);
  return {
    type: 'alert',
    id: digest.slice(0, 32),
    kind,
    origin,
    url,
    time,
    lastSeen: time,
    count: 1,
    halted: isHalting(kind),
    detail: detail.replace(/\s+/g, ' '),
    evidence: ev,
  };
}

/** Most alerts kept in the state file; the oldest go first (a halting alert is kept apart). */
export const MAX_KEPT_ALERTS = 100;

/**
 * Records `alert` in `alerts` (oldest first): an alert with the same id is updated
 * (lastSeen, count) and moved to the end; at most MAX_KEPT_ALERTS are kept.
 * @returns the recorded alert (the updated one when it was known).
 */
export function recordAlert(alerts: MonitorAlert[], alert: MonitorAlert): MonitorAlert {
  const at = alerts.findIndex((a) => a.id === alert.id);
  let recorded = alert;
  if (at >= 0) {
    const known = alerts.splice(at, 1)[0]!;
    recorded = { ...known, lastSeen: alert.lastSeen, count: known.count + 1 };
  }
  alerts.push(recorded);
  if (alerts.length > MAX_KEPT_ALERTS) alerts.splice(0, alerts.length - MAX_KEPT_ALERTS);
  return recorded;
}

/** Checks the shape of an alert read back from the state file. */
export function isMonitorAlert(v: unknown): v is MonitorAlert {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  const ev = a.evidence as Record<string, unknown> | null | undefined;
  const strings = ['id', 'origin', 'url', 'time', 'lastSeen', 'detail'];
  return (
    a.type === 'alert' &&
    strings.every((k) => typeof a[k] === 'string') &&
    ALERT_KINDS.includes(a.kind as AlertKind) &&
    Number.isSafeInteger(a.count) &&
    typeof a.halted === 'boolean' &&
    typeof ev === 'object' &&
    ev !== null &&
    ['trusted', 'received'].every((k) => ev[k] === undefined || typeof ev[k] === 'string')
  );
}
