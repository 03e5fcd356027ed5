/**
 * The fuzz targets: every parser of input from outside candor's process, each with valid
 * examples to mutate (seeds), a dictionary of tokens of its format, and `run`, which parses
 * one input the way candor's own callers do (and checks what must hold of what it accepts).
 *
 * A run "passes" when it returns or throws an accepted error (isAcceptedError); anything
 * else it throws is a crash. Inputs are bytes; text parsers get them decoded as UTF-8 with
 * replacement, the way a caller reading a file or a Response's text() would, and the
 * parsers that take bytes get them raw.
 */
import type { Hono } from 'hono';
import { LogError } from '../../src/util/errors.js';
import { EvidenceError } from '../../src/evidence/errors.js';
import { parseNote, signNote, verifyNote } from '../../src/note/note.js';
import { ed25519Signer, ed25519Verifier, formatSignerKey, formatVerifierKey, parseSignerKey, parseVerifierKey } from '../../src/note/keys.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { cosignatureV1Signer, cosignatureV1Verifier, formatCosignerVerifierKey } from '../../src/checkpoint/cosignature.js';
import { formatTilePath, parseTileIndex, parseTilePath } from '../../src/merkle/tiles.js';
import { leafHash, nodeHash } from '../../src/merkle/hash.js';
import { formatProofFile, verifyProofFile } from '../../src/client/proof-file.js';
import { evaluateQuorum, parsePolicy } from '../../src/client/policy.js';
import { openCheckpointWithPolicy } from '../../src/client/open.js';
import { parseReceipt, receiptToProofFile } from '../../src/client/receipt.js';
import { encodeEnvelope, parseEnvelope } from '../../src/governance/dsse.js';
import { parseStatement } from '../../src/governance/intoto.js';
import { validateGovernancePredicate, validateGovernanceStatement } from '../../src/governance/predicate.js';
import { parseStrictJson, stableStringify } from '../../src/governance/strict-json.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import { verifyRecord } from '../../src/governance/verify-record.js';
import { parsePrivateKey, parsePublicKey } from '../../src/governance/keys.js';
import { snapshotConfig } from '../../src/governance/config-snapshot.js';
import { parseBatchBody } from '../../src/server/batch.js';
import { checkRequestTarget } from '../../src/server/request-guard.js';
import { parseAddCheckpointRequest, formatAddCheckpointRequest } from '../../src/witness/request.js';
import * as witnessCodec from '../../src/witness/codec.js';
import { parseLogSpec, parsePeerSpec, parseUrlPrefix } from '../../src/witness/config.js';
import * as storeCodec from '../../src/storage/codec.js';
import { parseRulesFile } from '../../src/monitor/rules/file.js';
import { parseState, STATE_FORMAT } from '../../src/monitor/state.js';
import { parseSearchParams } from '../../src/search/query.js';
import { formatConsistencyProof, parseConsistencyProof } from '../../src/evidence/manifest.js';
import { utf8 } from '../../src/util/bytes.js';
import { RKEYS, deployment, recordsAllowlist, signed, startRecordsFixture } from '../../test/governance/records-fixture.js';
import { dssePublicCompact, ed25519Pem, RFC8032, dssePrivatePem } from '../../test/governance/helpers.js';

/** One parser under fuzzing. */
export interface FuzzTarget {
  name: string;
  /** What it parses, for the report. */
  what: string;
  seeds: Uint8Array[];
  dictionary: string[];
  /** Parses one input; returns or throws an accepted error, or fails (a crash). */
  run(input: Uint8Array): void | Promise<void>;
  /** Releases what the target opened (an in-process app). */
  close?(): Promise<void>;
}

/**
 * The errors a parser may throw for bad input: candor's coded errors. Exactly:
 * - LogError with a code of src/util/errors.ts (every parser);
 * - EvidenceError with its code (src/evidence/errors.ts; the evidence-pack parsers).
 * Anything else (TypeError, RangeError, SyntaxError, a plain Error, a non-Error) is a crash.
 */
export function isAcceptedError(err: unknown): boolean {
  if (err instanceof LogError) return typeof err.code === 'string' && err.code.length > 0;
  if (err instanceof EvidenceError) return typeof err.code === 'string' && err.code.length > 0;
  return false;
}

