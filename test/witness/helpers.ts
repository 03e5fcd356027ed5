/**
 * Fixtures for the witness tests: the specs §8.2 log and witness keys, an in-memory Merkle
 * tree that signs checkpoints, a witness on a temporary data directory, and a fetch that
 * routes URLs to in-process Hono apps.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { Frontier, proveConsistency, treeRoot, type NodeId } from '../../src/merkle/tree.js';
import { leafHash } from '../../src/merkle/hash.js';
import { formatCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Signer, formatSignerKey } from '../../src/note/keys.js';
import { signNote } from '../../src/note/note.js';
import { openWitness, type OpenWitness, type WitnessConfig } from '../../src/witness/main.js';
import type { FetchFn } from '../../src/client/tile-reader.js';

/** specs §8.2: log key (the Go test seed) for origin example.com/testlog. */
export const LOG_ORIGIN = 'example.com/testlog';
export const LOG_SKEY = 'PRIVATE+KEY+example.com/testlog+3814a360+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
export const LOG_VKEY = 'example.com/testlog+3814a360+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
/** specs §8.2: the witness with the same seed, its type-0x04 vkey, and the signed 8-leaf checkpoint. */
export const SEED = new Uint8Array(Buffer.from('810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173', 'hex'));
export const WITNESS_NAME = 'witness.example/w1';
export const WITNESS_VKEY = 'witness.example/w1+cc9a7044+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
export const CHECKPOINT_8 =
  'example.com/testlog\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n' +
  '— example.com/testlog OBSjYCxDpu8fyr7NuKXgNXWu25Ks4wrlnX0eQ6wwwqxrq024FLZEvzeTT+bFbmvjSu2f7p78iGvweJAOSG9YRH8huA0=\n';
export const COSIGNATURE_8_AT_1679315147 =
  '— witness.example/w1 zJpwRAAAAABkGFDLcYi7M5vNiPX13OdYnOc3KT0Pet29CaRC0wiUYZK6wGoRB3Hm1NiveieDjjziesoFgTox1UrHDAs0IVVzXUY+CA==\n';
/** specs §8.1 leaves. */
export const LEAVES_8 = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (h) => new Uint8Array(Buffer.from(h, 'hex'))
);

/** A Merkle tree in memory that signs checkpoints with a log key. */
export class TestTree {
  private readonly nodes = new Map<string, Uint8Array>();
  private readonly frontier = new Frontier();
  constructor(
    readonly origin = LOG_ORIGIN,
    private readonly skey = LOG_SKEY
  ) {}

  /** Appends leaves (raw entries). */
  add(...entries: Uint8Array[]): this {
    for (const e of entries) {
      this.frontier.append(leafHash(e), (id, h) => this.nodes.set(key(id), new Uint8Array(h)));
    }
    return this;
  }

  /** Appends n distinct entries tagged `tag`. */
  grow(n: number, tag = 'a'): this {
    const start = this.size;
    for (let i = 0; i < n; i++) this.add(new TextEncoder().encode(`${tag}-${start + i}`));
    return this;
  }

  get size(): number {
    return this.frontier.size;
  }

  root(size = this.size): Uint8Array {
    return treeRoot(size, (id) => this.get(id));
  }

  proof(from: number, to = this.size): Uint8Array[] {
    return from === 0 ? [] : proveConsistency(from, to, (id) => this.get(id));
  }

  /** The signed checkpoint note of the tree at `size`. */
  checkpoint(size = this.size, skeys: string[] = [this.skey]): string {
    const text = formatCheckpoint({ origin: this.origin, size, rootHash: this.root(size) });
    return signNote(text, skeys.map((k) => ed25519Signer(k)));
  }

  private get(id: NodeId): Uint8Array {
    const h = this.nodes.get(key(id));
    if (h === undefined) throw new Error(`no node ${key(id)}`);
    return h;
  }
}

function key(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/** The add-checkpoint body. */
export function addBody(old: number, proof: Uint8Array[], note: string): string {
  return `old ${old}\n${proof.map((h) => Buffer.from(h).toString('base64') + '\n').join('')}\n${note}`;
}

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'candor-witness-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a witness key (the §8.2 seed by default) where openWitness will find it. */
export async function writeWitnessKey(dir: string, name = WITNESS_NAME, seed: Uint8Array = SEED): Promise<void> {
  await writeFile(join(dir, 'witness.key'), formatSignerKey(name, seed) + '\n', { mode: 0o600 });
}

/** A witness on a fresh or given data directory; lines it warns are collected. */
export async function openTestWitness(
  dir: string,
  overrides: Partial<WitnessConfig> = {}
): Promise<OpenWitness & { warnings: string[] }> {
  const warnings: string[] = [];
  const w = await openWitness({
    dataDir: dir,
    name: WITNESS_NAME,
    logs: [{ origin: LOG_ORIGIN, verifierKeys: [LOG_VKEY] }],
    warn: (line) => warnings.push(line),
    now: () => 1679315147_000,
    ...overrides,
  });
  return Object.assign(w, { warnings });
}

/** A fetch that sends `http://<host>/...` to the Hono app registered for that host. */
export function routeFetch(apps: Record<string, Hono | undefined>): FetchFn & { log: string[] } {
  const log: string[] = [];
  const fn = async (url: string, init?: RequestInit): Promise<Response> => {
    const u = new URL(url);
    log.push(`${init?.method ?? 'GET'} ${u.host}${u.pathname}`);
    const app = apps[u.host];
    if (app === undefined) throw new TypeError(`fetch failed: ${u.host} is down`);
    return app.request(u.pathname + u.search, init);
  };
  return Object.assign(fn, { log });
}

/** POSTs an add-checkpoint body to an app. */
export function post(app: Hono, path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers };
  return Promise.resolve(app.request(path, init));
}
