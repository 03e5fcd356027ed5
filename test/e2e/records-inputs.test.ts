/**
 * Issue 11, items 17 and 18, with the real `candor serve --submitters`, `candor record`,
 * `approve` and `history` processes: `approve` refusing an approval exits 3 (refused, as
 * `record`'s refusals), not 1 (an unreachable log); and a model update's training data is
 * in `history` (text and --json) and `GET /v1/records/N`, and `trainedOn=` (`candor
 * history --trained-on`) answers which models were trained on a dataset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import { recordsAllowlist } from '../governance/records-fixture.js';
import { RFC8032, dssePrivatePem, ed25519Pem } from '../governance/helpers.js';

const sha256 = (b: string): string => createHash('sha256').update(b).digest('hex');
const DATA = sha256('the training shards');
const OTHER = sha256('other shards');

describe('approve refusals and training data (real commands)', () => {
  let dir = '';
  let server: ServerProcess | undefined;
  const p = (name: string): string => join(dir, name);
  const candor = (...args: string[]): Promise<CliResult> => runCandor([...args, '--url', server!.url]);
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${server!.url}${path}`)).json()) as T;
  const search = async (q: string): Promise<number[]> =>
    (await get<{ results: { index: number }[] }>(`/v1/search?${q}`)).results.map((r) => r.index);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-inputs-e2e-'));
    await writeFile(p('alice.pem'), ed25519Pem(RFC8032.A.seed));
    await writeFile(p('bob.pem'), dssePrivatePem());
    await writeFile(p('submitters.json'), recordsAllowlist());
    server = await startServerProcess(p('data'), ['--origin', 'inputs.example/log', '--submitters', p('submitters.json')]);
    const record = async (...args: string[]): Promise<void> => {
      const r = await candor('record', ...args, '--key', p('alice.pem'), '--wait', '--timeout', '10');
      expect(r.stderr).toMatch(/logged as entry/);
      expect(r.code).toBe(0);
    };
    // 0: the dataset; 1: fraud trained on it (and another); 2: chat trained on another only.
    await record('dataset', '--reason', 'Q3 shards', '--dataset', `s3://shards/q3=sha256:${DATA}`);
    await record(
      'model-update', '--model', 'fraud', '--model-digest', `sha256:${sha256('fraud weights')}`, '--reason', 'Q3 retrain',
      '--dataset', `s3://shards/q3=sha256:${DATA}`, '--dataset', `s3://shards/extra=sha256:${OTHER}`
    );
    await record(
      'model-update', '--model', 'chat', '--model-digest', `sha256:${sha256('chat weights')}`, '--reason', 'tune',
      '--dataset', `s3://shards/extra=sha256:${OTHER}`
    );
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('approve: a self-approval and an approval of an approval are refused with exit 3', async () => {
    const self = await candor('approve', '--entry', '1', '--key', p('alice.pem'));
    expect(self.stderr).toMatch(/entry cannot be approved: your key signed this change/);
    expect(self.code).toBe(3);
    const ok = await candor('approve', '--entry', '1', '--key', p('bob.pem'), '--reason', 'evals ok', '--wait');
    expect(ok.code).toBe(0);
    const approval = (JSON.parse(ok.stdout) as { index: number }).index;
    const again = await candor('approve', '--entry', String(approval), '--key', p('bob.pem'));
    expect(again.stderr).toMatch(/it is itself an approval/);
    expect(again.code).toBe(3);
    // Not a refusal: a log that cannot be reached stays exit 1.
    const down = await runCandor(['approve', '--entry', '1', '--key', p('bob.pem'), '--url', 'http://127.0.0.1:9', '--timeout', '2']);
    expect(down.code).toBe(1);
  });

  it('history and GET /v1/records/N show the training data digests', async () => {
    const text = await candor('history', '--model', 'fraud');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`    training data: s3://shards/q3 sha256:${DATA}\n    training data: s3://shards/extra sha256:${OTHER}\n`);
    const json = await candor('history', '--model', 'fraud', '--json');
    const records = (JSON.parse(json.stdout) as { records: { index: number; trainingData?: unknown }[] }).records;
    expect(records.find((r) => r.index === 1)?.trainingData).toEqual([
      { uri: 's3://shards/q3', digest: { sha256: DATA } },
      { uri: 's3://shards/extra', digest: { sha256: OTHER } },
    ]);
    const one = await get<{ trainingData: unknown; trainingDataCount: number }>('/v1/records/1');
    expect(one.trainingData).toEqual(records.find((r) => r.index === 1)?.trainingData);
    expect(one.trainingDataCount).toBe(2);
  });

  it('trainedOn= and history --trained-on answer which models were trained on a dataset', async () => {
    // subject= keeps its meaning (the statement's subjects): only the dataset record.
    expect(await search(`subject=sha256:${DATA}`)).toEqual([0]);
    expect(await search(`trainedOn=sha256:${DATA}`)).toEqual([0, 1]);
    expect(await search(`trainedOn=${DATA}&changeType=model-update`)).toEqual([1]);
    expect(await search(`trainedOn=sha256:${OTHER}`)).toEqual([1, 2]);
    expect(await search(`trainedOn=sha256:${OTHER}&model=chat`)).toEqual([2]);
    const bad = await fetch(`${server!.url}/v1/search?trainedOn=sha256:xyz`);
    expect(bad.status).toBe(400);

    const h = await candor('history', '--trained-on', `sha256:${DATA}`);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^records trained on sha256:[0-9a-f]{64}: 2 changes, 0 approval records/);
    expect(h.stdout).toMatch(/entry 0 {2}dataset\n/);
    expect(h.stdout).toMatch(/entry 1 {2}model-update\n[\s\S]*model: fraud [\s\S]*approvals: APPROVED/);
    expect(h.stdout).not.toMatch(/entry 2 /);
    const j = JSON.parse((await candor('history', '--trained-on', `sha256:${DATA}`, '--json')).stdout) as { trainedOn: string; records: { model: string | null }[] };
    expect(j.trainedOn).toBe(`sha256:${DATA}`);
    expect(j.records.map((r) => r.model)).toEqual([null, 'fraud']);
    const none = await candor('history', '--trained-on', `sha256:${sha256('never used')}`);
    expect(none.stderr).toMatch(/nothing is logged trained on sha256:/);
    expect(none.code).toBe(3);
    expect((await candor('history')).code).toBe(2);
  });
});
