/**
 * The record API: governance records (DSSE envelopes of in-toto statements, see
 * docs/governance.md) checked against the submitter allowlist before they are logged, and
 * search over the records in the log.
 *
 *   POST /v1/records[?wait=witnessed]  a DSSE envelope (JSON) -> the receipt of
 *                                      POST /v1/entries for its canonical form, plus
 *                                      `record: {envelopeDigest, …}`, once indexed
 *   GET  /v1/search?…                  records by model, environment, change type,
 *                                      subject digest, signer, time (src/search/query.ts)
 *   GET  /v1/records/<index>           one record as search presents it
 *
 * Search and record answers carry `attributed` (src/search/attribution.ts): entries logged
 * through /v1/entries are indexed too, and those no allowlisted submitter may have made
 * are `attributed: false`, with why in `unattributed`, and never approved.
 *
 * A submission is checked with verifyRecord (src/governance/verify-record.ts) against the
 * keys in force now (a key retired with `until` signs nothing new); a refusal
 * (TOO_LARGE, MALFORMED, UNSIGNED, UNKNOWN_KEY, BAD_SIGNATURE, FORBIDDEN) is answered
 * before anything is logged. What is logged is the canonical envelope, through the app's
 * own `POST /v1/entries` route, so the receipt, the `?wait=witnessed` handling and their
 * errors (503 PUSHBACK, 504 TIMEOUT naming the durable index) are exactly those of
 * /v1/entries. Then the submission waits (at most `indexWaitMs`) for the record index to
 * cover the entry, so a search right after the answer finds it.
 *
 * Without an allowlist (`candor serve` without `--submitters FILE`) the routes answer 404
 * NOT_FOUND saying so: the log then takes no records.
 *
 * startRecords is the serve-side wiring: the allowlist file (reloaded on SIGHUP and when
 * the file changes), the record index in `DATA/index/` (caught up on start, rebuilt with
 * `--reindex`, polled for entries logged through /v1/entries) and the routes.
 */
import { join } from 'node:path';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_ENVELOPE_SIZE } from '../governance/dsse.js';
import { SubmitterRegistry, keysInForce, type SubmitterList } from '../governance/submitters.js';
import { verifyRecord } from '../governance/verify-record.js';
import { LevelKv } from '../search/kv.js';
import { parseSearchParams } from '../search/query.js';
import { RecordIndex, type IndexSource } from '../search/record-index.js';
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { errorBody } from './errors.js';
import { INTERNAL_WRITE_ENV } from './tokens.js';

/** What the record routes need; without `submitters` and `index` they answer 404. */
export interface RecordsDeps {
  /** The allowlist in force (read once per request). */
  submitters?: (() => SubmitterList) | undefined;
  index?: RecordIndex | undefined;
  /** Longest a submission waits for the index after logging, in ms (default 5000). */
  indexWaitMs?: number;
  warn?: (line: string) => void;
}

const DISABLED =
  'this log takes no governance records: start candor serve with --submitters FILE';

/**
 * Registers POST /v1/records, GET /v1/search and GET /v1/records/<index> (and 405 for
 * other methods) on the app createApp built. Call it before the app serves its first
 * request. Errors are thrown as LogErrors for the app's onError handler.
 * @example
 * const app = createApp({ log, verifierKey });
 * registerRecords(app, { submitters: () => registry.current, index });
 */
export function registerRecords(app: Hono, deps: RecordsDeps): void {
  const enabled = (): { submitters: () => SubmitterList; index: RecordIndex } => {
    if (deps.submitters === undefined || deps.index === undefined) {
      throw new LogError('NOT_FOUND', DISABLED);
    }
    return { submitters: deps.submitters, index: deps.index };
  };
  const warn = deps.warn ?? ((line: string) => console.error(`candor: ${line}`));

  const limit = bodyLimit({
    maxSize: MAX_ENVELOPE_SIZE,
    onError: () => {
      throw new LogError('TOO_LARGE', `a record envelope must be at most ${MAX_ENVELOPE_SIZE} bytes`);
    },
  });
  app.post('/v1/records', limit, async (c) => {
    const { submitters, index } = enabled();
    // Keys retired (`until`) before now sign nothing new.
    const inForce = keysInForce(submitters(), Date.now());
    const record = verifyRecord(new Uint8Array(await c.req.arrayBuffer()), inForce);
    // Logged through the app's own /v1/entries route: one receipt and wait implementation.
    // Already authorized as a record (tokens.ts), so marked as the server's own write.
    const wait = c.req.query('wait');
    const path = wait === undefined ? '/v1/entries' : `/v1/entries?wait=${encodeURIComponent(wait)}`;
    const res = await app.request(path, { method: 'POST', body: record.entry as BodyInit }, INTERNAL_WRITE_ENV);
    if (res.status !== 200) return res;
    const receipt = (await res.json()) as { index: number };
    const indexed = await waitIndexed(index, receipt.index + 1, deps.indexWaitMs ?? 5000, warn);
    const p = record.predicate;
    return c.json({
      ...receipt,
      record: {
        envelopeDigest: record.envelopeDigest,
        payloadDigest: record.payloadDigest,
        predicateType: record.statement.predicateType,
        changeType: p?.changeType ?? null,
        model: p?.model?.id ?? null,
        env: p?.environment ?? null,
        signer: record.signer.name,
        keyid: record.keyid,
        indexed,
      },
    });
  });

  app.get('/v1/search', async (c) => {
    const { index } = enabled();
    const query = parseSearchParams(new URL(c.req.url).searchParams);
    c.header('Cache-Control', 'no-store');
    return c.json(await index.search(query));
  });

  app.get('/v1/records/:index', async (c) => {
    const { index } = enabled();
    const at = parseDecimal(c.req.param('index'), 'index');
    const rec = await index.record(at);
    if (rec === undefined) {
      const why = at < index.indexedSize ? 'is not a record' : 'is not indexed (yet)';
      throw new LogError('NOT_FOUND', `entry ${at} ${why}`);
    }
    c.header('Cache-Control', 'no-store');
    return c.json(rec);
  });

  for (const [path, allow] of [
    ['/v1/records', 'POST'],
    ['/v1/search', 'GET'],
    ['/v1/records/:index', 'GET'],
  ] as const) {
    app.all(path, (c) => {
      c.header('Allow', allow === 'GET' ? 'GET, HEAD' : allow);
      const why = `${c.req.method} is not allowed here; use ${allow}`;
      return c.json(errorBody('METHOD_NOT_ALLOWED', why), 405);
    });
  }
}