/** A property that must hold of what a parser accepted; thrown as a crash. */
class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';
}

function must(cond: boolean, what: string): void {
  if (!cond) throw new PropertyViolation(what);
}

/**
 * Runs several parsers of one input (a flag or key that may be any of several forms): a
 * crash in any is a crash; accepted when one of them accepts; else the last refusal.
 */
function anyOf(parsers: ReadonlyArray<() => unknown>): void {
  let refusal: unknown;
  let accepted = false;
  for (const p of parsers) {
    try {
      p();
      accepted = true;
    } catch (err) {
      if (!isAcceptedError(err)) throw err;
      refusal = err;
    }
  }
  if (!accepted) throw refusal;
}

const lossy = new TextDecoder('utf-8', { fatal: false });
const text = (b: Uint8Array): string => lossy.decode(b);
const b = (s: string): Uint8Array => utf8(s);
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');

// Fixed keys: the log, a witness, and the record signers of the governance tests.
const ORIGIN = 'fuzz.example/log';
const LOG_SKEY = formatSignerKey(ORIGIN, new Uint8Array(32).fill(7));
const LOG_VKEY = formatVerifierKey(ORIGIN, 0x01, ed25519PublicKey(new Uint8Array(32).fill(7)));
const W_SEED = new Uint8Array(32).fill(9);
const W_SKEY = formatSignerKey('witness.example/w1', W_SEED);
const W_VKEY = formatCosignerVerifierKey('witness.example/w1', ed25519PublicKey(W_SEED));
const logVerifier = ed25519Verifier(LOG_VKEY);
const logSigner = ed25519Signer(LOG_SKEY);
const NOW_S = 1_780_000_000;
const witnessVerifier = cosignatureV1Verifier(W_VKEY);
const witnessSigner = cosignatureV1Signer(W_SKEY, () => NOW_S);

/** A tiny tree of three leaves, its checkpoints and an inclusion proof, for the seeds. */
const LEAVES = ['entry 0', 'entry 1', 'entry 2'].map((s) => b(s));
const H = LEAVES.map((l) => leafHash(l));
const ROOT3 = nodeHash(nodeHash(H[0]!, H[1]!), H[2]!);
const ROOT2 = nodeHash(H[0]!, H[1]!);
const CP3 = formatCheckpoint({ origin: ORIGIN, size: 3, rootHash: ROOT3 });
const CP2 = formatCheckpoint({ origin: ORIGIN, size: 2, rootHash: ROOT2 });
const NOTE3 = signNote(CP3, [logSigner]);
const NOTE2 = signNote(CP2, [logSigner]);
const COSIGNED3 = signNote(CP3, [logSigner, witnessSigner]);
const POLICY_NONE = `log ${LOG_VKEY} https://log.example/\nquorum none\n`;
const POLICY_W = `# one witness\nlog ${LOG_VKEY}\nwitness w1 ${W_VKEY} https://w1.example/\ngroup g 1 w1\nquorum g\n`;
const policyNone = parsePolicy(POLICY_NONE);
const policyW = parsePolicy(POLICY_W);
// Inclusion of leaf 0 in the tree of 3: its sibling H1, then H2.
const PROOF0 = formatProofFile({ index: 0, proof: [H[1]!, H[2]!], checkpoint: NOTE3, extra: H[0]! });
const PROOF2 = formatProofFile({ index: 2, proof: [ROOT2], checkpoint: COSIGNED3 });

const NOTE_TOKENS = ['— ', '—', ORIGIN, 'witness.example/w1', '+', '\n\n', '\n— ', 'fuzz.example/log+'];

