/**
 * Delivering rule alerts: each alert has one delivery per action of its rule, kept in the
 * outbox of the state file (state.ts) until it succeeds or is given up, so a restart
 * retries what was not delivered and never sends again what was.
 *
 * - `stdout`: the alert as one JSON line on standard output. Cannot fail on its own (a
 *   closed standard output stops the monitor, as for entry lines).
 * - `file`: the JSON line appended to a file and fsynced: an alert register.
 * - `webhook`: an HTTP POST of the alert JSON with the Standard Webhooks headers
 *   `webhook-id` (the alert id: the same on every retry, for deduplication),
 *   `webhook-timestamp` (Unix seconds) and, with a secret, `webhook-signature:
 *   v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. A 2xx answer delivers it.
 * - `command`: `/bin/sh -c COMMAND` with the alert JSON (one line) on standard input and
 *   CANDOR_ALERT_ID, _ORIGIN, _KIND (the condition), _RULE, _SEVERITY, _ENTRY, _SUMMARY
 *   and _ATTEMPT in its environment. Exit status 0 delivers it; its process group is
 *   killed at the timeout.
 *
 * A failed attempt is retried after backoff·2^(n-1) (at least a 429 or 503 answer's
 * Retry-After), at most maxBackoff, until `attempts` attempts were made; then the delivery
 * is `failed` and stays in the outbox for the record. Within one round, once an action
 * fails, its other due deliveries wait for its next attempt, so a dead endpoint costs one
 * time-out per round, not one per alert. Delivery is at least once: a crash between a
 * delivery and the save that records it sends that alert again, with the same id.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Action, RetryPolicy } from './file.js';
import { MAX_FAILED_KEPT, type Delivery, type OutboxItem, type RuleAlert } from './state.js';

/** What delivering needs from the world. */
export interface DeliveryIo {
  /** Standard output (the stdout action). Awaited; a failure propagates. */
  out(text: string): void | Promise<void>;
  /** A warning line's message (the caller adds the prefix). */
  warn(message: string): void | Promise<void>;
  /** For webhooks; default globalThis.fetch. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  now(): number;
}

/** The outcome of one attempt. */
interface Attempt {
  ok: boolean;
  error?: string;
  /** The server asked to wait this long (ms). */
  retryAfterMs?: number;
}

/** What a delivery round did. */
export interface RoundResult {
  /** Anything in the outbox changed (save the state). */
  changed: boolean;
  /** Deliveries given up in this round. */
  gaveUp: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The wait before attempt `failed + 1` after `failed` failures. */
export function backoffDelay(retry: RetryPolicy, failed: number, retryAfterMs = 0): number {
  const exp = retry.backoffMs * 2 ** Math.min(failed - 1, 40);
  return Math.min(retry.maxBackoffMs, Math.max(exp, retryAfterMs));
}

function retryAfter(res: Response, nowMs: number): number | undefined {
  const v = res.headers.get('retry-after');
  if (v === null) return undefined;
  if (/^[0-9]{1,9}$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The Standard Webhooks signature header value for a body. */
export function webhookSignature(secret: Uint8Array, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

async function postWebhook(action: Extract<Action, { type: 'webhook' }>, alert: RuleAlert, io: DeliveryIo): Promise<Attempt> {
  const body = JSON.stringify(alert);
  const timestamp = Math.floor(io.now() / 1000);
  const headers: Record<string, string> = {
    ...action.headers,
    'content-type': 'application/json',
    'user-agent': 'candor-monitor',
    'webhook-id': alert.id,
    'webhook-timestamp': String(timestamp),
  };
  if (action.secret !== undefined) headers['webhook-signature'] = webhookSignature(action.secret, alert.id, timestamp, body);
  const fetchFn = io.fetch ?? ((u: string, init: RequestInit) => globalThis.fetch(u, init));
  let res: Response;
  try {
    res = await fetchFn(action.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(action.timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${action.timeoutMs} ms` : `${e.message}${e.cause?.code === undefined ? '' : ` (${e.cause.code})`}`;
    return { ok: false, error: why };
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const out: Attempt = { ok: false, error: `HTTP ${res.status}` };
  const wait = res.status === 429 || res.status === 503 ? retryAfter(res, io.now()) : undefined;
  if (wait !== undefined) out.retryAfterMs = wait;
  return out;
}

/** Runs `/bin/sh -c command` with `input` on stdin; resolves with the outcome, never rejects. */
export function runHookCommand(
  command: string,
  input: string,
  env: Record<string, string>,
  timeoutMs: number
): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('/bin/sh', ['-c', command], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, ...env },
        detached: true, // its own process group, so the time-out kills everything it started
      });
    } catch (err) {
      resolve({ ok: false, error: `did not start: ${(err as Error).message}` });
      return;
    }
    let stderr = '';
    let killed = false;
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    child.stdin?.on('error', () => {}); // a command that does not read its input is fine
    child.stdin?.end(input);
    const timer = setTimeout(() => {
      killed = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, error: err.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const how = killed ? `killed after ${timeoutMs} ms` : signal !== null ? `signal ${signal}` : `status ${String(code)}`;
      const tail = stderr.trim().replace(/\s+/g, ' ');
      resolve({ ok: false, error: `exited with ${how}${tail === '' ? '' : `: ${tail}`}` });
    });
  });
}

async function appendLine(path: string, line: string): Promise<Attempt> {
  try {
    const fh = await open(path, 'a', 0o600);
    try {
      await fh.writeFile(line, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** The environment a command action gets. */
export function commandEnv(alert: RuleAlert, attempt: number): Record<string, string> {
  return {
    CANDOR_ALERT_ID: alert.id,
    CANDOR_ALERT_ORIGIN: alert.origin,
    CANDOR_ALERT_KIND: alert.condition,
    CANDOR_ALERT_RULE: alert.rule,
    CANDOR_ALERT_SEVERITY: alert.severity,
    CANDOR_ALERT_ENTRY: String(alert.entry.index),
    CANDOR_ALERT_SUMMARY: alert.summary,
    CANDOR_ALERT_ATTEMPT: String(attempt),
  };
}

/** Delivers the outbox's alerts (see the module comment). */
export class Deliverer {
  constructor(
    private readonly actions: ReadonlyMap<string, Action>,
    private readonly io: DeliveryIo
  ) {}

  /** The earliest time (ms) a pending delivery is due, or undefined when none is pending. */
  nextDue(outbox: readonly OutboxItem[]): number | undefined {
    let min: number | undefined;
    for (const item of outbox) {
      for (const d of item.deliveries) {
        if (d.status !== 'pending') continue;
        const t = Date.parse(d.next!);
        if (min === undefined || t < min) min = t;
      }
    }
    return min;
  }

  /** True when some delivery is still pending. */
  hasPending(outbox: readonly OutboxItem[]): boolean {
    return this.nextDue(outbox) !== undefined;
  }

  /**
   * Attempts every pending delivery due at `cutoffMs` (stdout first, in order; the other
   * actions in parallel, each action's deliveries in order), then drops delivered alerts
   * from `outbox` (in place) and keeps at most MAX_FAILED_KEPT with failed deliveries.
   */
  async round(outbox: OutboxItem[], cutoffMs: number): Promise<RoundResult> {
    const groups = new Map<string, { item: OutboxItem; d: Delivery }[]>();
    for (const item of outbox) {
      for (const d of item.deliveries) {
        if (d.status !== 'pending' || Date.parse(d.next!) > cutoffMs) continue;
        const list = groups.get(d.action) ?? [];
        list.push({ item, d });
        groups.set(d.action, list);
      }
    }
    const result: RoundResult = { changed: groups.size > 0, gaveUp: 0 };
    const stdout = groups.get('stdout');
    if (stdout !== undefined && this.actions.get('stdout')?.type === 'stdout') {
      groups.delete('stdout');
      for (const { item, d } of stdout) {
        await this.io.out(JSON.stringify(item.alert) + '\n');
        this.done(d, 'delivered');
      }
    }
    await Promise.all(
      [...groups].map(async ([name, list]) => {
        const action = this.actions.get(name);
        let deferUntil: string | undefined;
        for (const { item, d } of list) {
          if (action === undefined) {
            d.error = `the rules file has no action named "${name}" now`;
            this.done(d, 'failed');
            result.gaveUp++;
            await this.io.warn(`rules: alert ${item.alert.id} (${item.alert.rule}): ${d.error}; not delivered`);
            continue;
          }
          if (deferUntil !== undefined) {
            d.next = deferUntil;
            continue;
          }
          const attempt = await this.attempt(action, item.alert, d.attempts + 1);
          d.attempts++;
          if (attempt.ok) {
            delete d.error;
            this.done(d, 'delivered');
            continue;
          }
          d.error = attempt.error ?? 'failed';
          const retry = action.type === 'stdout' ? { attempts: 1, backoffMs: 0, maxBackoffMs: 0 } : action.retry;
          const what = `rules: alert ${item.alert.id} (${item.alert.rule}, entry ${item.alert.entry.index}): ${action.type} ${name}: ${d.error}`;
          if (d.attempts >= retry.attempts) {
            this.done(d, 'failed');
            result.gaveUp++;
            await this.io.warn(`${what}; gave up after ${d.attempts} attempts`);
            continue;
          }
          const wait = backoffDelay(retry, d.attempts, attempt.retryAfterMs);
          d.next = iso(this.io.now() + wait);
          deferUntil = d.next;
          await this.io.warn(`${what}; retrying in ${wait / 1000} s (attempt ${d.attempts} of ${retry.attempts})`);
        }
      })
    );
    const kept = outbox.filter((o) => o.deliveries.some((d) => d.status !== 'delivered'));
    const failed = kept.filter((o) => !o.deliveries.some((d) => d.status === 'pending'));
    const drop = new Set(failed.slice(0, Math.max(0, failed.length - MAX_FAILED_KEPT)));
    outbox.splice(0, outbox.length, ...kept.filter((o) => !drop.has(o)));
    return result;
  }

  private done(d: Delivery, status: 'delivered' | 'failed'): void {
    d.status = status;
    d.done = iso(this.io.now());
    delete d.next;
  }

  private async attempt(action: Action, alert: RuleAlert, n: number): Promise<Attempt> {
    switch (action.type) {
      case 'stdout':
        await this.io.out(JSON.stringify(alert) + '\n');
        return { ok: true };
      case 'file':
        return appendLine(action.path, JSON.stringify(alert) + '\n');
      case 'webhook':
        return postWebhook(action, alert, this.io);
      case 'command':
        return runHookCommand(action.command, JSON.stringify(alert) + '\n', commandEnv(alert, n), action.timeoutMs);
    }
  }
}
