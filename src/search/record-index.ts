/**
 * The record index: search over the governance records in a log, kept OUTSIDE the log's
 * core, in a key-value store of its own (a LevelDB in `DATA/index/`, kv.ts), and
 * rebuildable from the log at any time.
 *
 * It remembers "indexed up to size N" (the marker) and catches up by reading entries
 * [N, size) from the log's store, reading each with parseRecord (entries that are not
 * records are skipped, never errors), and writing, in ONE batch per step together with
 * the new marker, the keys below. The marker and the keys therefore never disagree: after
 * a crash the index resumes from its marker and rewrites what it had not committed. It
 * is caught up right after a record is logged (POST /v1/records waits for it) and by a
 * poll of the log's size for entries logged otherwise. Writes are not fsynced: losing
 * the tail of the index only means catching up again.
 *
 * Whether a record is attributed, and to whom, is decided when it is indexed, by
 * attributeRecord (attribution.ts) under the allowlist in force, at the record's
 * integration time (a key retired with `until` keeps what it signed before). The log also
 * takes raw entries on /v1/entries, which nobody checked: such an entry is indexed like
 * any record, but with `attributed: false` and why (`unattributed`); it is searchable and
 * shown marked, it is never approved and as an approval it never counts. The signer's
 * roles and environments are stored as the allowlist said then. The index remembers
 * which allowlist judged its records (`~allowlist`, the file's SHA-256): when the list in
 * force is another (reloaded, or changed while the server was down), the next catch-up
 * first judges every indexed record again under it (reading each record's entry, one
 * batch per chunk, the marker written last, so a crash only means judging again), and
 * searches answer under the new list as soon as each chunk is written. So a key removed
 * from the list withdraws the attribution of what it signed, and a key retired with
 * `until` keeps what the log integrated before then.
 *
 * When was it logged: `time` is the timestamp of the first checkpoint that included the
 * entry (the log's integration time, not the submitter's `createdAt` claim).
 *
 * Key layout (strings; `␀` is the NUL separator, values in keys are percent-encoded,
 * indices are 16 zero-padded digits so that key order is log order):
 *
 * | key                                  | value                                 |
 * |--------------------------------------|---------------------------------------|
 * | `~format`, `~indexed`                | format version; {size, root} marker   |
 * | `~allowlist`                         | SHA-256 of the allowlist that judged  |
 * | `r␀<index>`                          | the record's summary (IndexedRecord)  |
 * | `d␀<envelope sha256>`                | its index                             |
 * | `s␀<alg:digest>␀<index>`             | every subject digest                  |
 * | `i␀<alg:digest>␀<index>`             | every training-data digest (trainedOn) |
 * | `m␀<model>␀<index>`                  | model id                              |
 * | `M␀<model>␀<env>␀<index>`            | model id and environment together     |
 * | `e␀<env>␀<index>`                    | environment                           |
 * | `c␀<changeType>␀<index>`             | change type                           |
 * | `p␀<predicateType>␀<index>`          | predicate type                        |
 * | `g␀<signer name or keyid>␀<index>`   | signer, by name and by keyid          |
 * | `t␀<ms since epoch>␀<index>`         | integration time                      |
 * | `a␀<approved envelope sha256>␀<index>` | an approval → the change it approves |
 */
import { createHash } from 'node:crypto';
import type { LogStore } from '../storage/store.js';
import { LogError, isLogError } from '../util/errors.js';
import { toBase64 } from '../util/bytes.js';
import type { DigestSet, Subject } from '../governance/intoto.js';
import type { ChangeType } from '../governance/predicate-types.js';
import type { SubmitterList } from '../governance/submitters.js';
import { parseRecord, type ParsedRecord } from '../governance/verify-record.js';
import { attributeRecord } from './attribution.js';
import { evaluateApprovals, type ApprovalVerdict, type SignerInfo } from './approvals.js';
import type { IndexKv, KvOp } from './kv.js';
import type { SearchQuery } from './query.js';

