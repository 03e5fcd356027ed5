/**
 * Request bodies for the witness benchmark (child process): `--logs` logs, each with its
 * own key, and for each `--steps` add-checkpoint bodies (c2sp.org/tlog-witness) that grow
 * its tree one entry at a time: `old k`, the consistency proof from k to k + 1, and the
 * log-signed checkpoint of size k + 1. Writes the bodies as JSON to `--out` and prints one
 * JSON line with the `--log ORIGIN=VKEY` specs to start the witness with.
 */
import { writeFile } from 'node:fs/promises';
import { formatCheckpoint } from '../src/checkpoint/checkpoint.js';
import { leafHash } from '../src/merkle/hash.js';
import { Frontier, proveConsistency, type NodeId } from '../src/merkle/tree.js';
import { generateSignerKey } from '../src/note/keys.js';
import { signNote } from '../src/note/note.js';
import { formatAddCheckpointRequest } from '../src/witness/request.js';
import { nodeEd25519Signer, useNodeSha256 } from '../src/server/node-crypto.js';
import { flags, makeEntry, num } from './common.js';

useNodeSha256();
const f = flags(process.argv.slice(2));
const logs = num(f, 'logs', 64);
const steps = num(f, 'steps', 200);
const out = f.get('out');
if (out === undefined) throw new Error('--out is required');

// One tree shared by every log (their checkpoints differ by origin and key).
const nodes = new Map<string, Uint8Array>();
const frontier = new Frontier();
const roots: Uint8Array[] = [];
for (let i = 0; i < steps; i++) {
  frontier.append(leafHash(makeEntry(i)), (id, h) => nodes.set(`${id.level}/${id.index}`, h));
  roots.push(frontier.root());
}
const getNode = (id: NodeId): Uint8Array => nodes.get(`${id.level}/${id.index}`)!;
const proofs = roots.map((_, k) => (k === 0 ? [] : proveConsistency(k, k + 1, getNode)));

const specs: string[] = [];
const bodies: string[][] = [];
for (let l = 0; l < logs; l++) {
  const origin = `bench.example/log${l}`;
  const { signerKey, verifierKey } = generateSignerKey(origin);
  const signer = nodeEd25519Signer(signerKey);
  specs.push(`${origin}=${verifierKey}`);
  bodies.push(
    roots.map((rootHash, k) => {
      const note = signNote(formatCheckpoint({ origin, size: k + 1, rootHash }), [signer]);
      return formatAddCheckpointRequest(k, proofs[k]!, note);
    })
  );
}
await writeFile(out, JSON.stringify(bodies));
console.log(JSON.stringify({ logs: specs, steps }));
