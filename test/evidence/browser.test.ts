// Evidence packs verify in a browser: bundle src/evidence/index.ts for platform 'browser'
// with the bundler vitest brings (rolldown), fail on any Node built-in, then run verifyPack
// from the bundle in a VM context with only what a browser has, on a pack made by candor
// export. DSSE signatures are checked by the AllowlistReader handed in, as a browser page
// would hand in one built on WebCrypto.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import vm from 'node:vm';
import { browserContext, bundleForBrowser } from '../helpers/browser-bundle.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNodeAllowlist } from '../../src/cli/evidence-allowlist.js';
import { NOW, POLICY_TWO, makePack, type MadePack } from './fixture.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('evidence packs in a browser', () => {
  let code: string;
  let p: MadePack;
  beforeAll(async () => {
    code = await bundleForBrowser(join(root, 'src/evidence/index.ts'), 'candorEvidence');
    p = await makePack();
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('bundles with no Node built-ins, and verifies a pack (and refuses a changed one) without them', () => {
    expect(code).not.toMatch(/\brequire\s*\(|\bprocess\.|\bBuffer\s*[.(]/);
    const ctx = browserContext();
    for (const name of ['process', 'Buffer', 'require']) expect(vm.runInContext(`typeof ${name}`, ctx), name).toBe('undefined');
    vm.runInContext(code, ctx);
    const files = JSON.stringify([...p.files].map(([path, b]) => [path, [...b]]));
    Object.assign(ctx, { packJson: files, policyText: POLICY_TWO, NOW, readAllowlist: readNodeAllowlist });
    const run = (edit: string): string =>
      vm.runInContext(
        `(() => {
           const e = candorEvidence;
           const files = new Map(JSON.parse(packJson).map(([p, b]) => [p, new Uint8Array(b)]));
           ${edit}
           try {
             const pack = e.verifyPack(files, { policy: e.parsePolicy(policyText), readAllowlist, now: () => NOW });
             return 'ok ' + pack.records.length + ' ' + pack.checkpoint.size;
           } catch (err) { return err.code + ' ' + err.file; }
         })()`,
        ctx
      ) as string;
    expect(run('')).toBe('ok 5 6');
    expect(run(`files.get('records/entry-00000002.dsse.json')[60] ^= 1;`)).toBe('ENTRY_MISMATCH records/entry-00000002.dsse.json');
    expect(run(`files.get('report.html')[600] ^= 1;`)).toBe('REPORT_MISMATCH report.html');
  });
});
