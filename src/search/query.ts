/**
 * The parameters of `GET /v1/search`, parsed strictly: every parameter at most once, no
 * unknown ones, each value checked, so a typo (`enviroment=prod`) is a 400 naming it
 * instead of a query that silently matches everything.
 *
 *   model=ID            the record's model id
 *   env=ENV             the record's environment
 *   changeType=T[,T…]   one or more change types (model-update, safety-config, dataset,
 *                       deployment, rollback, approval)
 *   subject=DIGEST      a subject digest, `alg:hex` or 64 hex digits (SHA-256); an approval's
 *                       subject is the envelope digest of the change it approves
 *   trainedOn=DIGEST    a digest in the predicate's trainingData: the model updates (and
 *                       deployments, …) trained on a dataset, and the dataset's own record
 *   signer=NAME|KEYID   the allowlisted signer, by name or keyid
 *   predicateType=URI   the statement's predicate type
 *   since=TIME          logged at or after (RFC 3339)
 *   until=TIME          logged at or before (RFC 3339)
 *   limit=N             results per page, 1 to 1000 (default 100)
 *   order=asc|desc      log order (default) or newest first
 *   cursor=C            the `next` of the previous page
 */
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { validateDigestSet } from '../governance/intoto.js';
import { CHANGE_TYPES, IDENTIFIER_PATTERN, URI_PATTERN } from '../governance/schema.js';
import type { ChangeType } from '../governance/predicate-types.js';

/** A parsed search. */
export interface SearchQuery {
  model?: string;
  env?: string;
  changeTypes?: ChangeType[];
  /** `alg:value`. */
  subject?: string;
  /** `alg:value`: a digest named in the predicate's trainingData. */
  trainedOn?: string;
  signer?: string;
  predicateType?: string;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  /** Milliseconds since the epoch, inclusive. */
  until?: number;
  limit: number;
  order: 'asc' | 'desc';
  cursor?: string;
}

/** Results per page unless `limit` says otherwise, and the most a page may hold. */
export const DEFAULT_SEARCH_LIMIT = 100;
export const MAX_SEARCH_LIMIT = 1000;

const PARAMS = [
  'model',
  'env',
  'changeType',
  'subject',
  'trainedOn',
  'signer',
  'predicateType',
  'since',
  'until',
  'limit',
  'order',
  'cursor',
] as const;

const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);
const URI = new RegExp(URI_PATTERN);
/** RFC 3339 date-time with a zone (Z or ±hh:mm), optional fraction. */
const RFC3339 =
  /^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$/;

const bad = (why: string): LogError => new LogError('MALFORMED', why);

/**
 * Parses an RFC 3339 date-time (with a zone) into milliseconds since the epoch.
 * @throws LogError MALFORMED naming `what`.
 */
export function parseTime(text: string, what: string): number {
  const ms = RFC3339.test(text) ? Date.parse(text.replace(/:60(\.|[Zz+-])/, ':59$1')) : NaN;
  if (!Number.isFinite(ms)) {
    throw bad(`${what} must be an RFC 3339 time like 2026-03-03T14:32:00Z, got ${quote(text)}`);
  }
  return ms;
}

/**
 * A digest argument as `alg:value`: `alg:hex` as given, or 64 bare hex digits as SHA-256.
 * @throws LogError MALFORMED naming `what`.
 */
export function parseDigestParam(text: string, what: string): string {
  const m = /^([A-Za-z0-9_.-]{1,64}):(.+)$/.exec(text);
  const [alg, value] = m === null ? ['sha256', text] : [m[1]!, m[2]!];
  validateDigestSet({ [alg]: value }, what, 'search');
  if (/\s/.test(value)) throw bad(`${what} must not contain white space`);
  return `${alg}:${value}`;
}

const quote = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/**
 * Parses the query string of `GET /v1/search` (see the module comment).
 * @throws LogError MALFORMED naming the parameter.
 */
