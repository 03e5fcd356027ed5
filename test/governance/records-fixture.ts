/**
 * An in-process log with the record API: createApp over a MemoryStore log
 * (test/helpers/test-log.ts), registerRecords with a RecordIndex in memory, a clock the
 * test moves (checkpoint timestamps, hence the records' log time), and GovernanceIo whose
 * fetch goes straight into the app. Plus builders for signed records.
 */
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import { registerRecords } from '../../src/server/records.js';
import type { Log } from '../../src/log/log.js';
import type { LogStore } from '../../src/storage/store.js';
import { nodeIo, type GovernanceIo } from '../../src/cli/governance-io.js';
import { snapshotConfig } from '../../src/governance/config-snapshot.js';
import { parsePrivateKey, type SigningKey } from '../../src/governance/keys.js';
import type { GovernancePredicate } from '../../src/governance/predicate.js';
import { approvalFor, buildStatement, signStatement } from '../../src/governance/record.js';
import { parseSubmitters, type SubmitterList } from '../../src/governance/submitters.js';
import { MemoryKv } from '../../src/search/kv.js';
import { RecordIndex } from '../../src/search/record-index.js';
import { utf8 } from '../../src/util/bytes.js';
import { TEST_VERIFIER_KEY, openTestLog } from '../helpers/test-log.js';
import { KEYS, ed25519Pem } from './helpers.js';

export const LOG_URL = 'http://log.test';
/** A policy trusting the test log alone. */
export const POLICY = `log ${TEST_VERIFIER_KEY} ${LOG_URL}\nquorum none\n`;
/** 2026-03-03T12:00:00Z */
export const T0 = Date.UTC(2026, 2, 3, 12, 0, 0);

/** alice engineer, bob approver, ci (staging, prod-eu-*), dave engineer AND approver. */
export const RKEYS: Record<'alice' | 'bob' | 'ci' | 'dave' | 'mallory', SigningKey> = {
  ...KEYS,
  dave: parsePrivateKey(ed25519Pem('22'.repeat(32))),
};

const spki = (k: SigningKey): string => Buffer.from(k.publicKey.spki).toString('base64');

/** The allowlist file for RKEYS (mallory is not on it), with `extra` entries. */
export function recordsAllowlist(extra: object[] = []): string {
  return JSON.stringify({
    submitters: [
      { name: 'alice', roles: ['engineer'], publicKey: spki(RKEYS.alice) },
      { name: 'bob', roles: ['approver'], publicKey: spki(RKEYS.bob) },
      { name: 'release-ci', roles: ['ci'], environments: ['staging', 'prod-eu-*'], publicKey: spki(RKEYS.ci) },
      { name: 'dave', roles: ['engineer', 'approver'], publicKey: spki(RKEYS.dave) },
      ...extra,
    ],
  });
}

/** A signed record's canonical envelope. */
export function signed(predicate: GovernancePredicate, key: SigningKey): Uint8Array {
  return signStatement(buildStatement(predicate), key.signer()).entry;
}

/** A deployment predicate (sha256 digests given as hex). */
export function deployment(
  model: string,
  env: string,
  digest: string,
  extra: Partial<GovernancePredicate> = {}
): GovernancePredicate {
  return { changeType: 'deployment', model: { id: model, digest: { sha256: digest } }, environment: env, reason: `deploy ${model}`, ...extra };
}

/** A safety-config predicate with the snapshot of `configJson`. */
export function safetyConfig(model: string, env: string, configJson: string, extra: Partial<GovernancePredicate> = {}): GovernancePredicate {
  return {
    changeType: 'safety-config',
    model: { id: model },
    config: snapshotConfig(utf8(configJson)),
    environment: env,
    reason: 'tune guardrails',
    ...extra,
  };
}

/** The approval of the change logged as `entry` at `index`. */
export function approval(
  change: GovernancePredicate,
  entry: Uint8Array,
  index: number,
  key: SigningKey,
  decision: 'approve' | 'reject' = 'approve'
): Uint8Array {
  const envelopeDigest = createHash('sha256').update(entry).digest('hex');
  return signed(approvalFor(change, { envelopeDigest, entry: index }, { decision, reason: 'reviewed' }), key);
}

/** A running in-process log with the record API. */
export interface RecordsFixture {
  app: Hono;
  log: Log;
  store: LogStore;
  index: RecordIndex;
  kv: MemoryKv;
  /** The allowlist in force; assign to change it. */
  list: SubmitterList;
  /** The log's clock, in ms; records logged now get this time. */
  clock: { now: number };
  /** POSTs an envelope to /v1/records. */
  post(body: Uint8Array | string, query?: string): Promise<Response>;
  /** POSTs and expects a 200; returns the answer. */
  submit(body: Uint8Array): Promise<{ index: number; duplicate: boolean; record: Record<string, unknown> }>;
  /** GovernanceIo writing into `out`/`err` and fetching from the app. */
  io(sink: { out: string; err: string }, fetch?: GovernanceIo['fetch']): GovernanceIo;
  /** The app's fetch, for wrapping. */
  fetch: GovernanceIo['fetch'];
}

/** Starts a fixture (see the module comment). */
export async function startRecordsFixture(): Promise<RecordsFixture> {
  const clock = { now: T0 };
  const { log, store } = await openTestLog(undefined, { now: () => clock.now });
  const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
  const kv = new MemoryKv();
  const f = { list: parseSubmitters(utf8(recordsAllowlist())) } as RecordsFixture;
  const index = await RecordIndex.open({ kv, store, size: () => log.size, submitters: () => f.list });
  registerRecords(app, { submitters: () => f.list, index });
  const fetch: GovernanceIo['fetch'] = async (url, init) => app.fetch(new Request(url, init));
  Object.assign(f, {
    app,
    log,
    store,
    index,
    kv,
    clock,
    fetch,
    post: (body: Uint8Array | string, query = '') =>
      app.request(`/v1/records${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body as BodyInit,
      }),
    submit: async (body: Uint8Array) => {
      const res = await f.post(body);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      return (await res.json()) as { index: number; duplicate: boolean; record: Record<string, unknown> };
    },
    io: (sink: { out: string; err: string }, fetchFn = fetch): GovernanceIo => ({
      ...nodeIo,
      out: (t) => void (sink.out += t),
      err: (t) => void (sink.err += t),
      env: (name) => (name === 'CANDOR_URL' ? LOG_URL : undefined),
      fetch: fetchFn,
      now: () => clock.now,
      sleep: () => Promise.resolve(),
    }),
  });
  return f;
}