/** What the index stores about one record. */
export interface IndexedRecord {
  index: number;
  predicateType: string;
  /** Null for statements with another predicate type. */
  changeType: ChangeType | null;
  model: string | null;
  modelVersion?: string;
  modelDigest?: DigestSet;
  env: string | null;
  configDigest?: DigestSet;
  /** Whether it counts as a governance statement by `signer` (attributeRecord). */
  attributed: boolean;
  /** Who signed it (attributeRecord); null when no key of the allowlist in force did. */
  signer: SignerInfo | null;
  /** Why it is not attributed (a code as verifyRecord refuses, and the reason). */
  unattributed?: string;
  /** When the log integrated it (RFC 3339, milliseconds). */
  time: string;
  /** The submitter's claimed time, if any. */
  createdAt?: string;
  /** Hex SHA-256 of the entry bytes. */
  envelopeDigest: string;
  /** Hex SHA-256 of the statement bytes. */
  payloadDigest: string;
  /** The statement's subjects (the first MAX_STORED_SUBJECTS; all are searchable). */
  subjects: { name?: string; digest: DigestSet }[];
  subjectCount: number;
  /**
   * The predicate's training data (the first MAX_STORED_SUBJECTS; `trainedOn=` finds the
   * record by any of their digests): what a model update was trained on, or what a
   * dataset record declares.
   */
  trainingData?: { uri: string; name?: string; digest: DigestSet }[];
  trainingDataCount?: number;
  reason?: string;
  ticket?: string;
  author?: string;
  preDetermined?: boolean;
  /** Approvals only: what they approve. */
  approves?: { envelopeDigest: string; decision: 'approve' | 'reject'; entry?: number };
}

/** A search result: the record, and for a change its approvals; for an approval, the change. */
export interface SearchResult extends Omit<IndexedRecord, 'approves'> {
  /** Changes: their approvals, each with whether it counts (approvals.ts). */
  approvals?: ApprovalVerdict[];
  /** Changes: whether the approvals make it approved. */
  approved?: boolean;
  /** Approvals: what they approve; `index` is the change's, when logged. */
  approves?: IndexedRecord['approves'] & { index: number | null };
}

/** One page of results. */
export interface SearchPage {
  results: SearchResult[];
  /** The cursor of the next page; absent on the last. */
  next?: string;
  /** The log size the index covered when answering. */
  indexedSize: number;
}

/** What the index reads from the log's store. */
export type IndexSource = Pick<LogStore, 'readEntries' | 'readCheckpoint'>;

/** Options of RecordIndex.open. */
export interface RecordIndexOptions {
  kv: IndexKv;
  store: IndexSource;
  /** The log's committed size (entries [0, size) are readable). */
  size: () => number;
  /** The allowlist to attribute signers with; undefined: none (every signer null). */
  submitters: () => SubmitterList | undefined;
  /** Operational warnings. */
  warn?: (line: string) => void;
  /** Entries read and indexed per step (one batch each); default 1024. */
  chunk?: number;
}

/**
 * Bumped when the key layout or the summary changes: an older index is rebuilt.
 * 3: training data in the summary and the `i` keys.
 */
const FORMAT = '3';
const SEP = '\x00';
const MAX_STORED_SUBJECTS = 16;
/** Most keys one search looks at before answering a (possibly short) page with `next`. */
const MAX_SCAN = 20_000;
/** Most approvals listed per change. */
const MAX_APPROVALS = 100;
/** Most checkpoints probed to date one entry (a batch of the log is at most this large). */
const MAX_PROBE = 8192;

const pad = (i: number): string => i.toString().padStart(16, '0');
const enc = (s: string): string => encodeURIComponent(s);
const key = (prefix: string, ...parts: string[]): string => [prefix, ...parts.map(enc)].join(SEP);
const indexOfKey = (k: string): number => Number(k.slice(k.lastIndexOf(SEP) + 1));
const recordKey = (i: number): string => `r${SEP}${pad(i)}`;
const digestKey = (hex: string): string => `d${SEP}${hex}`;
const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** An index of the records in one log (see the module comment). */
export class RecordIndex {
  private indexed: number;
  private wanted: number;
  private loop: Promise<void> | undefined;
  private closed = false;
  private poller: ReturnType<typeof setInterval> | undefined;
  private lastWarning = '';
  private dated: { lo: number; hi: number; ms: number } | undefined;
  private counted = 0;
  /** The digest of the allowlist the indexed records were judged under ('' for none). */
  private judgedWith: string | undefined;

  private constructor(
    private readonly opts: RecordIndexOptions,
    indexed: number,
    judgedWith: string | undefined
  ) {
    this.indexed = indexed;
    this.wanted = indexed;
    this.judgedWith = judgedWith;
  }

