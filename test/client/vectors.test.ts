// The transparency-dev/merkle vectors (test/vectors/merkle, with their licence and origin), run through candor's PUBLIC API (src/index.ts
// and the client's own entry point), as a user of the library would.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as candor from '../../src/index.js';
import * as client from '../../src/client/index.js';

const vectorRoot = fileURLToPath(new URL('../vectors/merkle', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return jsonFiles(path);
      return name.endsWith('.json') ? [path] : [];
    });
}

type V = Record<string, unknown>;
const load = (kind: string): Array<{ name: string; v: V }> =>
  jsonFiles(join(vectorRoot, kind)).map((p) => ({
    name: relative(vectorRoot, p),
    v: JSON.parse(readFileSync(p, 'utf8')) as V,
  }));
const b64 = (s: string): Uint8Array => candor.fromBase64(s);
const hashes = (v: unknown): Uint8Array[] => ((v as string[] | null) ?? []).map(b64);

function outcome(fn: () => unknown): string {
  try {
    return fn() === true ? 'ok' : 'returned non-true';
  } catch (err) {
    return candor.isLogError(err) && ['MALFORMED', 'PROOF_FAILED'].includes(err.code) ? 'rejected' : String(err);
  }
}

describe.each([
  ['src/index.ts', candor],
  ['src/client/index.ts', client],
])('merkle vectors through %s', (_, api) => {
  it('every inclusion vector: valid ones return true, wantErr ones throw', () => {
    const cases = load('inclusion');
    expect(cases.length).toBeGreaterThan(90);
    for (const { name, v } of cases) {
      const got = outcome(() =>
        api.verifyInclusion(b64(v.leafHash as string), v.leafIdx as number, v.treeSize as number, hashes(v.proof), b64(v.root as string))
      );
      expect(got, name).toBe(v.wantErr === true ? 'rejected' : 'ok');
    }
  });

  it('every consistency vector: valid ones return true, wantErr ones throw', () => {
    const cases = load('consistency');
    expect(cases.length).toBeGreaterThan(90);
    for (const { name, v } of cases) {
      const got = outcome(() =>
        api.verifyConsistency(v.size1 as number, v.size2 as number, hashes(v.proof), b64(v.root1 as string), b64(v.root2 as string))
      );
      expect(got, name).toBe(v.wantErr === true ? 'rejected' : 'ok');
    }
  });
});
