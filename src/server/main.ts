/**
 * Starting and stopping a log server: data directory, key, store, log, witnessing, the
 * record API (src/server/records.ts), API tokens (src/server/tokens.ts) and HTTP listener.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { RequestListener, Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { LevelStore } from '../storage/level-store.js';
import { Log } from '../log/log.js';
import { parseSignerKey, formatVerifierKey } from '../note/keys.js';
import { ed25519PublicKey } from '../note/ed25519.js';
import { LogError } from '../util/errors.js';
import { Witnessing } from '../log/witnessing.js';
import type { FetchFn, WitnessConfig } from '../log/witness-protocol.js';
import { createApp } from './app.js';
import { fastLane } from './fast-lane.js';
import { createKeyFile, readKeyFile } from './keyfile.js';
import { nodeEd25519Signer, useNodeCrypto } from './node-crypto.js';
import { startRecords } from './records.js';
import { checkWriteExposure, isLoopback, loadTokens, resolveTokensFile, startTokens } from './tokens.js';
import { checkRestoredDataDir } from '../recovery/guard.js';
import { createLimitedServer, resolveHttpLimits, type HttpLimits } from './http-limits.js';
import { MAX_BATCH_BODY } from './batch.js';
import { MAX_ENTRY_SIZE } from '../log/log.js';
import { MAX_ENVELOPE_SIZE } from '../governance/dsse.js';

export interface ServeConfig {
  dataDir: string;
  host: string;
  port: number;
  origin?: string | undefined;
  keyFile?: string | undefined;
  batchMax: number;
  batchAgeMs: number;
  /** Witnesses to get checkpoints cosigned by (c2sp.org/tlog-witness); none by default. */
  witnesses?: readonly WitnessConfig[] | undefined;
  /** Cosignatures a checkpoint needs to be published; default: every witness. */
  quorum?: number | undefined;
  /** How long `?wait=witnessed` waits, in ms; default 10000. */
  witnessTimeoutMs?: number | undefined;
  /** The fetch used to reach witnesses; default the global fetch. */
  fetch?: FetchFn | undefined;
  /**
   * The submitter allowlist file (docs/governance.md): turns on the record API
   * (POST /v1/records, GET /v1/search) and its index in DIR/index. Without it those
   * routes answer 404.
   */
  submittersFile?: string | undefined;
  /** Rebuild the record index from the log before serving. */
  reindex?: boolean | undefined;
  /**
   * The API tokens file (src/server/tokens.ts); default DATA/tokens.json when it exists.
   * With one, every write needs `Authorization: Bearer`; the file is reloaded on SIGHUP and
   * when it changes.
   */
  tokensFile?: string | undefined;
  /** Serve open writes (no tokens) on an address that is not loopback; else refused. */
  openWrites?: boolean | undefined;
  /** Connection caps and timeouts (src/server/http-limits.ts); defaults for what is left out. */
  httpLimits?: Partial<HttpLimits> | undefined;
  /** Called with human-readable start-up messages (the CLI prints them). */
  say?: (line: string) => void;
  /** Called with operational warnings (witness failures); default: standard error. */
  warn?: (line: string) => void;
}

export interface RunningLog {
  log: Log;
  url: string;
  verifierKey: string;
  /** Present when witnesses are configured. */
  witnessing: Witnessing | undefined;
  /** Stops taking requests, integrates what is queued, stops witnessing, closes the store. */
  close(): Promise<void>;
}

/** A default origin for a new log: this host's name under /candor. */
export function defaultOrigin(): string {
  const host = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-') || 'localhost';
  return `${host}/candor`;
}