  /**
   * Opens the index over `opts.kv`. An index of another format, or ahead of the log, or
   * made for another log (its marker's root differs from the log's checkpoint at that
   * size), is cleared and will be rebuilt by the next catch-up. Does not catch up.
   */
  static async open(opts: RecordIndexOptions): Promise<RecordIndex> {
    const { kv, store } = opts;
    const [format, markerText, judgedWith] = await kv.getMany(['~format', '~indexed', '~allowlist']);
    let size = 0;
    let valid = format === FORMAT;
    if (valid && markerText !== undefined) {
      const marker = JSON.parse(markerText) as { size: number; root?: string };
      size = marker.size;
      if (size > opts.size()) valid = false;
      else if (marker.root !== undefined && size > 0) {
        const cp = await store.readCheckpoint(size);
        if (cp !== undefined && toBase64(cp.rootHash) !== marker.root) valid = false;
      }
    }
    if (!valid && (format !== undefined || markerText !== undefined)) {
      opts.warn?.('the record index does not match this log (or is of an older format): rebuilding it');
    }
    if (!valid) {
      await kv.clear();
      await kv.batch([{ type: 'put', key: '~format', value: FORMAT }]);
      return new RecordIndex(opts, 0, digestOf(opts.submitters()));
    }
    return new RecordIndex(opts, size, size === 0 ? digestOf(opts.submitters()) : judgedWith);
  }

  /** Records indexed since open (or the last rebuild). */
  get recordsIndexed(): number {
    return this.counted;
  }

  /** The log size the index covers: entries [0, indexedSize) are indexed. */
  get indexedSize(): number {
    return this.indexed;
  }

  /**
   * Indexes every entry up to the log's current size. Concurrent calls share the work.
   * @throws the store's errors (the index stays at its last committed step).
   */
  async catchUp(): Promise<void> {
    const target = this.opts.size();
    while (this.indexed < target || this.allowlistChanged()) {
      if (this.closed) throw new LogError('CLOSED', 'the record index is closed');
      this.wanted = Math.max(this.wanted, target);
      this.loop ??= this.run().finally(() => {
        this.loop = undefined;
      });
      await this.loop;
    }
  }

  /**
   * Resolves once entries [0, size) are indexed, catching up as needed.
   * @throws LogError NOT_FOUND when the log is smaller than `size`; the store's errors.
   */
  async waitFor(size: number): Promise<void> {
    if (this.indexed >= size) return;
    if (this.opts.size() < size) {
      throw new LogError('NOT_FOUND', `the log has fewer than ${size} entries`);
    }
    await this.catchUp();
  }

  /** Forgets everything and indexes the whole log again. */
  async rebuild(): Promise<void> {
    await this.loop?.catch(() => {});
    await this.opts.kv.clear();
    await this.opts.kv.batch([{ type: 'put', key: '~format', value: FORMAT }]);
    this.indexed = 0;
    this.wanted = 0;
    this.dated = undefined;
    this.counted = 0;
    this.judgedWith = digestOf(this.opts.submitters());
    await this.catchUp();
  }

  /**
   * Catches up every `ms` milliseconds when the log has grown (entries logged through
   * /v1/entries); failures are reported through `warn`, once per distinct message.
   */
  startPolling(ms: number): void {
    if (this.poller !== undefined) return;
    this.poller = setInterval(() => {
      if (this.closed || this.loop !== undefined) return;
      if (this.opts.size() <= this.indexed && !this.allowlistChanged()) return;
      this.catchUp().then(
        () => (this.lastWarning = ''),
        (err: unknown) => this.warnOnce(`record index: cannot catch up: ${(err as Error).message}`)
      );
    }, ms);
    this.poller.unref();
  }

  /** Stops polling, indexes what the log holds now (best effort), and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
    try {
      await this.catchUp();
    } catch (err) {
      this.warnOnce(`record index: not caught up at close: ${(err as Error).message}`);
    }
    this.closed = true;
    await this.loop?.catch(() => {});
    await this.opts.kv.close();
  }

  private warnOnce(line: string): void {
    if (line === this.lastWarning) return;
    this.lastWarning = line;
    this.opts.warn?.(line);
  }

  /** True when the allowlist in force is not the one the indexed records were judged under. */
  private allowlistChanged(): boolean {
    return digestOf(this.opts.submitters()) !== this.judgedWith;
  }

