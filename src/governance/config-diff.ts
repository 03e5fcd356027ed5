/**
 * Parameter-level difference between two configuration snapshots (the `config` of
 * governance records, or snapshots of local files, see config-snapshot.ts).
 *
 * Parameters are compared leaf by leaf, by path: group members join with `.`
 * (`guardrail.toxicity_threshold`), array items with `[i]` (`stop[1]`). Numbers and
 * decimal strings compare numerically and exactly (`"0.80"`, `"0.8"` and `0.8` are equal;
 * no floating point), and a numeric change says whether it `increased` or `decreased`,
 * which is what a monitor needs for "guardrail threshold lowered". A secret is a leaf
 * known only by its digest: it changed when the digests differ, and it is shown as its
 * digest, never as a value. An empty group or array is a leaf of its own, so adding one
 * shows.
 */
import type { DigestSet } from './intoto.js';
import type { ConfigSnapshot, ParameterGroup, ParameterValue, SecretRef } from './predicate.js';
import { isJsonObject, stableStringify } from './strict-json.js';

/** One changed parameter. */
export interface ParameterChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** The old leaf value (absent for `added`). */
  old?: ParameterValue;
  /** The new leaf value (absent for `removed`). */
  new?: ParameterValue;
  /** For two numeric values: which way the number moved. */
  direction?: 'increased' | 'decreased';
  /** True when either side is a secret (a digest reference). */
  secret?: boolean;
}

/** The difference between two snapshots. */
export interface ConfigDiff {
  /** The snapshots' digests (when known) and whether they differ. */
  digest: { old?: DigestSet; new?: DigestSet; changed: boolean };
  /** Changed parameters, sorted by path. */
  changes: ParameterChange[];
}

const isSecret = (v: unknown): v is SecretRef => isJsonObject(v) && v.digest !== undefined;

/**
 * The leaves of a parameter group by path (`guardrail.toxicity_threshold`, `stop[1]`), as
 * diffConfigs compares them: secrets, empty groups and empty arrays are leaves.
 */
export function flattenParameters(group: ParameterGroup): Map<string, ParameterValue> {
  const out = new Map<string, ParameterValue>();
  flatten(group, '', out);
  return out;
}

// Flattens a parameter group into leaf path → value.
function flatten(v: ParameterValue, path: string, out: Map<string, ParameterValue>): void {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(path, []);
    v.forEach((item, i) => flatten(item, `${path}[${i}]`, out));
  } else if (isJsonObject(v) && !isSecret(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0 && path !== '') out.set(path, {});
    for (const k of keys) flatten((v as ParameterGroup)[k]!, path === '' ? k : `${path}.${k}`, out);
  } else out.set(path, v);
}

/** A decimal as sign · coefficient · 10^exponent, or undefined for a non-number. */
function decimal(v: unknown): { c: bigint; e: number } | undefined {
  const text = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  if (typeof text !== 'string') return undefined;
  const m = /^([+-]?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(text.trim());
  if (m === null || text.trim() !== text) return undefined;
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? '0') - frac.length;
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 10_000) return undefined;
  const c = BigInt(`${m[2]}${frac}`) * (m[1] === '-' ? -1n : 1n);
  return { c, e: exp };
}

