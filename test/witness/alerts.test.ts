/**
 * Alerts: ids that depend only on the evidence, the one-line ALERT format, and the
 * --on-alert command (JSON on stdin, environment, bounded time, never blocking the witness).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatAlertLine, makeAlert, runAlertCommand } from '../../src/witness/alerts.js';
import { LEAVES_8, LOG_ORIGIN, TestTree, addBody, openTestWitness, post, tempDir } from './helpers.js';

const tree = new TestTree().add(...LEAVES_8);
const fork = new TestTree().grow(6, 'fork');

describe('alerts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('have an id that depends on the evidence only, not its order or signatures', () => {
    const input = {
      origin: LOG_ORIGIN,
      kind: 'conflicting-root' as const,
      source: 'pull',
      detail: 'two\nlines',
      evidence: [tree.checkpoint(6), fork.checkpoint(6)] as [string, string],
    };
    const a = makeAlert(input, 0);
    const b = makeAlert({ ...input, source: 'gossip', evidence: [fork.checkpoint(6) + '— w x\n', tree.checkpoint(6)] }, 5);
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(b.id).toBe(a.id);
    expect(makeAlert({ ...input, kind: 'inconsistent' }, 0).id).not.toBe(a.id);
    const line = formatAlertLine(a);
    expect(line).toMatch(/^ALERT conflicting-root origin="example\.com\/testlog" id=[0-9a-f]{32} source="pull": two lines$/);
    expect(line).not.toContain('\n');
  });

  it('runs --on-alert with the alert JSON on stdin and its origin and kind in the environment', async () => {
    const out = join(dir, 'out');
    const command = `cat > '${out}.json'; printf '%s|%s' "$CANDOR_ALERT_ORIGIN" "$CANDOR_ALERT_KIND" > '${out}.env'`;
    const w = await openTestWitness(join(dir, 'w'), { onAlert: command });
    try {
      expect((await post(w.app, '/add-checkpoint', addBody(0, [], tree.checkpoint(6)))).status).toBe(200);
      const started = Date.now();
      expect((await post(w.app, '/add-checkpoint', addBody(6, [], fork.checkpoint(6)))).status).toBe(409);
      expect(Date.now() - started).toBeLessThan(2000);
      await w.settled();
      const alerts = w.witness.alerts();
      expect(JSON.parse(await readFile(`${out}.json`, 'utf8'))).toEqual(alerts[0]);
      expect(await readFile(`${out}.env`, 'utf8')).toBe(`${LOG_ORIGIN}|conflicting-root`);
    } finally {
      await w.close();
    }
  });

  it('never blocks the witness: a slow command is killed at its deadline, a failing one reported', async () => {
    const w = await openTestWitness(join(dir, 'w'), { onAlert: 'sleep 30', alertTimeoutMs: 200 });
    try {
      await post(w.app, '/add-checkpoint', addBody(0, [], tree.checkpoint(6)));
      const started = Date.now();
      expect((await post(w.app, '/add-checkpoint', addBody(6, [], fork.checkpoint(6)))).status).toBe(409);
      expect(Date.now() - started).toBeLessThan(1000);
      await w.settled();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(w.warnings.some((l) => /still running after 200 ms: killed/.test(l))).toBe(true);
    } finally {
      await w.close();
    }
    const warnings: string[] = [];
    await runAlertCommand('exit 3', makeAlert({ origin: 'o', kind: 'inconsistent', source: 's', detail: 'd', evidence: ['a', 'b'] }, 0), {
      warn: (l) => warnings.push(l),
    });
    expect(warnings).toEqual([expect.stringMatching(/exited with status 3/)]);
  });
});