  private async run(): Promise<void> {
    const chunk = this.opts.chunk ?? 1024;
    // One list for the whole run: a reload during it is caught by the next.
    const list = this.opts.submitters();
    const digest = digestOf(list);
    if (digest !== this.judgedWith) await this.rejudge(list, digest);
    while (this.indexed < this.wanted) {
      const from = this.indexed;
      const to = Math.min(this.wanted, from + chunk);
      const entries = await this.opts.store.readEntries(from, to);
      const ops: KvOp[] = [];
      let records = 0;
      for (let i = 0; i < entries.length; i++) {
        const found = await this.summarize(from + i, entries[i]!, to, list);
        if (found === undefined) continue;
        ops.push(...keysOf(found.rec, found.subjects, found.trainingData));
        records++;
      }
      const cp = await this.opts.store.readCheckpoint(to);
      const marker = { size: to, ...(cp === undefined ? {} : { root: toBase64(cp.rootHash) }) };
      ops.push({ type: 'put', key: '~indexed', value: JSON.stringify(marker) });
      ops.push({ type: 'put', key: '~allowlist', value: digest });
      await this.opts.kv.batch(ops);
      this.indexed = to;
      this.counted += records;
    }
  }

  /**
   * Judges every indexed record again under `list` (see the module comment): rewrites the
   * summaries whose attribution changed, and their signer keys, a chunk per batch; then
   * records `digest` as the list that judged them.
   */
  private async rejudge(list: SubmitterList | undefined, digest: string): Promise<void> {
    const end = 'r\x01';
    let after = `r${SEP}`;
    let changed = 0;
    for (;;) {
      const page: [string, string][] = [];
      for await (const kvp of this.opts.kv.entries({ gt: after, lt: end, limit: 256 })) page.push(kvp);
      if (page.length === 0) break;
      after = page[page.length - 1]![0];
      const ops: KvOp[] = [];
      for (const [k, text] of page) {
        const old = JSON.parse(text) as IndexedRecord;
        const [entry] = await this.opts.store.readEntries(old.index, old.index + 1);
        if (entry === undefined) continue;
        let parsed: ParsedRecord;
        try {
          parsed = parseRecord(entry);
        } catch (err) {
          if (!isLogError(err)) throw err;
          continue; // indexed as a record by another version: left as it was
        }
        const now = attributeRecord(parsed, list, Date.parse(old.time));
        const same =
          now.attributed === old.attributed &&
          now.why === old.unattributed &&
          JSON.stringify(now.signer) === JSON.stringify(old.signer);
        if (same) continue;
        const rec: IndexedRecord = { ...old, attributed: now.attributed, signer: now.signer };
        delete rec.unattributed;
        if (now.why !== undefined) rec.unattributed = now.why;
        for (const id of signerIds(old)) ops.push({ type: 'del', key: key('g', id, pad(old.index)) });
        ops.push({ type: 'put', key: k, value: JSON.stringify(rec) });
        for (const id of signerIds(rec)) {
          ops.push({ type: 'put', key: key('g', id, pad(rec.index)), value: '' });
        }
        changed++;
      }
      if (ops.length > 0) await this.opts.kv.batch(ops);
    }
    // Written last: a crash before it means judging again, which rewrites nothing twice.
    await this.opts.kv.batch([{ type: 'put', key: '~allowlist', value: digest }]);
    this.judgedWith = digest;
    if (changed > 0) this.opts.warn?.(`record index: the allowlist changed: ${changed} records judged anew`);
  }

  /** The summary of entry `index`, or undefined when it is not a record. */
  private async summarize(
    index: number,
    entry: Uint8Array,
    limit: number,
    list: SubmitterList | undefined
  ): Promise<
    | { rec: IndexedRecord; subjects: readonly Subject[]; trainingData: readonly { digest: DigestSet }[] }
    | undefined
  > {
    let parsed: ParsedRecord;
    try {
      parsed = parseRecord(entry);
    } catch (err) {
      if (!isLogError(err)) {
        this.warnOnce(`record index: entry ${index} skipped: ${(err as Error).message}`);
      }
      return undefined;
    }
    const ms = await this.integrationTime(index, limit);
    const attribution = attributeRecord(parsed, list, ms);
    const rec = summary(index, parsed, attribution, new Date(ms).toISOString());
    return { rec, subjects: parsed.statement.subject, trainingData: parsed.predicate?.trainingData ?? [] };
  }