/** Opens (or creates) the log in `config.dataDir` and serves it over HTTP. */
export async function startLog(config: ServeConfig): Promise<RunningLog> {
  const say = config.say ?? (() => {});
  useNodeCrypto(); // the same hashes and signatures, several times faster than the isomorphic defaults
  // Open writes on a reachable address, and a bad tokens file, stop the start before
  // anything is created.
  const tokensFile = resolveTokensFile(config.tokensFile, config.dataDir);
  checkWriteExposure(config.host, tokensFile !== undefined, config.openWrites === true);
  const loadedTokens = await loadTokens(tokensFile);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await checkRestoredDataDir(config.dataDir, config.keyFile); // an unfinished or keyless restore
  const store = new LevelStore(join(config.dataDir, 'db'));
  await store.open();
  try {
    const meta = await store.readMeta();
    const origin = config.origin ?? meta?.origin ?? defaultOrigin();
    if (meta !== undefined && meta.origin !== origin) {
      throw new LogError(
        'CONFLICT',
        `the data directory ${config.dataDir} holds the log "${meta.origin}", not "${origin}"`
      );
    }
    const signerKey = await loadSignerKey(config, origin, say);
    const parsed = parseSignerKey(signerKey);
    const verifierKey = formatVerifierKey(parsed.name, 0x01, ed25519PublicKey(parsed.seed));
    if (meta === undefined) {
      await store.writeMeta({ origin, verifierKey });
    } else if (meta.verifierKey !== verifierKey) {
      throw new LogError(
        'CONFLICT',
        `the data directory ${config.dataDir} was signed with ${meta.verifierKey}, not ${verifierKey}`
      );
    }
    const log = await Log.open({
      store,
      signer: nodeEd25519Signer(signerKey),
      origin,
      batchMax: config.batchMax,
      batchAgeMs: config.batchAgeMs,
    });
    const witnesses = config.witnesses ?? [];
    const witnessing =
      witnesses.length === 0
        ? undefined
        : new Witnessing({
            log,
            witnesses,
            quorum: config.quorum ?? witnesses.length,
            fetch: config.fetch ?? ((url, init) => fetch(url, init)),
            waitTimeoutMs: config.witnessTimeoutMs ?? 10_000,
            warn: config.warn ?? ((line) => console.error(`candor: ${line}`)),
          });
    const tokens = startTokens({ loaded: loadedTokens, say, ...(config.warn ? { warn: config.warn } : {}) });
    const writes = tokens.writes;
    const app = createApp({ log, verifierKey, witnessing, writes });
    const records = await startRecords(
      {
        submittersFile: config.submittersFile,
        reindex: config.reindex,
        say,
        ...(config.warn === undefined ? {} : { warn: config.warn }),
      },
      // Entries reach the record index through the log, checked against their leaf hashes.
      {
        log,
        store: { readEntries: (s, e) => log.readEntries(s, e), readCheckpoint: (n) => store.readCheckpoint(n) },
        app,
        dataDir: config.dataDir,
      }
    ).catch((err: unknown) => {
      tokens.close();
      throw err;
    });
    let server: Server;
    try {
      // The busiest requests skip Hono (fast-lane.ts); the app answers everything else.
      const listener = fastLane({ log, witnessing, writes }, getRequestListener(app.fetch));
      server = await listen(listener, config, log);
    } catch (err) {
      tokens.close();
      await records.close();
      throw err;
    }
    const address = server.address() as AddressInfo;
    const url = `http://${formatHost(config.host)}:${address.port}`;
    say(`candor log "${origin}" serving ${log.size} entries on ${url}`);
    say(`verifier key: ${verifierKey}`);
    if (writes === undefined && !isLoopback(config.host)) {
      say(`writes: open to anyone who reaches ${url} (--open-writes, no API tokens)`);
    }
    if (witnessing !== undefined) {
      const list = witnesses.map((w) => `${w.name} (${w.url})`).join(', ');
      say(`witnesses: ${list}; /checkpoint needs ${witnessing.quorum} cosignatures`);
      witnessing.start();
    }
    let closing: Promise<void> | undefined;
    return {
      log,
      url,
      verifierKey,
      witnessing,
      close: () =>
        (closing ??= (async () => {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          await log.drain();
          // Witnessed waiters get CLOSED now; witnessing is done before the store closes.
          await witnessing?.stop();
          // Every request has been answered; keep-alive connections (a witness polling
          // /checkpoint, say) must not hold the shutdown open. Idle ones close now, busy
          // ones after a short grace.
          server.closeIdleConnections();
          const grace = setTimeout(() => server.closeAllConnections(), 2000);
          await stopped;
          clearTimeout(grace);
          tokens.close();
          await records.close(); // indexes what the log holds, before the store closes
          await store.close();
        })()),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function loadSignerKey(
  config: ServeConfig,
  origin: string,
  say: (line: string) => void
): Promise<string> {
  if (config.keyFile !== undefined) return readKeyFile(config.keyFile);
  const path = join(config.dataDir, 'log.key');
  if (existsSync(path)) return readKeyFile(path);
  const pair = await createKeyFile(path, origin);
  say(`created signing key ${path} (mode 0600); keep it secret and back it up`);
  return pair.signerKey;
}

function listen(listener: RequestListener, config: ServeConfig, log: Log): Promise<Server> {
  const { host, port } = config;
  // Bounded memory and sockets whatever clients do (http-limits.ts). A chunked body
  // reserves its route's largest body from the upload budget: a batch's, or an entry's or
  // record's.
  const limited = createLimitedServer(listener, resolveHttpLimits(config.httpLimits), {
    maxBodyBytes: (req) =>
      req.url?.startsWith('/v1/entries/batch') === true
        ? MAX_BATCH_BODY
        : Math.max(MAX_ENTRY_SIZE, MAX_ENVELOPE_SIZE),
    countResponse: (status) => log.metrics.countResponse(status),
  });
  log.metrics.addSection(limited.renderMetrics);
  return new Promise((resolve, reject) => {
    const server = limited.server;
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