const submitters = parseSubmitters(b(recordsAllowlist()));
const RECORD_ALICE = signed(deployment('fraud', 'prod', 'ab'.repeat(32), { reason: 'Q3 retrain', ticket: 'AI-7' }), RKEYS.alice);
const RECORD_CI = signed(deployment('chat', 'staging', 'cd'.repeat(32)), RKEYS.ci);
const RECORD_MALLORY = signed(deployment('chat', 'prod', 'ef'.repeat(32)), RKEYS.mallory);
const envelopeOf = (entry: Uint8Array): { payload: Uint8Array } => parseEnvelope(entry);
const STATEMENT = envelopeOf(RECORD_ALICE).payload;
const PREDICATE = b(stableStringify((JSON.parse(text(STATEMENT)) as { predicate: unknown }).predicate));
const GOV_TOKENS = [
  '"_type"', '"subject"', '"predicateType"', '"predicate"', '"digest"', '"sha256"', '"sha512"', '"name"',
  '"payload"', '"payloadType"', '"signatures"', '"keyid"', '"sig"', '"changeType"', '"deployment"',
  '"model"', '"environment"', '"reason"', '"approval"', '"config"', '"parameters"', '"approves"',
  'https://in-toto.io/Statement/v1', 'https://candor.dev/governance-record/v1', 'application/vnd.in-toto+json',
  '"\\ud800"', '"\\u0000"', '\\u00e9', '"a":1,"a":2', '[[[[[[[[[[[[[[[[', ']]]]]]]]]]]]]]]]',
];

const RULES = {
  notify: ['stdout', 'pager'],
  actions: {
    pager: { type: 'webhook', urlEnv: 'PAGER_URL', secretEnv: 'PAGER_SECRET', attempts: 5, backoff: '2s', maxBackoff: '1m' },
    register: { type: 'file', path: '/var/log/candor/alerts.jsonl' },
    ticket: { type: 'command', command: '/etc/candor/open-ticket.sh', timeout: '20s' },
  },
  rules: [
    { name: 'prod-signers', condition: 'unexpected-signer', match: { env: ['prod-*'] }, signers: ['release-ci'] },
    {
      name: 'prod-approval',
      condition: 'unapproved-change',
      match: { env: 'prod-*', changeType: ['model-update', 'deployment'] },
      within: '30m',
      actions: ['pager', 'ticket'],
    },
    {
      name: 'guardrails',
      condition: 'parameter-lowered',
      match: { model: 'support-*' },
      parameters: [
        { name: 'guardrail.*_threshold', risky: 'decrease' },
        { name: 'temperature', risky: 'increase' },
      ],
    },
    { name: 'reasons', condition: 'missing-reason', severity: 'page', requireTicket: true, minLength: 10, actions: 'register' },
  ],
};
const rulesEnv = (name: string): string | undefined =>
  ({ PAGER_URL: 'https://pager.example/hook', PAGER_SECRET: 'whsec_c2VjcmV0IGtleSBieXRlcw==' })[name];

const MONITOR_STATE = {
  format: STATE_FORMAT,
  origin: ORIGIN,
  url: 'https://log.example/',
  checkpoint: NOTE3,
  next: 3,
  updated: '2026-03-03T12:00:00.000Z',
  halt: null,
  alerts: [],
};

/** The in-process app for the query-string target: a log with records, three entries. */
async function queryApp(): Promise<{ app: Hono; close: () => Promise<void> }> {
  const f = await startRecordsFixture();
  await f.submit(RECORD_ALICE);
  for (const e of ['a', 'b']) await f.app.request('/v1/entries', { method: 'POST', body: e });
  return { app: f.app, close: async () => f.log.drain() };
}

/** The longest request target the query target sends (node:http's header limit). */
const MAX_TARGET = 16 * 1024;