/** Compares two decimals exactly: negative, zero or positive. */
function compareDecimal(a: { c: bigint; e: number }, b: { c: bigint; e: number }): number {
  const e = Math.min(a.e, b.e);
  const x = a.c * 10n ** BigInt(a.e - e);
  const y = b.c * 10n ** BigInt(b.e - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

function digestsEqual(a: DigestSet, b: DigestSet): boolean {
  const shared = Object.keys(a).filter((alg) => b[alg] !== undefined);
  return shared.length > 0 && shared.every((alg) => a[alg] === b[alg]);
}

// Leaf equality: numerically for numbers, by digest for secrets, else by JSON value.
function compareLeaves(
  a: ParameterValue,
  b: ParameterValue
): Pick<ParameterChange, 'direction'> | undefined {
  if (isSecret(a) || isSecret(b)) {
    return isSecret(a) && isSecret(b) && digestsEqual(a.digest, b.digest) ? undefined : {};
  }
  const x = decimal(a);
  const y = decimal(b);
  if (x !== undefined && y !== undefined) {
    const cmp = compareDecimal(x, y);
    if (cmp === 0) return undefined;
    return { direction: cmp < 0 ? 'increased' : 'decreased' };
  }
  return stableStringify(a) === stableStringify(b) ? undefined : {};
}

function parametersOf(x: ConfigSnapshot | ParameterGroup): {
  group: ParameterGroup;
  digest?: DigestSet;
} {
  const snap = x as ConfigSnapshot;
  if (
    isJsonObject(snap.digest) &&
    (snap.parameters === undefined || isJsonObject(snap.parameters))
  ) {
    return { group: snap.parameters ?? {}, digest: snap.digest };
  }
  return { group: x as ParameterGroup };
}

/**
 * The parameter-level difference from snapshot (or parameter group) `a` to `b`.
 * @example
 * diffConfigs({ temperature: '0.2' }, { temperature: '0.7', max_tokens: 1024 }).changes;
 * // [{ path: 'max_tokens', kind: 'added', new: 1024 },
 * //  { path: 'temperature', kind: 'changed', old: '0.2', new: '0.7', direction: 'increased' }]
 */
export function diffConfigs(
  a: ConfigSnapshot | ParameterGroup,
  b: ConfigSnapshot | ParameterGroup
): ConfigDiff {
  const pa = parametersOf(a);
  const pb = parametersOf(b);
  const fa = new Map<string, ParameterValue>();
  const fb = new Map<string, ParameterValue>();
  flatten(pa.group, '', fa);
  flatten(pb.group, '', fb);
  const changes: ParameterChange[] = [];
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  for (const path of paths) {
    const oldV = fa.get(path);
    const newV = fb.get(path);
    const secret = isSecret(oldV) || isSecret(newV) ? { secret: true } : {};
    if (!fa.has(path)) changes.push({ path, kind: 'added', new: newV!, ...secret });
    else if (!fb.has(path)) changes.push({ path, kind: 'removed', old: oldV!, ...secret });
    else {
      const moved = compareLeaves(oldV!, newV!);
      if (moved !== undefined)
        changes.push({ path, kind: 'changed', old: oldV!, new: newV!, ...moved, ...secret });
    }
  }
  const changed =
    pa.digest !== undefined && pb.digest !== undefined
      ? !digestsEqual(pa.digest, pb.digest)
      : changes.length > 0;
  const digest: ConfigDiff['digest'] = { changed };
  if (pa.digest !== undefined) digest.old = pa.digest;
  if (pb.digest !== undefined) digest.new = pb.digest;
  return { digest, changes };
}

function showDigest(d: DigestSet | undefined): string {
  if (d === undefined) return '(none)';
  const alg = d.sha256 !== undefined ? 'sha256' : Object.keys(d).sort()[0]!;
  return `${alg}:${d[alg]}`;
}

function show(v: ParameterValue | undefined): string {
  if (isSecret(v)) return `<secret ${showDigest(v.digest)}>`;
  return stableStringify(v ?? null);
}

/**
 * A readable rendering of a ConfigDiff: the digest line, then one line per change
 * (`+` added, `-` removed, `~` changed), secrets shown only as digests.
 */
export function formatConfigDiff(diff: ConfigDiff): string {
  const lines: string[] = [];
  if (diff.digest.old !== undefined || diff.digest.new !== undefined) {
    const same = diff.digest.changed ? '' : ' (unchanged)';
    lines.push(
      `config digest: ${showDigest(diff.digest.old)} -> ${showDigest(diff.digest.new)}${same}`
    );
  }
  if (diff.changes.length === 0) lines.push('no parameter differences');
  for (const c of diff.changes) {
    if (c.kind === 'added') lines.push(`+ ${c.path}: ${show(c.new)}`);
    else if (c.kind === 'removed') lines.push(`- ${c.path}: ${show(c.old)}`);
    else {
      const note = c.direction !== undefined ? ` (${c.direction})` : '';
      lines.push(`~ ${c.path}: ${show(c.old)} -> ${show(c.new)}${note}`);
    }
  }
  return lines.join('\n') + '\n';
}