/** Waits for the index to cover `size`, at most `ms`; false when it did not (warned). */
async function waitIndexed(
  index: RecordIndex,
  size: number,
  ms: number,
  warn: (line: string) => void
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([index.waitFor(size).then(() => true as const), late]);
  } catch (err) {
    warn(`record index: entry ${size - 1} is logged but not indexed: ${(err as Error).message}`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** The serve-side configuration of the record API. */
export interface RecordsConfig {
  /** The allowlist file (`--submitters FILE`); without it the record API is off. */
  submittersFile?: string | undefined;
  /** Rebuild the index from the log before serving (`--reindex`). */
  reindex?: boolean | undefined;
  /** How often the index looks for entries logged through /v1/entries, ms (default 250). */
  indexPollMs?: number;
  /** How often the allowlist file's status is polled, ms (default 1000). */
  watchIntervalMs?: number;
  /** Reload the allowlist on SIGHUP (default true). */
  sighup?: boolean;
  say?: (line: string) => void;
  warn?: (line: string) => void;
}

/** The running record API (see startRecords). */
export interface RunningRecords {
  /** Present when the record API is on. */
  index: RecordIndex | undefined;
  registry: SubmitterRegistry | undefined;
  /** Stops reloading and polling, indexes what is logged, closes the index. */
  close(): Promise<void>;
}

/**
 * Starts the record API on `app` (before it serves): loads the allowlist, opens the record
 * index in `DATA/index/` and catches it up with the log (or rebuilds it with `reindex`),
 * and registers the routes. Without `submittersFile` it registers the routes only, which
 * answer 404 (the log takes no records).
 * @throws LogError MALFORMED / TOO_LARGE for a bad allowlist file; file system errors; an
 *   Error when the index is locked by another process.
 * @example
 * const records = await startRecords({ submittersFile }, { log, store, app, dataDir });
 * // … serve …
 * await records.close(); // after the log drained, before the store closes
 */
export async function startRecords(
  config: RecordsConfig,
  deps: { log: { readonly size: number }; store: IndexSource; app: Hono; dataDir: string }
): Promise<RunningRecords> {
  const say = config.say ?? (() => {});
  const warn = config.warn ?? ((line: string) => console.error(`candor: ${line}`));
  const file = config.submittersFile;
  if (file === undefined) {
    registerRecords(deps.app, { warn });
    return { index: undefined, registry: undefined, close: async () => {} };
  }
  let registry: SubmitterRegistry;
  try {
    registry = await SubmitterRegistry.open(file);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new LogError(
      e instanceof LogError ? e.code : 'MALFORMED',
      `--submitters ${file}: ${e.message}`,
      { cause: err }
    );
  }
  const kv = await LevelKv.open(join(deps.dataDir, 'index'));
  let index: RecordIndex;
  try {
    index = await RecordIndex.open({
      kv,
      store: deps.store,
      size: () => deps.log.size,
      submitters: () => registry.current,
      warn,
    });
    if (config.reindex === true) {
      say(`rebuilding the record index from ${deps.log.size} entries`);
      await index.rebuild();
    } else {
      const behind = deps.log.size - index.indexedSize;
      if (behind > 0) say(`record index: catching up with ${behind} entries`);
      await index.catchUp();
    }
  } catch (err) {
    await kv.close();
    throw err;
  }
  const count = (): number => registry.current.submitters.length;
  say(`records: ${count()} submitter keys from ${file}; record index covers ${index.indexedSize} entries`);
  const reloaded = (r: { changed: boolean; count: number }): void => {
    if (r.changed) say(`records: reloaded ${file}: ${r.count} submitter keys`);
  };
  const failed = (err: unknown): void =>
    warn(`records: ${file} not reloaded, the previous list stays in force: ${(err as Error).message}`);
  registry.watch({ intervalMs: config.watchIntervalMs ?? 1000, onReload: reloaded, onError: failed });
  const onHup = (): void => void registry.reload().then(reloaded, failed);
  if (config.sighup !== false) process.on('SIGHUP', onHup);
  index.startPolling(config.indexPollMs ?? 250);
  registerRecords(deps.app, { submitters: () => registry.current, index, warn });
  let closing: Promise<void> | undefined;
  return {
    index,
    registry,
    close: () =>
      (closing ??= (async () => {
        process.off('SIGHUP', onHup);
        registry.close();
        await index.close();
      })()),
  };
}