/** Printable ASCII kept, every other byte percent-encoded: always a valid request target. */
function asTarget(input: Uint8Array): string {
  let s = input[0] === 0x2f ? '' : '/';
  for (const c of input) {
    if (c > 0x20 && c < 0x7f && c !== 0x23) s += String.fromCharCode(c);
    else s += `%${c.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return s;
}

/** Builds every target (the query target opens an in-process log). */
export async function buildTargets(): Promise<FuzzTarget[]> {
  const q = await queryApp();
  const targets: FuzzTarget[] = [
    {
      name: 'note',
      what: 'signed notes (src/note): parseNote, then verifyNote with the log and a witness key',
      seeds: [NOTE3, NOTE2, COSIGNED3].map(b),
      dictionary: NOTE_TOKENS,
      run(input) {
        const parsed = parseNote(input);
        const opened = verifyNote(parsed, [logVerifier, witnessVerifier]);
        // Repeated lines count once; every signature returned is one of the note's.
        const lines = new Set(parsed.signatures.map((x) => x.line));
        const returned = [...opened.verified, ...opened.unverified];
        must(returned.every((x) => lines.has(x.line)) && returned.length <= lines.size, 'signatures invented');
      },
    },
    {
      name: 'checkpoint',
      what: 'checkpoints (src/checkpoint): openCheckpoint with the log key and origin, parseCheckpoint',
      seeds: [NOTE3, NOTE2, CP3, `${CP3.slice(0, -1)}\nextension line\n`].map(b),
      dictionary: NOTE_TOKENS,
      run(input) {
        try {
          const { checkpoint } = openCheckpoint(input, logVerifier, { origin: ORIGIN });
          must(checkpoint.rootHash.length === 32 && Number.isSafeInteger(checkpoint.size), 'bad checkpoint accepted');
        } catch (err) {
          if (!isAcceptedError(err)) throw err;
          // Not a signed note: the bare body parser gets the text too (then the first error).
          parseCheckpoint(text(input), { allowExtensions: true });
          throw err;
        }
      },
    },
    {
      name: 'cosignature',
      what: 'cosigned checkpoints against a policy with a witness quorum (cosignature/v1 lines)',
      seeds: [COSIGNED3, NOTE3].map(b),
      dictionary: [...NOTE_TOKENS, '— witness.example/w1 '],
      run(input) {
        const cp = openCheckpointWithPolicy(input, policyW, { now: () => NOW_S * 1000 });
        must(cp.witnesses.length >= 1, 'quorum met without a witness');
      },
    },
    {
      name: 'tile-path',
      what: 'tile paths (src/merkle/tiles.ts): parseTilePath, parseTileIndex; accepted paths are canonical',
      seeds: ['tile/0/000', 'tile/0/x001/234.p/5', 'tile/entries/x123/x456/789', 'tile/63/000.p/255', 'tile/entries/000.p/1'].map(b),
      dictionary: ['tile/', 'entries/', 'x', '.p/', '/', '000', '999', 'x000/'],
      run(input) {
        const s = text(input);
        try {
          parseTileIndex(s.replace(/^tile\/[^/]*\//, ''));
        } catch (err) {
          if (!isAcceptedError(err)) throw err;
        }
        const t = parseTilePath(s);
        must(formatTilePath(t) === s, `tile path ${JSON.stringify(s)} accepted but not canonical`);
      },
    },
    {
      name: 'proof-file',
      what: 'tlog-proof files (src/client/proof-file.ts): verifyProofFile against a policy',
      seeds: [PROOF0, PROOF2].map(b),
      dictionary: ['c2sp.org/tlog-proof@v1\n', 'extra ', 'index ', '\n\n', ...NOTE_TOKENS],
      run(input) {
        const policy = input.length % 2 === 0 ? policyNone : policyW;
        verifyProofFile(input, LEAVES[0]!, policy, { now: () => NOW_S * 1000 });
      },
    },
    {
      name: 'receipt',
      what: 'receipts (src/client/receipt.ts): parseReceipt and receiptToProofFile of the JSON',
      seeds: [
        JSON.stringify({ index: 0, leafHash: b64(H[0]!), duplicate: false, checkpoint: NOTE3, inclusionProof: [b64(H[1]!), b64(H[2]!)] }),
        JSON.stringify({ index: 2, leafHash: b64(H[2]!), duplicate: true, checkpoint: COSIGNED3, inclusionProof: [b64(ROOT2)] }),
      ].map(b),
      dictionary: ['"index"', '"leafHash"', '"checkpoint"', '"inclusionProof"', '"duplicate"', ...NOTE_TOKENS],
      run(input) {
        parseReceipt(text(input));
        receiptToProofFile(text(input));
      },
    },
    {
      name: 'policy',
      what: 'tlog-policy files (src/client/policy.ts): parsePolicy, then evaluateQuorum',
      seeds: [POLICY_NONE, POLICY_W, `log ${LOG_VKEY}\nwitness a ${W_VKEY}\nwitness b ${formatCosignerVerifierKey('b.example', ed25519PublicKey(new Uint8Array(32).fill(3)))}\ngroup g all a b\ngroup h any g a\nquorum h\n`].map(b),
      dictionary: ['log ', 'witness ', 'group ', 'quorum ', 'none', 'all', 'any', '#', ' https://x.example/', LOG_VKEY, W_VKEY],
      run(input) {
        const p = parsePolicy(input);
        evaluateQuorum(p, ['w1', 'a']);
      },
    },
    {
      name: 'keys',
      what: 'note keys (src/note/keys.ts, cosignature.ts): verifier, signer and cosigner keys',
      seeds: [LOG_VKEY, LOG_SKEY, W_VKEY, W_SKEY].map(b),
      dictionary: ['PRIVATE+KEY+', '+', 'A', 'B', 'E'],
      run(input) {
        const s = text(input);
        anyOf([() => parseVerifierKey(s), () => parseSignerKey(s), () => cosignatureV1Verifier(s), () => ed25519Verifier(s)]);
      },
    },
    {
      name: 'dsse',
      what: 'DSSE envelopes (src/governance/dsse.ts): parseEnvelope; accepted envelopes re-encode',
      seeds: [RECORD_ALICE, RECORD_CI, RECORD_MALLORY],
      dictionary: GOV_TOKENS,
      run(input) {
        const env = parseEnvelope(input);
        parseEnvelope(encodeEnvelope(env));
      },
    },
    {
      name: 'statement',
      what: 'in-toto statements (src/governance/intoto.ts) and the governance predicate in them',
      seeds: [STATEMENT, envelopeOf(RECORD_CI).payload],
      dictionary: GOV_TOKENS,
      run(input) {
        validateGovernanceStatement(parseStatement(input));
      },
    },
    {
      name: 'predicate',
      what: 'the governance predicate (src/governance/predicate.ts, schema.ts), from strict JSON',
      seeds: [PREDICATE, b(stableStringify((JSON.parse(text(envelopeOf(RECORD_CI).payload)) as { predicate: unknown }).predicate))],
      dictionary: GOV_TOKENS,
      run(input) {
        validateGovernancePredicate(parseStrictJson(input, 'predicate'));
      },
    },
    {
      name: 'record',
      what: 'records as /v1/records takes them (src/governance/verify-record.ts): verifyRecord',
      seeds: [RECORD_ALICE, RECORD_CI, RECORD_MALLORY],
      dictionary: GOV_TOKENS,
      run(input) {
        verifyRecord(input, submitters);
      },
    },
    {
      name: 'strict-json',
      what: 'strict JSON (src/governance/strict-json.ts); what it accepts, JSON.parse reads the same',
      seeds: [STATEMENT, PREDICATE, b('{"a":[1,-2.5e3,true,null,"\\u00e9\\ud83d\\ude00"],"b":{"c":""}}'), b(recordsAllowlist())],
      dictionary: GOV_TOKENS,
      run(input) {
        const v = parseStrictJson(input, 'json');
        const s = text(input);
        must(stableStringify(v) === stableStringify(JSON.parse(s)), 'strict JSON and JSON.parse disagree');
      },
    },
    {
      name: 'batch',
      what: 'batch bodies (src/server/batch.ts), JSON and octet-stream; octet batches re-encode',
      seeds: [
        b(JSON.stringify({ entries: LEAVES.map(b64) })),
        b(JSON.stringify({ entries: [b64(new Uint8Array(300).fill(1))] })),
        Uint8Array.from([0, 3, 0x61, 0x62, 0x63, 0, 0, 0, 1, 0xff]),
      ],
      dictionary: ['{"entries":', '"entries"', '[', ']', '"AA=="', '\u0000\u0000', '\u00ff\u00ff'],
      run(input) {
        anyOf([
          () => parseBatchBody(input, 'application/json; charset=utf-8'),
          () => {
            const entries = parseBatchBody(input, 'application/octet-stream');
            let n = 0;
            for (const e of entries) n += 2 + e.length;
            must(n === input.length, 'octet batch does not account for every byte');
          },
        ]);
      },
    },
    {
      name: 'witness-request',
      what: 'witness add-checkpoint bodies (src/witness/request.ts)',
      seeds: [formatAddCheckpointRequest(2, [H[2]!], NOTE3), formatAddCheckpointRequest(0, [], NOTE2)].map(b),
      dictionary: ['old ', '\n\n', ...NOTE_TOKENS],
      run(input) {
        const r = parseAddCheckpointRequest(input);
        must(Number.isSafeInteger(r.old) && r.note.length > 0, 'bad request accepted');
      },
    },
    {
      name: 'witness-flags',
      what: 'witness flags (src/witness/config.ts): --log ORIGIN=VKEY@URL, --peer VKEY@URL, URL prefixes',
      seeds: [`${ORIGIN}=${LOG_VKEY}@https://log.example/`, `${W_VKEY}@https://w1.example/`, 'https://log.example/prefix/'].map(b),
      dictionary: ['=', '@', 'https://', 'http://', '/', LOG_VKEY, W_VKEY],
      run(input) {
        const s = text(input);
        anyOf([() => parseLogSpec(s), () => parsePeerSpec(s), () => parseUrlPrefix(s)]);
      },
    },
    {
      name: 'stored-records',
      what: 'stored records read back (src/witness/codec.ts, src/storage/codec.ts): corrupt bytes are CORRUPT',
      seeds: [
        witnessCodec.encodeState({ size: 3, rootHash: ROOT3, note: NOTE3, updated: 5 }),
        witnessCodec.encodeAlert({ id: 'a1', origin: ORIGIN, kind: 'inconsistent', time: 't', detail: 'd', source: 's', evidence: [NOTE2, NOTE3], cleared: null }),
        witnessCodec.encodeMeta({ name: 'w', verifierKey: W_VKEY }),
        storeCodec.encodeCheckpoint({ size: 3, rootHash: ROOT3, note: NOTE3 } as Parameters<typeof storeCodec.encodeCheckpoint>[0]),
        storeCodec.encodeMeta({ origin: ORIGIN, verifierKey: LOG_VKEY } as Parameters<typeof storeCodec.encodeMeta>[0]),
        storeCodec.encodeIndex(70000),
      ],
      dictionary: [],
      run(input) {
        anyOf(
          [
            witnessCodec.decodeState, witnessCodec.decodeAlert, witnessCodec.decodeMeta,
            storeCodec.decodeCheckpoint, storeCodec.decodeMeta, storeCodec.decodeDedupWatermark, storeCodec.decodeIndex,
          ].map((d) => () => d(input))
        );
      },
    },
    {
      name: 'submitters',
      what: 'submitter allowlists (src/governance/submitters.ts) and the keys in them',
      seeds: [b(recordsAllowlist()), b(JSON.stringify({ submitters: [{ name: 'p', roles: ['approver'], publicKey: dssePublicCompact() }] }))],
      dictionary: ['"submitters"', '"name"', '"roles"', '"publicKey"', '"environments"', '"engineer"', '"ci"', '"prod-*"'],
      run(input) {
        parseSubmitters(input);
      },
    },
    {
      name: 'governance-keys',
      what: 'record signing keys (src/governance/keys.ts): compact and PEM public keys, PEM private keys',
      seeds: [dssePublicCompact(), ed25519Pem(RFC8032.A.seed), dssePrivatePem(), Buffer.from(RKEYS.alice.publicKey.spki).toString('base64')].map(b),
      dictionary: ['-----BEGIN PUBLIC KEY-----\n', '-----END PUBLIC KEY-----\n', '-----BEGIN PRIVATE KEY-----\n', '-----END PRIVATE KEY-----\n', 'MCowBQYDK2VwAyEA'],
      run(input) {
        anyOf([() => parsePublicKey(text(input)), () => parsePrivateKey(input)]);
      },
    },
    {
      name: 'rules-file',
      what: 'monitor rules files (src/monitor/rules/file.ts)',
      seeds: [b(JSON.stringify(RULES)), b(JSON.stringify({ rules: [{ name: 'r', condition: 'unverified-record' }] }))],
      dictionary: ['"rules"', '"condition"', '"match"', '"within"', '"actions"', '"notify"', '"severity"', '"1h"', '"0s"', '"99999999999d"', '"*"', '"**"', '"prod-*"'],
      run(input) {
        parseRulesFile(input, { submitters, env: rulesEnv });
      },
    },
    {
      name: 'monitor-state',
      what: 'monitor state files (src/monitor/state.ts)',
      seeds: [b(JSON.stringify(MONITOR_STATE)), b(JSON.stringify({ ...MONITOR_STATE, checkpoint: null, next: 0 }))],
      dictionary: ['"format"', '"alerts"', '"halt"', '"rules"', '"next"', STATE_FORMAT],
      run(input) {
        parseState(text(input));
      },
    },
    {
      name: 'config-snapshot',
      what: 'model configuration files snapshotted into records (src/governance/config-snapshot.ts)',
      seeds: [b(JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: 0.8, pii_filter: true }, system_prompt: 'be kind', api_key: 'sk-x' }))],
      dictionary: ['"temperature"', '"api_key"', '"system_prompt"', '"password"', '{"a":{"b":{"c":{}}}}'],
      run(input) {
        snapshotConfig(input);
      },
    },
    {
      name: 'consistency-proof-file',
      what: 'evidence-pack consistency proofs (src/evidence/manifest.ts)',
      seeds: [b(formatConsistencyProof({ from: 2, to: 3, hashes: [b64(H[2]!), b64(ROOT2)] }))],
      dictionary: ['"from"', '"to"', '"hashes"'],
      run(input) {
        parseConsistencyProof(input);
      },
    },
    {
      name: 'query',
      what: 'request targets and query strings through the app (app.request in process), search parameters',
      seeds: [
        '/v1/proof/inclusion?index=1&size=3', '/v1/proof/inclusion?leafHash=' + encodeURIComponent(b64(H[0]!)) + '&size=3',
        '/v1/proof/consistency?from=1&to=3', '/v1/proof/bundle?index=0&size=3', '/v1/entries/1', '/tile/0/000.p/3',
        '/tile/entries/000.p/3', '/v1/search?model=fraud&env=prod&changeType=deployment&limit=5&order=desc',
        '/v1/search?subject=sha256:' + 'ab'.repeat(32) + '&since=2026-01-01T00:00:00Z', '/v1/records/0', '/checkpoint',
        '/v1/checkpoint/witnessed', '/v1/info', '/healthz', '/metrics', '/v1/entries/0?wait=witnessed',
      ].map(b),
      dictionary: ['?', '&', '=', 'index', 'size', 'from', 'to', 'leafHash', 'model', 'env', 'signer', 'limit', 'after', 'wait', '%', '%2F', '..', './', '//'],
      async run(input) {
        // node:http refuses a request head over 16 KiB (431) before any handler runs, so
        // longer targets are cut there: beyond it they test nothing a client can send.
        const target = asTarget(input.subarray(0, MAX_TARGET));
        const qmark = target.indexOf('?');
        try {
          parseSearchParams(new URLSearchParams(qmark < 0 ? '' : target.slice(qmark + 1)));
        } catch (err) {
          if (!isAcceptedError(err)) throw err;
        }
        // The guard sees the target as the app gets it: in process, Request's URL parser has
        // already resolved dot segments (over a socket the raw form reaches the guard, which
        // test/server/request-target.test.ts checks); percent-encoding it keeps.
        const seen = new URL(`http://localhost${target}`);
        let guarded = false;
        try {
          checkRequestTarget(seen.pathname + seen.search);
        } catch (err) {
          if (!isAcceptedError(err)) throw err;
          guarded = true;
        }
        const res = await q.app.request(target);
        const body = await res.text();
        must(res.status !== 500, `HTTP 500 for ${target}: ${body.slice(0, 300)}`);
        must(!(guarded && res.status === 200), `${target} is refused by the guard but answered 200`);
        if (res.status >= 400) {
          const parsed = JSON.parse(body) as { error?: { code?: unknown } };
          must(typeof parsed.error?.code === 'string', `error answer without a code for ${target}`);
        }
      },
      close: q.close,
    },
  ];
  return targets;
}

/** The names of the targets (without building them), the slowest first for the worker pool. */
export const TARGET_NAMES = [
  'governance-keys', 'query', 'submitters', 'stored-records', 'record', 'note', 'rules-file', 'cosignature',
  'proof-file', 'checkpoint', 'receipt', 'consistency-proof-file', 'policy', 'keys', 'witness-flags', 'dsse',
  'tile-path', 'monitor-state', 'config-snapshot', 'statement', 'strict-json', 'batch', 'witness-request', 'predicate',
];
