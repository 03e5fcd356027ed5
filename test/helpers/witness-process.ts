/**
 * Real `candor witness` daemons for end-to-end tests: keys made up front so that a log and
 * several witnesses can all be configured with each other's keys and URLs before any of
 * them starts; ports picked up front for the same reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI } from './server-process.js';
import { generateSignerKey, parseSignerKey } from '../../src/note/keys.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { formatCosignerVerifierKey } from '../../src/checkpoint/cosignature.js';

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface WitnessIdentity {
  name: string;
  dir: string;
  port: number;
  url: string;
  /** cosignature/v1 verifier key (type 0x04). */
  vkey: string;
}

/** Creates a witness data directory with its key (mode 0600) and picks its port. */
export async function makeWitnessIdentity(root: string, name: string): Promise<WitnessIdentity> {
  const dir = join(root, name.replace(/[^a-z0-9]/gi, '_'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { signerKey } = generateSignerKey(name);
  await writeFile(join(dir, 'witness.key'), signerKey + '\n', { mode: 0o600 });
  const port = await freePort();
  const vkey = formatCosignerVerifierKey(name, ed25519PublicKey(parseSignerKey(signerKey).seed));
  return { name, dir, port, url: `http://127.0.0.1:${port}`, vkey };
}

export interface WitnessProcess {
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** Starts `candor witness` for an identity; resolves once it serves. */
export async function startWitnessProcess(id: WitnessIdentity, args: string[]): Promise<WitnessProcess> {
  const proc = spawn(
    process.execPath,
    [CLI, 'witness', '--data', id.dir, '--name', id.name, '--host', '127.0.0.1', '--port', String(id.port), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`witness did not start:\n${out}`)), 15_000);
    const check = (): void => {
      if (out.includes(`serving on ${id.url}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`witness exited with ${code} before starting:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