export function parseSearchParams(params: URLSearchParams): SearchQuery {
  const seen = new Map<string, string>();
  for (const [name, value] of params) {
    if (!(PARAMS as readonly string[]).includes(name)) {
      throw bad(`unknown search parameter ${quote(name)} (known: ${PARAMS.join(', ')})`);
    }
    if (seen.has(name)) throw bad(`search parameter ${name} is given twice`);
    if (value === '') throw bad(`search parameter ${name} is empty`);
    seen.set(name, value);
  }
  const q: SearchQuery = { limit: DEFAULT_SEARCH_LIMIT, order: 'asc' };
  const get = (n: (typeof PARAMS)[number]): string | undefined => seen.get(n);
  for (const n of ['model', 'env'] as const) {
    const v = get(n);
    if (v === undefined) continue;
    if (!IDENTIFIER.test(v)) {
      throw bad(`${n} must be an identifier (letters, digits and ._:/@+-), got ${quote(v)}`);
    }
    q[n] = v;
  }
  const types = get('changeType');
  if (types !== undefined) {
    const list = types.split(',');
    for (const t of list) {
      if (!(CHANGE_TYPES as readonly string[]).includes(t)) {
        throw bad(`changeType must be one or more of ${CHANGE_TYPES.join(', ')}, got ${quote(t)}`);
      }
    }
    if (new Set(list).size !== list.length) throw bad('changeType lists a type twice');
    q.changeTypes = list as ChangeType[];
  }
  const subject = get('subject');
  if (subject !== undefined) q.subject = parseDigestParam(subject, 'subject');
  const trainedOn = get('trainedOn');
  if (trainedOn !== undefined) q.trainedOn = parseDigestParam(trainedOn, 'trainedOn');
  const signer = get('signer');
  if (signer !== undefined) {
    // eslint-disable-next-line no-control-regex
    if (signer.length > 256 || /[\x00-\x1f\x7f]/.test(signer)) {
      throw bad('signer must be a name or keyid of at most 256 characters');
    }
    q.signer = signer;
  }
  const predicateType = get('predicateType');
  if (predicateType !== undefined) {
    if (predicateType.length > 1024 || !URI.test(predicateType)) {
      throw bad(`predicateType must be a URI, got ${quote(predicateType)}`);
    }
    q.predicateType = predicateType;
  }
  const since = get('since');
  if (since !== undefined) q.since = parseTime(since, 'since');
  const until = get('until');
  if (until !== undefined) q.until = parseTime(until, 'until');
  if (q.since !== undefined && q.until !== undefined && q.since > q.until) {
    throw bad('since is after until');
  }
  const limit = get('limit');
  if (limit !== undefined) {
    const n = parseDecimal(limit, 'limit');
    if (n < 1 || n > MAX_SEARCH_LIMIT) throw bad(`limit must be 1 to ${MAX_SEARCH_LIMIT}`);
    q.limit = n;
  }
  const order = get('order');
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc') throw bad(`order must be asc or desc, got ${quote(order)}`);
    q.order = order;
  }
  const cursor = get('cursor');
  if (cursor !== undefined) {
    if (cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
      throw bad('cursor is not one this log gave out (use the "next" of the previous page)');
    }
    q.cursor = cursor;
  }
  return q;
}

/** The query string for a search (the inverse of parseSearchParams), for clients. */
export function formatSearchParams(q: Partial<SearchQuery>): string {
  const p = new URLSearchParams();
  if (q.model !== undefined) p.set('model', q.model);
  if (q.env !== undefined) p.set('env', q.env);
  if (q.changeTypes !== undefined) p.set('changeType', q.changeTypes.join(','));
  if (q.subject !== undefined) p.set('subject', q.subject);
  if (q.trainedOn !== undefined) p.set('trainedOn', q.trainedOn);
  if (q.signer !== undefined) p.set('signer', q.signer);
  if (q.predicateType !== undefined) p.set('predicateType', q.predicateType);
  if (q.since !== undefined) p.set('since', new Date(q.since).toISOString());
  if (q.until !== undefined) p.set('until', new Date(q.until).toISOString());
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (q.order !== undefined) p.set('order', q.order);
  if (q.cursor !== undefined) p.set('cursor', q.cursor);
  return p.toString();
}
