// The client must build for browsers: bundle src/client/index.ts for platform 'browser' with
// the bundler vitest already brings (rolldown, through vite), fail if any Node built-in is
// reached, then run the bundle in a fresh VM context that has only what a browser has (no
// process, Buffer, require or module) and verify a proof with it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { browserContext, bundleForBrowser } from '../helpers/browser-bundle.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatProofFile, leafHash } from '../../src/index.js';
import { NOW_MS, W1, W2, cosign, makeEntry, policyText, servedLog } from './fixtures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the client in a browser', () => {
  let code: string;
  let proof: string;
  let entryJson: string; // the entry's bytes as a JSON array, rebuilt inside the context

  beforeAll(async () => {
    code = await bundleForBrowser(join(root, 'src/client/index.ts'), 'candorClient');
    const { log } = await servedLog(12);
    const note = cosign(log.checkpoint.note, [W1, W2]);
    const entry = makeEntry(7);
    entryJson = JSON.stringify([...entry]);
    proof = formatProofFile({ extra: leafHash(entry), index: 7, proof: await log.inclusionProof(7, 12), checkpoint: note });
  });

  it('bundles with no Node built-ins and no require', () => {
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toMatch(/\brequire\s*\(|\bimport\s*\(|\bprocess\.|\bBuffer\s*[.(]/);
  });

  it('rejects a module that imports a Node built-in (the check works)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'candor-bundle-'));
    try {
      const bad = join(dir, 'bad.ts');
      await writeFile(bad, `import { createHash } from 'node:crypto';\nexport const h = createHash;\n`);
      await expect(bundleForBrowser(bad, 'candorClient')).rejects.toThrow(/Node built-in "node:crypto"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('verifies a tlog-proof in a context without process, Buffer or require', () => {
    const ctx = browserContext();
    for (const name of ['process', 'Buffer', 'require', 'module', 'setImmediate']) {
      expect(vm.runInContext(`typeof ${name}`, ctx), name).toBe('undefined');
    }
    vm.runInContext(code, ctx);
    Object.assign(ctx, { proof, entryJson, policyText: policyText('two'), NOW_MS });
    const ok = vm.runInContext(
      `const c = candorClient;
       const r = c.verifyProofFile(proof, new Uint8Array(JSON.parse(entryJson)), c.parsePolicy(policyText),
         { now: () => NOW_MS });
       JSON.stringify({ index: r.index, size: r.checkpoint.size, witnesses: r.witnesses.map((w) => w.name) });`,
      ctx
    ) as string;
    expect(JSON.parse(ok)).toEqual({ index: 7, size: 12, witnesses: ['w1', 'w2'] });
    const failure = vm.runInContext(
      `try { c.verifyProofFile(proof, new TextEncoder().encode('another entry'), c.parsePolicy(policyText),
         { now: () => NOW_MS }); 'accepted' } catch (e) { e.code }`,
      ctx
    ) as string;
    expect(failure).toBe('ENTRY_MISMATCH');
  });
});