  /** The timestamp of the first checkpoint including entry `index` (see the module comment). */
  private async integrationTime(index: number, limit: number): Promise<number> {
    const d = this.dated;
    if (d !== undefined && index >= d.lo && index < d.hi) return d.ms;
    for (let size = index + 1; size <= limit && size <= index + MAX_PROBE; size++) {
      const cp = await this.opts.store.readCheckpoint(size);
      if (cp !== undefined) {
        this.dated = { lo: index, hi: size, ms: cp.timestamp };
        return cp.timestamp;
      }
    }
    // A checkpoint beyond the probe (or the chunk): the latest one the log published.
    const cp = await this.opts.store.readCheckpoint(this.opts.size());
    return cp?.timestamp ?? Date.now();
  }

  /** The record at `index`, presented as in search results; undefined when none is indexed. */
  async record(index: number): Promise<SearchResult | undefined> {
    const text = await this.opts.kv.get(recordKey(index));
    return text === undefined ? undefined : this.present(JSON.parse(text) as IndexedRecord);
  }

  /**
   * One page of a search. The most selective parameter picks the key range scanned (a
   * subject, model and environment, a model, a signer, an environment, a change type, a
   * predicate type, a time range, else every record); the others filter. Results are in
   * log order (`order=desc`: newest first); a time-range-only search runs in time order,
   * which is log order unless the log's clock went backwards. At most MAX_SCAN keys are
   * looked at per page: a page may come back short, with `next`, and the client pages on.
   * @throws LogError MALFORMED for a cursor that is not from this query.
   */
  async search(q: SearchQuery): Promise<SearchPage> {
    const indexedSize = this.indexed;
    const prefix = driverPrefix(q);
    const bounds = timeBounds(q, prefix);
    let lower = { key: bounds.since ?? prefix, inclusive: true };
    let upper = bounds.until ?? prefix.slice(0, -1) + '\x01';
    if (q.cursor !== undefined) {
      const after = Buffer.from(q.cursor, 'base64url').toString('latin1');
      if (!after.startsWith(prefix) || after.length > prefix.length + 64) {
        throw new LogError('MALFORMED', 'cursor is not from this search (pass the same parameters)');
      }
      if (q.order === 'asc' && after >= lower.key) lower = { key: after, inclusive: false };
      if (q.order === 'desc' && after < upper) upper = after;
    }
    const range = {
      ...(lower.inclusive ? { gte: lower.key } : { gt: lower.key }),
      lt: upper,
      reverse: q.order === 'desc',
    };
    const results: SearchResult[] = [];
    let scanned = 0;
    let exhausted = false;
    let unexamined = false;
    let last: string | undefined;
    const it = this.opts.kv.entries(range)[Symbol.asyncIterator]();
    try {
      while (results.length < q.limit && scanned < MAX_SCAN && !exhausted) {
        const chunk: string[] = [];
        while (chunk.length < 256 && scanned < MAX_SCAN) {
          const n = await it.next();
          if (n.done === true) {
            exhausted = true;
            break;
          }
          chunk.push(n.value[0]);
          scanned++;
        }
        const texts = await this.opts.kv.getMany(chunk.map((k) => recordKey(indexOfKey(k))));
        for (let j = 0; j < chunk.length; j++) {
          if (results.length >= q.limit) {
            unexamined = true;
            break;
          }
          last = chunk[j];
          const text = texts[j];
          if (text === undefined) continue;
          const rec = JSON.parse(text) as IndexedRecord;
          if (matches(rec, q)) results.push(await this.present(rec));
        }
      }
    } finally {
      await it.return?.();
    }
    const page: SearchPage = { results, indexedSize };
    if ((!exhausted || unexamined) && last !== undefined) {
      page.next = Buffer.from(last, 'latin1').toString('base64url');
    }
    return page;
  }

