/** The Monitor's options, poll outcomes and their exit codes. */
import type { Policy } from '../client/policy.js';
import type { FetchFn } from '../client/tile-reader.js';
import { EXIT_FOR_KIND, MONITOR_EXIT, type MonitorAlert } from './alerts.js';
import type { StateStore } from './state.js';
import type { SubmitterList } from '../governance/submitters.js';
import type { RulesConfig } from './rules/file.js';

/** Alert rules for a monitor (docs/monitor.md, "Alert rules"). */
export interface MonitorRules {
  config: RulesConfig;
  /**
   * The allowlist that signatures and approvals are checked against: `current` is read
   * for each entry, `reload()` (when given) is called before each poll; a reload that
   * fails is a warning and the list in force stays (SubmitterRegistry fits).
   */
  submitters: { readonly current: SubmitterList; reload?: () => Promise<unknown> };
  /** For webhook actions; default globalThis.fetch. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** once(): the longest it waits for delivery retries to fall due (ms); default 60 000. */
  onceWaitMs?: number;
}

/** Receives catch-up progress (the CLI draws a bar on a terminal). */
export interface ProgressSink {
  /** `done` of `total` entries of this catch-up emitted. */
  update(done: number, total: number): void;
  /** The catch-up ended (finished, failed or interrupted). */
  end(): void;
}

/** Options for Monitor.open. */
export interface MonitorOptions {
  /** The trust policy (c2sp.org/tlog-policy), parsed or as text. */
  policy: Policy | string;
  /** The log's URL prefix; default the policy log's URL. */
  url?: string;
  /** The log's origin, when the policy lists several logs. */
  origin?: string;
  store: StateStore;
  /** Standard output: entry, checkpoint (and with jsonAlerts, alert) lines. Awaited. */
  out: (text: string) => void | Promise<void>;
  /** Standard error: alert lines and `candor monitor: warning: …` lines. */
  err: (text: string) => void | Promise<void>;
  progress?: ProgressSink;
  /** Also write alert lines to `out`. */
  jsonAlerts?: boolean;
  fetch?: FetchFn;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Waits `ms`, resolving early when `signal` aborts; default a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Between polls, for run(); default 60 000. */
  intervalMs?: number;
  /** First retry delay after a network error, doubled each time; default 1000. */
  backoffMs?: number;
  /** Retries once() makes after network errors before giving up; default 4. */
  retries?: number;
  /** Save progress every this many entries during a catch-up; default 4096. */
  saveEvery?: number;
  /** Bound on each HTTP request; default 10 s. */
  timeoutMs?: number;
  /** Evaluate alert rules on every verified entry, and deliver their alerts. */
  rules?: MonitorRules;
}

/** How a poll ended. */
export type PollStatus = 'ok' | 'stale' | 'alert' | 'halted' | 'retry' | 'interrupted';

/** The outcome of one poll. */
export interface PollResult {
  status: PollStatus;
  /** The alert raised (or, when halted, the halting alert). */
  alert?: MonitorAlert;
  /** Why the poll must be retried. */
  message?: string;
  /** Entries emitted by this poll. */
  emitted: number;
  /** Rule alerts this poll raised. */
  ruleAlerts?: number;
}

/**
 * The exit code of `candor monitor --once` for a poll's outcome: 0 for ok and stale, the
 * alert kind's code (EXIT_FOR_KIND) for an alert or a halt, 3 when it gave up after
 * network errors, 1 when interrupted.
 */
export function exitCodeOf(r: PollResult): number {
  switch (r.status) {
    case 'ok':
    case 'stale':
      return MONITOR_EXIT.OK;
    case 'alert':
    case 'halted':
      return EXIT_FOR_KIND[r.alert!.kind];
    case 'retry':
      return MONITOR_EXIT.UNREACHABLE;
    case 'interrupted':
      return MONITOR_EXIT.ERROR;
  }
}

/** Waits `ms` milliseconds, or until `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
