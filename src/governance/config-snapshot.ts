/**
 * Configuration snapshots for governance records, made from a local JSON file.
 *
 * The snapshot's digest is the SHA-256 of the file's bytes, so `sha256sum config.json`
 * gives the same value and a deployment check can recompute it. Its parameters are the
 * file's JSON object (or the parts picked with `select`), with every secret replaced by
 * a digest reference `{"digest": {"sha256": "…"}}`: a log entry can never be erased, so
 * a secret value must never reach one. A parameter is a secret when
 * - its path is listed in `secrets`, or
 * - its name looks like a credential (SECRET_NAME_PATTERN: `password`, `api_key`,
 *   `auth_token`, …; the log refuses these in clear anyway), or
 * - its name contains `prompt` (system prompts are confidential: the record keeps their
 *   digest, and `uri` may point to an access-controlled copy), unless listed in `inline`.
 * A string's digest is the SHA-256 of its UTF-8 bytes (`printf %s "$PROMPT" | sha256sum`);
 * any other value's is the SHA-256 of its stableStringify form.
 *
 * Paths are dotted (`guardrail.toxicity_threshold`, `stop[0]`); a key that itself holds a
 * dot (`"guardrail.threshold": 0.5`) matches the path with that dot.
 */
import { createHash } from 'node:crypto';
import { LogError } from '../util/errors.js';
import type { ConfigSnapshot, ParameterGroup, ParameterValue } from './predicate.js';
import { PARAMETER_NAME_PATTERN, SECRET_NAME_PATTERN } from './schema.js';
import { isJsonObject, parseStrictJson, stableStringify } from './strict-json.js';

/** How to make a snapshot. */
export interface SnapshotOptions {
  /** Paths whose values are logged only as digests (on top of the name rules). */
  secrets?: readonly string[];
  /** Paths exempt from the `prompt` rule (credential-like names are always secrets). */
  inline?: readonly string[];
  /** Only these paths (and what is under them); default: everything. */
  select?: readonly string[];
  /** Where the configuration is kept (a URI), recorded as `config.uri`. */
  uri?: string;
}

const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);
const PARAMETER_NAME = new RegExp(PARAMETER_NAME_PATTERN);

const sha256Hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

// Whether `path` is `prefix` or lies under it.
const under = (path: string, prefix: string): boolean =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

function hide(v: unknown, path: string, name: string, options: SnapshotOptions): ParameterValue {
  const listed = (options.secrets ?? []).some((s) => under(path, s));
  const prompt = /prompt/i.test(name) && !(options.inline ?? []).some((s) => under(path, s));
  if (isJsonObject(v) && isJsonObject(v.digest)) return v as unknown as ParameterValue;
  if (listed || SECRET_NAME.test(name) || prompt) {
    const sha256 = sha256Hex(typeof v === 'string' ? v : stableStringify(v));
    return { digest: { sha256 } };
  }
  if (Array.isArray(v)) return v.map((item, i) => hide(item, `${path}[${i}]`, name, options));
  if (isJsonObject(v)) return group(v, path, options);
  return v as ParameterValue;
}

function group(o: Record<string, unknown>, path: string, options: SnapshotOptions): ParameterGroup {
  const out: ParameterGroup = {};
  for (const [k, v] of Object.entries(o)) {
    if (!PARAMETER_NAME.test(k)) {
      throw new LogError('MALFORMED', `config: ${JSON.stringify(k)} is not a valid parameter name`);
    }
    const at = path === '' ? k : `${path}.${k}`;
    const selected =
      options.select === undefined || options.select.some((s) => under(at, s) || under(s, at));
    if (!selected) continue;
    const whole = options.select === undefined || options.select.some((s) => under(at, s));
    out[k] = !whole && isJsonObject(v) ? group(v, at, options) : hide(v, at, k, options);
  }
  return out;
}

/**
 * Makes the snapshot of a JSON configuration file's bytes (see the module comment).
 * @throws LogError MALFORMED when the file is not a strict JSON object or has a key that
 *   is not a parameter name; when a `select` path matches nothing.
 * @example
 * const config = snapshotConfig(await readFile('guardrails.json'), { secrets: ['db'] });
 * // { digest: { sha256: '…' }, parameters: { temperature: '0.2', system_prompt: { digest: … } } }
 */
export function snapshotConfig(bytes: Uint8Array, options: SnapshotOptions = {}): ConfigSnapshot {
  const v = parseStrictJson(bytes, 'config is not valid JSON');
  if (!isJsonObject(v)) throw new LogError('MALFORMED', 'config must be a JSON object');
  const parameters = group(v, '', options);
  for (const s of options.select ?? []) {
    if (!hasPath(parameters, s)) throw new LogError('MALFORMED', `config has no parameter ${s}`);
  }
  const snapshot: ConfigSnapshot = { digest: { sha256: sha256Hex(bytes) }, parameters };
  if (options.uri !== undefined) snapshot.uri = options.uri;
  return snapshot;
}

function hasPath(g: ParameterGroup, path: string): boolean {
  return Object.entries(g).some(([k, v]) => {
    if (path === k || under(k, path)) return true;
    if (path.startsWith(`${k}.`) && isJsonObject(v)) {
      return hasPath(v as ParameterGroup, path.slice(k.length + 1));
    }
    return path.startsWith(`${k}[`) && Array.isArray(v);
  });
}
