/**
 * A tiny in-process log that speaks the record API the governance CLI uses
 * (`POST /v1/records[?wait=witnessed]`, `GET /v1/entries/<n>`), built from candor's pieces:
 * verifyRecord against an allowlist, byte-level deduplication, an RFC 6962 tree (the
 * reference implementation), a log-signed checkpoint and optionally a witness
 * cosignature. Knobs make it fail the ways a real log can.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatCheckpoint } from '../../src/checkpoint/checkpoint.js';
import {
  cosignatureV1Signer,
  formatCosignerVerifierKey,
} from '../../src/checkpoint/cosignature.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { ed25519Signer, formatSignerKey, formatVerifierKey } from '../../src/note/keys.js';
import { signNote } from '../../src/note/note.js';
import { STATUS } from '../../src/server/errors.js';
import type { SubmitterList } from '../../src/governance/submitters.js';
import { verifyRecord } from '../../src/governance/verify-record.js';
import { isLogError } from '../../src/util/errors.js';
import { ReferenceTree, refLeafHash } from '../helpers/reference-tree.js';

const LOG_ORIGIN = 'records.test/log';
const LOG_SEED = new Uint8Array(32).fill(3);
const LOG_SKEY = formatSignerKey(LOG_ORIGIN, LOG_SEED);
const LOG_VKEY = formatVerifierKey(LOG_ORIGIN, 0x01, ed25519PublicKey(LOG_SEED));
const WITNESS_NAME = 'witness.test/w1';
const WITNESS_SKEY = formatSignerKey(WITNESS_NAME, new Uint8Array(32).fill(7));
/** The fake witness's cosigner verifier key. */
export const WITNESS_VKEY = formatCosignerVerifierKey(
  WITNESS_NAME,
  ed25519PublicKey(new Uint8Array(32).fill(7))
);

/** How the fake log misbehaves. */
export interface FakeKnobs {
  /** Answer this many requests with 503 PUSHBACK first. */
  pushback: number;
  /** Answer this many `?wait=witnessed` requests with 504 TIMEOUT (after logging). */
  witnessTimeouts: number;
  /** Answer with the receipt of another entry. */
  wrongLeaf: boolean;
}

/** A running fake log. */
export interface FakeLog {
  url: string;
  entries: Uint8Array[];
  requests: number;
  knobs: FakeKnobs;
  /** A tlog-policy trusting this log and requiring its witness. */
  policy(): string;
  close(): Promise<void>;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Starts a fake log on 127.0.0.1 checking records against `list`. */
export async function startFakeLog(list: () => SubmitterList): Promise<FakeLog> {
  const entries: Uint8Array[] = [];
  const knobs: FakeKnobs = { pushback: 0, witnessTimeouts: 0, wrongLeaf: false };
  const log = { entries, requests: 0, knobs } as FakeLog;
  const signer = ed25519Signer(LOG_SKEY);
  const cosigner = cosignatureV1Signer(WITNESS_SKEY, () => 1_700_000_000);

  function receipt(
    index: number,
    duplicate: boolean,
    witnessed: boolean,
    envelopeDigest: string
  ): object {
    const leaves = entries.map((e) => refLeafHash(e));
    const tree = ReferenceTree.of(leaves);
    const size = entries.length;
    const shown = knobs.wrongLeaf && size > 1 ? (index === 0 ? 1 : 0) : index;
    const text = formatCheckpoint({ origin: LOG_ORIGIN, size, rootHash: tree.root(size) });
    return {
      index: shown,
      leafHash: b64(leaves[shown]!),
      duplicate,
      checkpoint: signNote(text, witnessed ? [signer, cosigner] : [signer]),
      inclusionProof: tree.inclusion(shown, size).map(b64),
      record: { envelopeDigest },
    };
  }

  const server: Server = createServer((req, res) => {
    log.requests++;
    const send = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    const entryMatch = /^\/v1\/entries\/([0-9]+)$/.exec(url.pathname);
    if (req.method === 'GET' && entryMatch !== null) {
      const e = entries[Number(entryMatch[1])];
      if (e === undefined)
        return send(404, { error: { code: 'NOT_FOUND', message: 'no such entry' } });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(Buffer.from(e));
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/records') {
      return send(404, { error: { code: 'NOT_FOUND', message: 'not found' } });
    }
    void body(req).then((bytes) => {
      if (knobs.pushback > 0) {
        knobs.pushback--;
        res.setHeader('retry-after', '0');
        return send(503, { error: { code: 'PUSHBACK', message: 'busy' } });
      }
      let record;
      try {
        record = verifyRecord(bytes, list());
      } catch (err) {
        if (!isLogError(err)) throw err;
        return send(STATUS[err.code], { error: { code: err.code, message: err.message } });
      }
      let index = entries.findIndex((e) => Buffer.from(e).equals(Buffer.from(record.entry)));
      const duplicate = index >= 0;
      if (!duplicate) index = entries.push(record.entry) - 1;
      const witnessed = url.searchParams.get('wait') === 'witnessed';
      if (witnessed && knobs.witnessTimeouts > 0) {
        knobs.witnessTimeouts--;
        return send(504, {
          error: { code: 'TIMEOUT', message: `entry ${index} is logged; no quorum yet` },
        });
      }
      send(200, receipt(index, duplicate, witnessed, record.envelopeDigest));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  log.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.policy = () => `log ${LOG_VKEY} ${log.url}\nwitness w1 ${WITNESS_VKEY}\nquorum w1\n`;
  log.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return log;
}
