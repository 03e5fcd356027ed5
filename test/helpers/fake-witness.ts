/**
 * Test doubles for witnessing: a fake clock with timers that only move when told, and
 * in-process witnesses speaking c2sp.org/tlog-witness v1.0.0 with a real cosignature/v1
 * signer and the real state rule (accept only `old == stored size` with a verifying
 * consistency proof, else 409 with the stored size), reached through an injected fetch.
 */
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { cosignatureV1Signer, formatCosignerVerifierKey } from '../../src/checkpoint/cosignature.js';
import {
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  type Signer,
  type Verifier,
} from '../../src/note/keys.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { formatSignatureLine } from '../../src/note/note.js';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { EMPTY_ROOT } from '../../src/merkle/hash.js';
import type { Clock, FetchFn, WitnessConfig } from '../../src/log/witness-protocol.js';

/** Lets pending promise chains (fetch, proofs, stream reads) run to completion. */
export async function settle(ticks = 10): Promise<void> {
  for (let i = 0; i < ticks; i++) await new Promise((r) => setImmediate(r));
}

/** A clock whose timers fire only from advance(), in time order. */
export class FakeClock implements Clock {
  private t = 1_700_000_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = end;
  }
}

/** How a fake witness behaves. */
export type WitnessMode =
  | 'ok'
  /** Answers 200 with a cosignature whose signature bytes are corrupted. */
  | 'bogus'
  /** fetch rejects, as for a refused connection. */
  | 'down'
  /** fetch never settles and ignores the abort signal. */
  | 'hang'
  /** Always answers this status with a short text body. */
  | { status: number };

/** An in-process witness for one log. */
export class FakeWitness {
  readonly vkey: string;
  readonly url: string;
  mode: WitnessMode = 'ok';
  /** The latest cosigned state: the witness's whole memory for the log. */
  size = 0;
  root: Uint8Array = EMPTY_ROOT;
  readonly bodies: string[] = [];
  private readonly signer: Signer;
  private readonly logVerifier: Verifier;

  /**
   * @param label the witness's configured name
   * @param seedByte makes a distinct key
   * @param vkeyType 0x04 (spec form) or 0x01 (how many witness keys are published)
   */
  constructor(
    readonly label: string,
    seedByte: number,
    private readonly origin: string,
    logVerifierKey: string,
    clock: Clock,
    vkeyType: 0x01 | 0x04 = 0x04
  ) {
    const seed = new Uint8Array(32).fill(seedByte);
    const keyName = `witness.example/${label}`;
    this.signer = cosignatureV1Signer(formatSignerKey(keyName, seed), () =>
      Math.floor(clock.now() / 1000)
    );
    this.vkey =
      vkeyType === 0x04
        ? formatCosignerVerifierKey(keyName, ed25519PublicKey(seed))
        : formatVerifierKey(keyName, 0x01, ed25519PublicKey(seed));
    this.url = `https://witness.example/${label}`;
    this.logVerifier = ed25519Verifier(logVerifierKey);
  }

  /** This witness as candor configures it. */
  get config(): WitnessConfig {
    return { name: this.label, verifierKey: this.vkey, url: this.url };
  }

  /** Handles `POST /add-checkpoint` (specs §6.1). */
  handle(body: string): Response {
    this.bodies.push(body);
    if (typeof this.mode === 'object') return text(this.mode.status, 'refused\n');
    const split = body.indexOf('\n\n');
    if (split < 0) return text(400, 'no blank line\n');
    const [oldLine, ...proofLines] = body.slice(0, split).split('\n');
    const m = /^old (0|[1-9][0-9]*)$/.exec(oldLine ?? '');
    if (m === null) return text(400, 'bad old line\n');
    const old = Number(m[1]);
    const proof = proofLines.map((l) => new Uint8Array(Buffer.from(l, 'base64')));
    if (proofLines.some((l, i) => Buffer.from(proof[i]!).toString('base64') !== l)) {
      return text(400, 'bad proof line\n');
    }
    let opened;
    try {
      opened = openCheckpoint(body.slice(split + 2), this.logVerifier);
    } catch {
      return text(403, 'not signed by the log\n');
    }
    const { checkpoint: cp, note } = opened;
    if (cp.origin !== this.origin) return text(404, 'unknown log\n');
    if (old > cp.size) return text(400, 'old is beyond the checkpoint\n');
    if (old !== this.size) {
      return new Response(`${this.size}\n`, { status: 409, headers: { 'Content-Type': 'text/x.tlog.size' } });
    }
    try {
      if (old === 0) {
        if (proof.length !== 0) return text(422, 'proof from 0 must be empty\n');
      } else {
        verifyConsistency(old, cp.size, proof, this.root, cp.rootHash);
      }
    } catch {
      return text(422, 'bad consistency proof\n');
    }
    this.size = cp.size;
    this.root = cp.rootHash;
    const sig = this.signer.sign(new TextEncoder().encode(note.text));
    if (this.mode === 'bogus') sig[20]! ^= 1;
    return new Response(formatSignatureLine(this.signer.name, this.signer.keyId, sig), { status: 200 });
  }
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain' } });
}

/** A fetch that routes `<witness url>/add-checkpoint` to the fake witnesses; counts calls. */
export function fakeFetch(witnesses: readonly FakeWitness[]): FetchFn & { calls: number } {
  const fn = async (url: string, init: RequestInit): Promise<Response> => {
    fn.calls++;
    const w = witnesses.find((x) => url === `${x.url}/add-checkpoint`);
    if (w === undefined || init.method !== 'POST') return text(404, 'no such witness\n');
    if (w.mode === 'down') throw new TypeError('fetch failed: connection refused');
    if (w.mode === 'hang') return new Promise<Response>(() => {});
    await Promise.resolve();
    return w.handle(init.body as string);
  };
  fn.calls = 0;
  return fn;
}