  private async present(rec: IndexedRecord): Promise<SearchResult> {
    const { kv } = this.opts;
    if (rec.approves !== undefined) {
      const at = await kv.get(digestKey(rec.approves.envelopeDigest));
      return { ...rec, approves: { ...rec.approves, index: at === undefined ? null : Number(at) } };
    }
    const prefix = key('a', rec.envelopeDigest) + SEP;
    const keys: string[] = [];
    for await (const [k] of kv.entries({ gte: prefix, lt: prefix.slice(0, -1) + '\x01', limit: MAX_APPROVALS })) {
      keys.push(recordKey(indexOfKey(k)));
    }
    const texts = await kv.getMany(keys);
    const views = texts
      .filter((t): t is string => t !== undefined)
      .map((t) => JSON.parse(t) as IndexedRecord)
      .filter((a) => a.approves !== undefined)
      .map((a) => ({
        index: a.index,
        envelopeDigest: a.envelopeDigest,
        signer: a.signer,
        decision: a.approves!.decision,
        time: a.time,
        ...(a.reason === undefined ? {} : { reason: a.reason }),
        ...attributionOf(a),
      }));
    const outcome = evaluateApprovals(
      { index: rec.index, signer: rec.signer, author: rec.author, env: rec.env, ...attributionOf(rec) },
      views
    );
    const { approves: _none, ...change } = rec;
    return { ...change, approvals: outcome.approvals, approved: outcome.approved };
  }
}

/** What identifies an allowlist in `~allowlist`: its file's digest, '' for none (or unknown). */
function digestOf(list: SubmitterList | undefined): string {
  return list?.digest ?? '';
}

/** The ids a record is found by with `signer=` (its signer's name and keyid). */
function signerIds(r: IndexedRecord): string[] {
  return r.signer === null ? [] : [...new Set([r.signer.name, r.signer.keyid])];
}

/** The key range a search scans (see RecordIndex.search), as its prefix. */
function driverPrefix(q: SearchQuery): string {
  if (q.subject !== undefined) return key('s', q.subject) + SEP;
  if (q.trainedOn !== undefined) return key('i', q.trainedOn) + SEP;
  if (q.model !== undefined && q.env !== undefined) return key('M', q.model, q.env) + SEP;
  if (q.model !== undefined) return key('m', q.model) + SEP;
  if (q.signer !== undefined) return key('g', q.signer) + SEP;
  if (q.env !== undefined) return key('e', q.env) + SEP;
  if (q.changeTypes?.length === 1) return key('c', q.changeTypes[0]!) + SEP;
  if (q.predicateType !== undefined) return key('p', q.predicateType) + SEP;
  if (q.since !== undefined || q.until !== undefined) return `t${SEP}`;
  return `r${SEP}`;
}

/** On the time index, the key bounds of since/until; elsewhere, none (they filter). */
function timeBounds(q: SearchQuery, prefix: string): { since?: string; until?: string } {
  if (prefix !== `t${SEP}`) return {};
  const t = (ms: number): string => `t${SEP}${Math.max(0, ms).toString().padStart(15, '0')}${SEP}`;
  return {
    ...(q.since === undefined ? {} : { since: t(q.since) }),
    ...(q.until === undefined ? {} : { until: t(q.until + 1) }),
  };
}

function matches(r: IndexedRecord, q: SearchQuery): boolean {
  if (q.model !== undefined && r.model !== q.model) return false;
  if (q.env !== undefined && r.env !== q.env) return false;
  if (q.changeTypes !== undefined && (r.changeType === null || !q.changeTypes.includes(r.changeType)))
    return false;
  if (q.predicateType !== undefined && r.predicateType !== q.predicateType) return false;
  if (q.signer !== undefined && r.signer?.name !== q.signer && r.signer?.keyid !== q.signer)
    return false;
  const ms = Date.parse(r.time);
  if (q.since !== undefined && ms < q.since) return false;
  if (q.until !== undefined && ms > q.until) return false;
  if (q.subject !== undefined && q.trainedOn !== undefined && !trainedOn(r, q.trainedOn)) return false;
  // subject (or else trainedOn): the driver range holds only records with that digest.
  return true;
}

/** Whether a stored summary names `digest` (`alg:value`) in its training data. */
function trainedOn(r: IndexedRecord, digest: string): boolean {
  const [alg, value] = [digest.slice(0, digest.indexOf(':')), digest.slice(digest.indexOf(':') + 1)];
  return (r.trainingData ?? []).some((d) => d.digest[alg] === value);
}

