/**
 * The short run of `npm run fuzz` in `npm test`: every fuzz target (scripts/fuzz/targets.ts)
 * on a few thousand generated and mutated inputs with a fixed seed, and every saved
 * regression input (test/fuzz/regressions/<target>-*.bin) replayed, with no crash: each
 * input is accepted or refused with a coded error, within the hang limit. The full campaign
 * (1M inputs per target) is `npm run fuzz`; its figures are in the README.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { fuzzTarget, runOne, type Crash } from '../../scripts/fuzz/campaign.js';
import { buildTargets, isAcceptedError, TARGET_NAMES, type FuzzTarget } from '../../scripts/fuzz/targets.js';
import { Mutator, Rng } from '../../scripts/fuzz/mutate.js';
import { LogError } from '../../src/util/errors.js';

const SEED = 20261208;
/** Inputs per target; the three slowest parsers (OpenSSL key parsing, whole HTTP requests) get fewer. */
const COUNT: Record<string, number> = { 'governance-keys': 500, query: 800, 'stored-records': 1000 };
const DEFAULT_COUNT = 2000;
const REGRESSIONS = fileURLToPath(new URL('./regressions/', import.meta.url));

const show = (c: Crash): string =>
  `${c.target} input ${c.iteration} (${c.input.length} bytes, base64 ${Buffer.from(c.input.subarray(0, 2048)).toString('base64')}):\n${c.error}`;

describe('fuzzing (short run)', () => {
  let targets: FuzzTarget[];
  beforeAll(async () => {
    targets = await buildTargets();
  });
  afterAll(async () => {
    for (const t of targets) await t.close?.();
  });

  it('has a target for every listed parser, each with seeds it accepts', async () => {
    expect(targets.map((t) => t.name).sort()).toEqual([...TARGET_NAMES].sort());
    for (const t of targets) {
      // At least one seed must parse, or the mutations explore nothing near valid input.
      const outcomes = await Promise.all(t.seeds.map((s) => runOne(t, s)));
      expect(outcomes.some((o) => o.outcome === 'accepted') || t.name === 'batch', t.name).toBe(true);
      expect(outcomes.filter((o) => o.outcome === 'crash'), t.name).toEqual([]);
    }
  });

  it('counts anything but a coded error as a crash, and a slow parse as a hang', async () => {
    expect(isAcceptedError(new LogError('MALFORMED', 'x'))).toBe(true);
    expect(isAcceptedError(new TypeError('x'))).toBe(false);
    expect(isAcceptedError('a string')).toBe(false);
    const bad: FuzzTarget = {
      name: 'bad',
      what: 'throws a TypeError on a byte 0x41',
      seeds: [Uint8Array.of(0x41, 0x42)],
      dictionary: [],
      run(input) {
        if (input.includes(0x41)) throw new TypeError('boom');
        throw new LogError('MALFORMED', 'no');
      },
    };
    const s = await fuzzTarget(bad, { seed: 1, count: 500, maxCrashes: 3 });
    expect(s.crashes).toHaveLength(3);
    expect(s.crashes[0]!.error).toMatch(/TypeError: boom/);
    expect(s.refused).toBeGreaterThan(0);
    const slow: FuzzTarget = { ...bad, run: () => new Promise((r) => setTimeout(r, 30)) };
    const h = await fuzzTarget(slow, { seed: 1, count: 2, slowMs: 10 });
    expect(h.crashes.map((c) => c.error)).toEqual([expect.stringMatching(/^Error: hang/), expect.stringMatching(/^Error: hang/)]);
  });

  it('generates the same inputs for the same seed', () => {
    const a = new Mutator(new Rng(7), [Uint8Array.of(1, 2, 3)], ['x']);
    const b = new Mutator(new Rng(7), [Uint8Array.of(1, 2, 3)], ['x']);
    for (let i = 0; i < 200; i++) expect(Buffer.from(a.next()).equals(Buffer.from(b.next()))).toBe(true);
  });

  for (const name of TARGET_NAMES) {
    it(`${name}: no crash on ${COUNT[name] ?? DEFAULT_COUNT} inputs`, async () => {
      const t = targets.find((x) => x.name === name)!;
      const s = await fuzzTarget(t, { seed: SEED, count: COUNT[name] ?? DEFAULT_COUNT, maxCrashes: 1 });
      expect(s.crashes.map(show)).toEqual([]);
      expect(s.count).toBe(COUNT[name] ?? DEFAULT_COUNT);
      expect(s.accepted + s.refused).toBe(s.count);
      // The query target answers every input with a response (errors are answers there).
      if (name !== 'query') expect(s.refused).toBeGreaterThan(0);
    });
  }

  it('replays every saved regression input without a crash', async () => {
    const files = (await readdir(REGRESSIONS)).filter((f) => f.endsWith('.bin'));
    for (const f of files) {
      const name = TARGET_NAMES.find((n) => f.startsWith(`${n}-`));
      expect(name, `${f} names no target`).toBeDefined();
      const t = targets.find((x) => x.name === name)!;
      const r = await runOne(t, new Uint8Array(await readFile(join(REGRESSIONS, f))));
      expect(r.outcome, `${f}: ${String(r.error)}`).not.toBe('crash');
    }
  });
});
