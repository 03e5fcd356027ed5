/**
 * Browser builds for tests: bundle a module for platform 'browser' with the bundler vitest
 * already brings (rolldown), refusing any Node built-in, and a VM context with only what a
 * browser has (no process, Buffer, require or module) to run the bundle in.
 */
import { builtinModules } from 'node:module';
import vm from 'node:vm';
import { expect } from 'vitest';

interface Rolldown {
  rolldown(options: Record<string, unknown>): Promise<{
    generate(o: Record<string, unknown>): Promise<{ output: Array<{ code: string }> }>;
    close(): Promise<void>;
  }>;
}

/**
 * Bundles `input` for browsers as an IIFE defining the global `name`; rejects when it
 * reaches a Node built-in module.
 */
export async function bundleForBrowser(input: string, name: string): Promise<string> {
  // Not a dependency of candor: rolldown comes with vitest (vite 8). A variable specifier
  // keeps TypeScript from needing its types.
  const specifier = 'rolldown';
  const { rolldown } = (await import(specifier)) as Rolldown;
  const builtins = new Set(builtinModules);
  const bundle = await rolldown({
    input,
    platform: 'browser',
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    logLevel: 'silent',
    plugins: [
      {
        name: 'no-node-builtins',
        resolveId(source: string, importer: string | undefined) {
          if (source.startsWith('node:') || builtins.has(source) || builtins.has(source.split('/')[0]!)) {
            throw new Error(`Node built-in "${source}" imported by ${importer ?? 'the entry'}`);
          }
          return null;
        },
      },
    ],
  });
  try {
    const { output } = await bundle.generate({ format: 'iife', name });
    expect(output).toHaveLength(1);
    return output[0]!.code;
  } finally {
    await bundle.close();
  }
}

/** A context with the globals browsers have that the client uses, and nothing from Node. */
export function browserContext(): vm.Context {
  const ctx = vm.createContext({ __enc: new TextEncoder(), __TD: TextDecoder, URL });
  // Arrays made here must belong to the context's realm, as in a browser.
  vm.runInContext(
    `(() => {
       const enc = __enc;
       const TD = __TD;
       globalThis.TextEncoder = class { encode(s) { return new Uint8Array(enc.encode(s)); } };
       globalThis.TextDecoder = class {
         constructor(l, o) { this.d = new TD(l, o); }
         decode(b) { return this.d.decode(b); }
       };
       delete globalThis.__enc;
       delete globalThis.__TD;
     })();`,
    ctx
  );
  return ctx;
}
