/**
 * Alerts: evidence that a log showed two views that cannot both be true, raised once per
 * piece of evidence, logged as one `ALERT` line on stderr, and handed to the operator's
 * `--on-alert` command. Kinds (docs/witness.md):
 *
 * - `conflicting-root`: two checkpoints validly signed by the log with the same size and
 *   different root hashes. Proof of misbehaviour on its own: anyone holding the log's key
 *   can check the two notes.
 * - `inconsistent`: two validly signed checkpoints of different sizes, and the consistency
 *   proof built from the log's own tiles does not verify: either the larger tree does not
 *   extend the smaller one, or the log serves tiles that do not match its signed roots.
 */
import { spawn } from 'node:child_process';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../util/bytes.js';
import type { Alert, AlertKind } from './codec.js';

/** What a caller knows when it raises an alert. */
export interface AlertInput {
  origin: string;
  kind: AlertKind;
  source: string;
  detail: string;
  /** This witness's view first, then the other one. */
  evidence: [string, string];
}

/** The checkpoint text (signed body) of a note: everything up to its last blank line. */
function noteText(note: string): string {
  const split = note.lastIndexOf('\n\n');
  return split < 0 ? note : note.slice(0, split + 1);
}

/**
 * Builds an alert. Its id hashes the kind, the origin and the two checkpoint bodies (in
 * sorted order, signatures left out), so the same evidence always has the same id, on
 * every witness, whichever way round and with whatever cosignatures it arrived.
 */
export function makeAlert(input: AlertInput, nowMs: number): Alert {
  const bodies = input.evidence.map(noteText).sort();
  const digest = sha256(utf8(`candor-alert\n${input.kind}\n${input.origin}\n${bodies.join('\n')}`));
  return {
    id: toHex(digest).slice(0, 32),
    origin: input.origin,
    kind: input.kind,
    time: new Date(nowMs).toISOString(),
    detail: input.detail.replace(/\s+/g, ' '),
    source: input.source,
    evidence: [input.evidence[0], input.evidence[1]],
    cleared: null,
  };
}

/** The one stderr line for an alert: `ALERT <kind> origin=… id=… source=…: <detail>`. */
export function formatAlertLine(a: Alert): string {
  const source = JSON.stringify(a.source);
  return `ALERT ${a.kind} origin=${JSON.stringify(a.origin)} id=${a.id} source=${source}: ${a.detail}`;
}

/** Options for runAlertCommand. */
export interface AlertCommandOptions {
  /** Kill the command (its whole process group) after this many ms; default 30000. */
  timeoutMs?: number;
  /** Where to report a failing or killed command. */
  warn?: (line: string) => void;
}

/**
 * Runs `/bin/sh -c command` with the alert as JSON (one line) on stdin and
 * CANDOR_ALERT_ORIGIN / CANDOR_ALERT_KIND in the environment. Never rejects; resolves when
 * the command exits or was killed at the deadline. Its stdout is discarded.
 */
export function runAlertCommand(command: string, alert: Alert, options: AlertCommandOptions = {}): Promise<void> {
  const warn = options.warn ?? ((line: string) => console.error(line));
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<void>((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('/bin/sh', ['-c', command], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, CANDOR_ALERT_ORIGIN: alert.origin, CANDOR_ALERT_KIND: alert.kind },
        detached: true, // its own process group, so a timeout kills everything it started
      });
    } catch (err) {
      warn(`candor witness: --on-alert command did not start: ${String(err)}`);
      resolve();
      return;
    }
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    child.stdin?.on('error', () => {}); // a command that does not read stdin is fine
    child.stdin?.end(JSON.stringify(alert) + '\n');
    const timer = setTimeout(() => {
      warn(`candor witness: --on-alert command still running after ${timeoutMs} ms: killed`);
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      warn(`candor witness: --on-alert command failed: ${err.message}`);
      resolve();
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const how = signal !== null ? `signal ${signal}` : `status ${String(code)}`;
        warn(`candor witness: --on-alert command exited with ${how}: ${stderr.trim()}`);
      }
      resolve();
    });
  });
}
