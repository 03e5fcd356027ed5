/**
 * Shared fixtures for the client tests: an in-process candor log served through an injected
 * fetch, three deterministic witnesses that cosign its checkpoints, and policy texts.
 */
import { createApp } from '../../src/server/app.js';
import { cosignatureV1Signer, formatCosignerVerifierKey } from '../../src/checkpoint/cosignature.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { formatSignerKey } from '../../src/note/keys.js';
import { parseNote, signNote } from '../../src/note/note.js';
import { openTestLog, makeEntry, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import type { Log } from '../../src/log/log.js';
import type { Hono } from 'hono';

export { TEST_ORIGIN, TEST_VERIFIER_KEY, TEST_SIGNER_KEY, makeEntry } from '../helpers/test-log.js';

/** The time witnesses put in their cosignatures (POSIX seconds): 2023-11-14T22:13:20Z. */
export const COSIGN_TIME = 1_700_000_000;
/** "Now" for verifiers, in milliseconds: a minute after COSIGN_TIME. */
export const NOW_MS = (COSIGN_TIME + 60) * 1000;
export const now = (): number => NOW_MS;

export interface TestWitness {
  name: string;
  verifierKey: string;
  cosign: (text: Uint8Array) => Uint8Array;
  signer: ReturnType<typeof cosignatureV1Signer>;
}

/** Witness i (1-based): key name `w<i>.example`, deterministic seed. */
export function witness(i: number, time = COSIGN_TIME): TestWitness {
  const name = `w${i}.example`;
  const seed = new Uint8Array(32).map((_, k) => (i * 37 + k * 11) % 256);
  const signer = cosignatureV1Signer(formatSignerKey(name, seed), () => time);
  return {
    name,
    verifierKey: formatCosignerVerifierKey(name, ed25519PublicKey(seed)),
    cosign: (t) => signer.sign(t),
    signer,
  };
}

export const W1 = witness(1);
export const W2 = witness(2);
export const W3 = witness(3);

/** Adds cosignature lines by `witnesses` to a signed checkpoint note (after its lines). */
export function cosign(note: string, witnesses: readonly TestWitness[]): string {
  const parsed = parseNote(note);
  return signNote(parsed.text, witnesses.map((w) => w.signer), parsed.signatures);
}

/** A policy: the test log, witnesses w1–w3 (policy names w1, w2, w3), and `quorum`. */
export function policyText(quorum = 'two', groups = 'group two 2 w1 w2 w3\n'): string {
  return (
    `# test policy\nlog ${TEST_VERIFIER_KEY}\n` +
    `witness w1 ${W1.verifierKey}\nwitness w2 ${W2.verifierKey}\nwitness w3 ${W3.verifierKey}\n` +
    `${groups}quorum ${quorum}\n`
  );
}

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export const BASE = 'http://log.test';

/** An in-process log with `count` entries (makeEntry(0..count-1)) and its app and fetch. */
export async function servedLog(
  count: number,
  chunk = 4096
): Promise<{ log: Log; app: Hono; fetch: Fetch; entries: Uint8Array[] }> {
  const { log } = await openTestLog();
  const entries = Array.from({ length: count }, (_, i) => makeEntry(i));
  for (let i = 0; i < count; i += chunk) await log.addMany(entries.slice(i, i + chunk));
  const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
  const fetch: Fetch = async (url, init) => app.request(url, init);
  return { log, app, fetch, entries };
}

/** Flips one bit of a base64 line at character `at` (keeps it canonical when not at the end). */
export function flipBase64Char(s: string, at: number): string {
  const c = s[at]!;
  const r = c === 'A' ? 'B' : 'A';
  return s.slice(0, at) + r + s.slice(at + 1);
}
