/**
 * Evidence packs end to end with the real program: a `candor witness` daemon, a log
 * (`candor serve --submitters --witness`) that it cosigns, records and approvals made with
 * the real `candor record` and `candor approve` (each waiting for a witnessed checkpoint),
 * `candor export` and `candor verify-export` as processes. Then every file of the pack in
 * turn gets one byte flipped at a few positions, and verify-export must fail, naming that
 * file (or the record it belongs to).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import { freePort, makeWitnessIdentity, startWitnessProcess, type WitnessProcess } from '../helpers/witness-process.js';
import { generateSignerKey } from '../../src/note/keys.js';
import { recordsAllowlist } from '../governance/records-fixture.js';
import { RFC8032, dssePrivatePem, ed25519Pem } from '../governance/helpers.js';

const ORIGIN = 'evidence.example/log';

const candor = (args: string[]): Promise<CliResult> => runCandor(args);

/** Runs `f` over `items`, at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    })
  );
  return out;
}

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(dir, path)));
    else out.push(path);
  }
  return out.sort();
}

describe('evidence packs end to end (candor export, candor verify-export)', () => {
  let root = '';
  let server: ServerProcess | undefined;
  let witness: WitnessProcess | undefined;
  const p = (name: string): string => join(root, name);
  const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-evidence-e2e-'));
    const { signerKey, verifierKey } = generateSignerKey(ORIGIN);
    await writeFile(p('log.key'), signerKey + '\n', { mode: 0o600 });
    const w = await makeWitnessIdentity(root, 'w1.example/witness');
    await writeFile(p('submitters.json'), recordsAllowlist());
    const logPort = await freePort();
    witness = await startWitnessProcess(w, ['--log', `${ORIGIN}=${verifierKey}@http://127.0.0.1:${logPort}`]);
    server = await startServerProcess(p('data'), [
      '--port', String(logPort), '--origin', ORIGIN, '--key', p('log.key'), '--submitters', p('submitters.json'),
      '--witness', `w1=${w.vkey}@${w.url}`, '--quorum', '1',
    ]);
    await writeFile(p('policy.txt'), `log ${verifierKey} ${server.url}\nwitness w1 ${w.vkey}\nquorum w1\n`);
    await writeFile(p('alice.pem'), ed25519Pem(RFC8032.A.seed));
    await writeFile(p('bob.pem'), dssePrivatePem());
    await writeFile(p('config.json'), JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.85' } }));
    await writeFile(p('config2.json'), JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.80' } }));
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
    await witness?.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('exports what the real commands logged, verifies it offline, and refuses it with any byte changed', async () => {
    const url = ['--url', server!.url];
    const wait = ['--wait', '--witnessed', '--timeout', '30', '--policy', p('policy.txt'), ...url];
    const logged = async (args: string[]): Promise<void> => {
      const r = await candor(args);
      expect(r.code, r.stderr).toBe(0);
    };
    // 0 deployment, 1 its approval, 2 a safety-config change, 3 staging (not exported), 4 approval of 2
    await logged(['record', 'deployment', '--model', 'fraud', '--model-digest', `sha256:${sha256('weights')}`, '--config', p('config.json'),
      '--env', 'prod', '--reason', 'Q3 retrain', '--ticket', 'AI-7', '--author', 'u-7f3a2c', '--key', p('alice.pem'), ...wait]);
    await logged(['approve', '--entry', '0', '--key', p('bob.pem'), '--reason', 'evals ok', ...wait]);
    await logged(['record', 'safety-config', '--model', 'fraud', '--config', p('config2.json'), '--env', 'prod',
      '--reason', 'Fewer false refusals <b>now</b>', '--ticket', 'AI-8', '--key', p('alice.pem'), ...wait]);
    await logged(['record', 'deployment', '--model', 'fraud', '--model-digest', `sha256:${sha256('weights')}`, '--env', 'staging',
      '--reason', 'try', '--key', p('alice.pem'), ...wait]);
    await logged(['approve', '--entry', '2', '--key', p('bob.pem'), '--reason', 'reviewed', ...wait]);

    // The period starts just after the deployment was logged (log time, from the index).
    const search = (await (await fetch(`${server!.url}/v1/search?model=fraud`)).json()) as { results: { index: number; time: string }[] };
    const times = search.results.map((r) => Date.parse(r.time));
    expect(times[1]! > times[0]!).toBe(true);
    const since = new Date(times[0]! + 1).toISOString();

    const pack = p('pack');
    const exported = await candor(['export', '--model', 'fraud', '--env', 'prod', '--since', since, '--out', pack,
      '--policy', p('policy.txt'), '--submitters', p('submitters.json'), ...url]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^wrote evidence pack .*: 4 records \(3 matching model fraud in environment prod, 1 more: approvals and approved changes outside the query\)\n {2}proven in evidence\.example\/log at tree size \d+ \(cosigned by w1\)/);
    const files = await listFiles(pack);
    expect(files).toEqual([
      'checkpoint.txt', 'consistency-proof.json', 'latest-checkpoint.txt', 'manifest.json', 'policy.txt',
      ...[0, 1, 2, 4].flatMap((i) => [`records/entry-0000000${i}.dsse.json`, `records/entry-0000000${i}.tlog-proof`]),
      'report.html', 'report.md', 'submitters.json',
    ]);
    const md = await readFile(join(pack, 'report.md'), 'utf8');
    expect(md).toMatch(/### .* · entry 2 · safety-config · `fraud` · `prod`\n\n- In this pack because: it matches the query\n/);
    expect(md).toContain('Reason: Fewer false refusals \\<b\\>now\\</b\\>');
    expect(md).toContain('`~ guardrail.toxicity_threshold: "0.85" -> "0.80" (decreased)`');
    expect(await readFile(join(pack, 'report.html'), 'utf8')).toContain('Reason: Fewer false refusals &lt;b&gt;now&lt;/b&gt;');

    // The auditor's own copy of the policy (same keys, written their way): verified, and said so.
    const policy = await readFile(p('policy.txt'), 'utf8');
    await writeFile(p('auditor-policy.txt'), `# the auditor's copy\n${policy.replace(/ http:\S+/, '')}`);
    const ok = await candor(['verify-export', pack, '--policy', p('auditor-policy.txt')]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: evidence pack .* verified offline\n/);
    expect(ok.stdout).toMatch(/cosigned by w1 \(your policy\)/);
    expect(ok.stdout).toMatch(/note: your policy differs from the pack's policy\.txt/);
    const json = await candor(['verify-export', pack, '--policy', p('policy.txt'), '--submitters', p('submitters.json'), '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, exitCode: 0, allowlist: 'yours', notes: [] });
    // A policy that wants a witness this log does not have: exit 5.
    await writeFile(p('strict-policy.txt'), `${policy.replace('quorum w1\n', '')}witness w9 ${generateSignerKey('w9.example').verifierKey}\ngroup both all w1 w9\nquorum both\n`);
    const strict = await candor(['verify-export', pack, '--policy', p('strict-policy.txt')]);
    expect(strict.code).toBe(5);
    expect(strict.stderr).toMatch(/FAILED \(QUORUM_NOT_MET\): checkpoint\.txt: /);

    // One byte changed anywhere: verify-export fails, naming the file or its record.
    const cases = files.flatMap((file) => [0, 0.5, 1].map((at) => ({ file, at })));
    const results = await pool(cases, 8, async ({ file, at }) => {
      const copy = p(`flip-${file.replace(/\W/g, '_')}-${at}`);
      await cp(pack, copy, { recursive: true });
      const bytes = await readFile(join(copy, file));
      const i = Math.min(bytes.length - 1, Math.floor(at * bytes.length));
      bytes[i] = bytes[i]! ^ 1;
      await writeFile(join(copy, file), bytes);
      const r = await candor(['verify-export', copy, '--policy', p('policy.txt')]);
      await rm(copy, { recursive: true, force: true });
      return { file, i, ...r };
    });
    for (const r of results) {
      const what = `${r.file} byte ${r.i}: exit ${r.code}: ${r.stderr}`;
      expect(r.code >= 3 && r.code <= 9, what).toBe(true);
      expect(r.stdout, what).toBe('');
      const entry = /entry-0*(\d+)\./.exec(r.file)?.[1];
      const named = r.stderr.includes(r.file) || (entry !== undefined && r.stderr.includes(`entry ${entry} (`));
      expect(named, what).toBe(true);
    }
    expect(results).toHaveLength(files.length * 3);
  }, 60_000);
});
