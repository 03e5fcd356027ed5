/**
 * The monitor's state directory:
 *
 *   DIR/state.json   the trusted checkpoint, how far its entries were emitted, and alerts
 *   DIR/lock         the PID of the monitor using DIR (one at a time)
 *   DIR/archive/     states set aside by `candor monitor reset`
 *
 * Why a JSON file and not LevelDB: the state is one small record (a checkpoint note, a
 * counter and at most 100 alerts) replaced as a whole a few times per poll, so an atomic
 * file replacement gives the same crash safety with nothing to open, compact or repair; an
 * operator can read it (and the evidence in it) with any tool; and resetting it is moving a
 * file. It is written atomically: a temporary file is written and fsynced, renamed over
 * state.json, and the directory fsynced, so a crash leaves the old state or the new one.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeFileAtomic } from '../util/durable-file.js';
import { LogError } from '../util/errors.js';
import { isMonitorAlert, type MonitorAlert } from './alerts.js';
import { acknowledgeRules, isRulesState, type RulesState } from './rules/state.js';

/** The `format` of state.json. */
export const STATE_FORMAT = 'candor-monitor-state/v1';

/** Everything the monitor remembers between runs. */
export interface MonitorState {
  format: typeof STATE_FORMAT;
  /** The log's origin; a state directory serves one log. */
  origin: string;
  /** The URL last used (informational). */
  url: string;
  /**
   * The largest checkpoint verified against the policy and consistent with every earlier
   * one (the note, verbatim), or null before the first.
   */
  checkpoint: string | null;
  /** Entries [0, next) of that checkpoint's tree were emitted; next ≤ its size. */
  next: number;
  /** When the state was last written (ISO 8601). */
  updated: string;
  /** The halting alert (rollback or inconsistent) until an operator resets, else null. */
  halt: MonitorAlert | null;
  /** Alerts not yet acknowledged by a reset, oldest first (at most 100). */
  alerts: MonitorAlert[];
  /**
   * What the alert rules remember (rules/state.ts), saved together with `next`; absent
   * until the monitor first runs with rules. A monitor run without rules keeps it as it is.
   */
  rules?: RulesState;
}

/** Where the monitor keeps its state. */
export interface StateStore {
  /** The saved state, or undefined when there is none yet. */
  load(): Promise<MonitorState | undefined>;
  /** Replaces the saved state, durably, before resolving. */
  save(state: MonitorState): Promise<void>;
  /** Releases the store (the lock). */
  close(): Promise<void>;
}

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `monitor state: ${why}`);
}

/**
 * Parses and checks state.json.
 * @throws LogError MALFORMED when it is not a state this version wrote.
 */
export function parseState(text: string): MonitorState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw malformed('not JSON');
  }
  const s = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (s.format !== STATE_FORMAT) throw malformed(`format is not ${STATE_FORMAT}`);
  if (typeof s.origin !== 'string' || s.origin === '') throw malformed('no origin');
  if (typeof s.url !== 'string') throw malformed('no url');
  if (s.checkpoint !== null && typeof s.checkpoint !== 'string') throw malformed('bad checkpoint');
  if (!Number.isSafeInteger(s.next) || (s.next as number) < 0) throw malformed('bad next');
  if (s.checkpoint === null && s.next !== 0) throw malformed('next without a checkpoint');
  if (typeof s.updated !== 'string') throw malformed('bad updated');
  if (s.halt !== null && !isMonitorAlert(s.halt)) throw malformed('bad halt');
  if (!Array.isArray(s.alerts) || !s.alerts.every(isMonitorAlert)) throw malformed('bad alerts');
  if (s.rules !== undefined && !isRulesState(s.rules)) throw malformed('bad rules');
  return s as unknown as MonitorState;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes DIR/lock for this process: created exclusively with our PID; a lock whose process
 * is gone (a monitor that was killed) is taken over.
 * @throws LogError CONFLICT when a live process holds it.
 */
async function lock(dir: string): Promise<string> {
  const path = join(dir, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
      throw new LogError('CONFLICT', `${dir} is in use by another monitor (pid ${pid})`);
    }
    await unlink(path).catch(() => {});
  }
  throw new LogError('CONFLICT', `cannot lock ${dir}`);
}

/** The state in DIR/state.json, locked against other monitors while open. */
export class FileStateStore implements StateStore {
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly lockPath: string
  ) {}

  /**
   * Creates DIR (mode 0700) when missing and locks it.
   * @throws LogError CONFLICT when another live monitor uses DIR; file system errors.
   */
  static async open(dir: string): Promise<FileStateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new FileStateStore(dir, await lock(dir));
  }

  /** @throws LogError MALFORMED for a damaged state file (never silently reset). */
  async load(): Promise<MonitorState | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'state.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return parseState(text);
    } catch (err) {
      throw new LogError('MALFORMED', `${join(this.dir, 'state.json')}: ${(err as Error).message}`);
    }
  }

  /** Replaces state.json atomically and durably (writeFileAtomic). */
  async save(state: MonitorState): Promise<void> {
    if (this.closed) throw new Error('monitor state store is closed');
    await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(state, null, 1) + '\n', 0o600);
  }

  /** Releases the lock; saving is refused afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await unlink(this.lockPath).catch(() => {});
  }

  /**
   * Sets the current state aside in DIR/archive/ (keeping its evidence), then either removes
   * it (the next run starts from scratch, from entry 0 of whatever history the log serves
   * then) or, with `keepCheckpoint`, keeps the trusted checkpoint and clears only the alerts
   * and the halt (for a log that serves the trusted history again), and drops the rule
   * alerts whose deliveries failed (rules/state.ts acknowledgeRules).
   * @returns the archived file's path, or undefined when there was no state.
   */
  async reset(keepCheckpoint: boolean, nowMs: number): Promise<string | undefined> {
    const state = await this.load();
    if (state === undefined) return undefined;
    const archive = join(this.dir, 'archive');
    await mkdir(archive, { recursive: true, mode: 0o700 });
    const name = `state-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}.json`;
    await writeFileAtomic(join(archive, name), JSON.stringify(state, null, 1) + '\n', 0o600);
    if (keepCheckpoint) {
      const updated = new Date(nowMs).toISOString();
      const rules = state.rules === undefined ? {} : { rules: acknowledgeRules(state.rules) };
      await this.save({ ...state, halt: null, alerts: [], updated, ...rules });
    } else {
      await unlink(join(this.dir, 'state.json'));
      await syncDir(this.dir);
    }
    return join(archive, name);
  }
}