/** The attribution fields of a stored summary. */
function attributionOf(r: IndexedRecord): { attributed: boolean; unattributed?: string } {
  const { attributed, unattributed } = r;
  return unattributed === undefined ? { attributed } : { attributed, unattributed };
}

function summary(
  index: number,
  parsed: ParsedRecord,
  attribution: { attributed: boolean; signer: SignerInfo | null; why?: string },
  time: string
): IndexedRecord {
  const { signer, why: unattributed } = attribution;
  const p = parsed.predicate;
  const subjects = parsed.statement.subject;
  const rec: IndexedRecord = {
    index,
    predicateType: parsed.statement.predicateType,
    changeType: p?.changeType ?? null,
    model: p?.model?.id ?? null,
    env: p?.environment ?? null,
    attributed: attribution.attributed,
    signer,
    time,
    envelopeDigest: parsed.envelopeDigest,
    payloadDigest: sha256Hex(parsed.envelope.payload),
    subjects: subjects.slice(0, MAX_STORED_SUBJECTS).map(storedSubject),
    subjectCount: subjects.length,
  };
  if (unattributed !== undefined) rec.unattributed = unattributed;
  if (p === undefined) return rec;
  if (p.model?.version !== undefined) rec.modelVersion = p.model.version;
  if (p.model?.digest !== undefined) rec.modelDigest = p.model.digest;
  if (p.config !== undefined) rec.configDigest = p.config.digest;
  if (p.trainingData !== undefined) {
    rec.trainingData = p.trainingData.slice(0, MAX_STORED_SUBJECTS).map((d) => ({
      uri: d.uri,
      ...(d.name === undefined ? {} : { name: d.name }),
      digest: d.digest,
    }));
    rec.trainingDataCount = p.trainingData.length;
  }
  if (p.createdAt !== undefined) rec.createdAt = p.createdAt;
  if (p.reason !== undefined) rec.reason = p.reason;
  if (p.ticket !== undefined) rec.ticket = p.ticket;
  if (p.author !== undefined) rec.author = p.author;
  if (p.preDetermined !== undefined) rec.preDetermined = p.preDetermined;
  if (p.approves !== undefined && p.approves.digest.sha256 !== undefined) {
    rec.approves = {
      envelopeDigest: p.approves.digest.sha256,
      decision: p.approves.decision,
      ...(p.approves.entry === undefined ? {} : { entry: p.approves.entry }),
    };
  }
  return rec;
}

function storedSubject(s: Subject): { name?: string; digest: DigestSet } {
  return s.name === undefined ? { digest: s.digest } : { name: s.name, digest: s.digest };
}

/** Every key of a record (see the module comment's table). */
function keysOf(
  r: IndexedRecord,
  subjects: readonly Subject[],
  trainingData: readonly { digest: DigestSet }[]
): KvOp[] {
  const i = pad(r.index);
  const put = (k: string, value = ''): KvOp => ({ type: 'put', key: k, value });
  const ops: KvOp[] = [
    put(recordKey(r.index), JSON.stringify(r)),
    put(digestKey(r.envelopeDigest), String(r.index)),
    put(`t${SEP}${Date.parse(r.time).toString().padStart(15, '0')}${SEP}${i}`),
    put(key('p', r.predicateType, i)),
  ];
  const digests = new Set<string>();
  for (const s of subjects) for (const [alg, v] of Object.entries(s.digest)) digests.add(`${alg}:${v}`);
  for (const d of digests) ops.push(put(key('s', d, i)));
  const inputs = new Set<string>();
  for (const t of trainingData) for (const [alg, v] of Object.entries(t.digest)) inputs.add(`${alg}:${v}`);
  for (const d of inputs) ops.push(put(key('i', d, i)));
  if (r.model !== null) ops.push(put(key('m', r.model, i)));
  if (r.env !== null) ops.push(put(key('e', r.env, i)));
  if (r.model !== null && r.env !== null) ops.push(put(key('M', r.model, r.env, i)));
  if (r.changeType !== null) ops.push(put(key('c', r.changeType, i)));
  for (const id of signerIds(r)) ops.push(put(key('g', id, i)));
  if (r.approves !== undefined) ops.push(put(key('a', r.approves.envelopeDigest, i)));
  return ops;
}
