/**
 * Starting and stopping a witness: data directory (key, admin token, LevelDB state), the
 * core, pull and gossip loops, and the HTTP listener. `openWitness` wires everything
 * without sockets or timers (in-process tests drive it); `startWitness` also listens and
 * runs the loops, as `candor witness` does.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { cosignatureV1Signer } from '../checkpoint/cosignature.js';
import type { FetchFn } from '../client/tile-reader.js';
import { validateKeyName } from '../note/keys.js';
import { LogError } from '../util/errors.js';
import { runAlertCommand } from './alerts.js';
import { createWitnessApp } from './app.js';
import { buildLogs, buildPeers, type LogConfig, type PeerConfig } from './config.js';
import { loadAdminToken, loadOrCreateWitnessKey, witnessPaths, witnessVerifierKey, writeUrlFile } from './files.js';
import { Gossip } from './gossip.js';
import { Puller } from './pull.js';
import { Witness } from './witness.js';
import { WitnessStore } from './witness-store.js';
import { useNodeCrypto } from '../server/node-crypto.js';
import { createLimitedServer, resolveHttpLimits, type HttpLimits } from '../server/http-limits.js';
import { MAX_REQUEST_BODY } from './request.js';

/** Everything a witness is configured with. Only dataDir, name and logs are required. */
export interface WitnessConfig {
  dataDir: string;
  /** The witness's key name, e.g. `witness.example/w1`. */
  name: string;
  logs: LogConfig[];
  peers?: PeerConfig[];
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (the OS picks one). */
  port?: number;
  /** Pull interval per log in ms; default 1000; 0 turns pulling off. */
  pollMs?: number;
  /** Gossip interval in ms; default 2000; 0 turns gossip off. */
  gossipMs?: number;
  /** Shell command run on each new alert (alert JSON on stdin). */
  onAlert?: string;
  /** Default: the global fetch. */
  fetch?: FetchFn;
  /** Milliseconds since the epoch; default Date.now. Cosignature times are its seconds. */
  now?: () => number;
  /** Start-up lines (stdout); default: none. */
  say?: (line: string) => void;
  /** Problems and ALERT lines (stderr); default console.error. */
  warn?: (line: string) => void;
  /** Bound on each outbound HTTP exchange in ms; default 10000. */
  fetchTimeoutMs?: number;
  /** Bound on each --on-alert command in ms; default 30000. */
  alertTimeoutMs?: number;
  /**
   * Least ms between re-cosignings of an unchanged pulled checkpoint, and between durable
   * refreshes of a pushed one that is already the latest; default 60000.
   */
  refreshMs?: number;
  /** Cosigned checkpoints remembered per origin; default 1000. */
  historyMax?: number;
  /** Connection caps and timeouts (src/server/http-limits.ts); defaults for what is left out. */
  httpLimits?: Partial<HttpLimits>;
  /** Test-only stall inside the add-checkpoint critical section. */
  testingOnlyStall?: (origin: string) => Promise<void>;
}

/** A witness wired up without sockets or timers. */
export interface OpenWitness {
  witness: Witness;
  puller: Puller;
  gossip: Gossip;
  app: Hono;
  /** Its cosignature/v1 verifier key (type 0x04). */
  verifierKey: string;
  adminToken: string;
  /** Resolves once every --on-alert command started so far has finished. */
  settled(): Promise<void>;
  /** Waits for alert commands, closes the store. */
  close(): Promise<void>;
}

/** A witness serving HTTP and running its loops. */
export interface RunningWitness extends OpenWitness {
  url: string;
}

/**
 * Opens (creating on first start) a witness data directory and wires the witness.
 * @throws LogError MALFORMED for a bad name, no logs or bad keys; CONFLICT when the data
 *   directory belongs to another witness; Error when the store is locked.
 */
export async function openWitness(config: WitnessConfig): Promise<OpenWitness> {
  const say = config.say ?? (() => {});
  const warn = config.warn ?? ((line: string) => console.error(line));
  const now = config.now ?? Date.now;
  const fetchFn: FetchFn = config.fetch ?? ((url, init) => fetch(url, init));
  useNodeCrypto(); // the same signatures and verdicts as the isomorphic defaults, several times faster
  validateKeyName(config.name);
  const logs = buildLogs(config.logs);
  if (logs.size === 0) throw new LogError('MALFORMED', 'a witness needs at least one log');
  const peers = buildPeers(config.peers ?? []);
  const signerKey = await loadOrCreateWitnessKey(config.dataDir, config.name, say);
  const adminToken = await loadAdminToken(config.dataDir, true);
  const verifierKey = witnessVerifierKey(signerKey);
  const store = new WitnessStore(witnessPaths(config.dataDir).db, config.historyMax === undefined ? {} : { historyMax: config.historyMax });
  await store.open();
  try {
    const meta = await store.readMeta();
    if (meta === undefined) await store.writeMeta({ name: config.name, verifierKey });
    else if (meta.verifierKey !== verifierKey) {
      throw new LogError('CONFLICT', `${config.dataDir} holds the state of witness ${meta.verifierKey}, not ${verifierKey}`);
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  const commands = new Set<Promise<void>>();
  const onAlert = config.onAlert;
  const witness = new Witness({
    store,
    logs,
    signer: cosignatureV1Signer(signerKey, () => Math.floor(now() / 1000)),
    verifierKey,
    now,
    warn,
    onAlert: (alert) => {
      if (onAlert === undefined) return;
      const run = runAlertCommand(onAlert, alert, { timeoutMs: config.alertTimeoutMs ?? 30_000, warn });
      commands.add(run);
      void run.then(() => commands.delete(run));
    },
    refreshMs: config.refreshMs ?? 60_000,
    ...(config.testingOnlyStall === undefined ? {} : { testingOnlyStall: config.testingOnlyStall }),
  });
  const timeoutMs = config.fetchTimeoutMs ?? 10_000;
  const puller = new Puller({ witness, fetch: fetchFn, timeoutMs, refreshMs: config.refreshMs ?? 60_000, now, warn });
  const gossip = new Gossip({ witness, puller, peers, fetch: fetchFn, timeoutMs, warn });
  const app = createWitnessApp({ witness, gossip, adminToken });
  const settled = async (): Promise<void> => {
    while (commands.size > 0) await Promise.all([...commands]);
  };
  let closing: Promise<void> | undefined;
  return {
    witness,
    puller,
    gossip,
    app,
    verifierKey,
    adminToken,
    settled,
    close: () =>
      (closing ??= (async () => {
        await settled();
        await store.close();
      })()),
  };
}

/**
 * Opens the witness, serves it on host:port, starts pulling each log with a URL every
 * pollMs and gossiping every gossipMs, and says the two start-up lines:
 *
 *   witness verifier key: <name>+<id>+<base64>
 *   candor witness "<name>" serving on http://<host>:<port>
 */
export async function startWitness(config: WitnessConfig): Promise<RunningWitness> {
  const opened = await openWitness(config);
  const warn = config.warn ?? ((line: string) => console.error(line));
  const host = config.host ?? '127.0.0.1';
  let server: Server;
  try {
    server = await listen(opened.app.fetch, host, config.port ?? 0, config.httpLimits);
  } catch (err) {
    await opened.close();
    throw err;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  await writeUrlFile(config.dataDir, url);
  const loops: Loop[] = [];
  const pollMs = config.pollMs ?? 1000;
  for (const origin of opened.witness.origins()) {
    if (pollMs > 0 && opened.witness.log(origin)?.url !== undefined) {
      loops.push(repeat(pollMs, () => opened.puller.pullOnce(origin), warn));
    }
  }
  const gossipMs = config.gossipMs ?? 2000;
  if (gossipMs > 0 && (config.peers ?? []).length > 0) loops.push(repeat(gossipMs, () => opened.gossip.gossipOnce(), warn));
  const say = config.say ?? (() => {});
  say(`witness verifier key: ${opened.verifierKey}`);
  say(`candor witness "${config.name}" serving on ${url}`);
  let closing: Promise<void> | undefined;
  return {
    ...opened,
    url,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all(loops.map((l) => l.stop()));
        server.closeIdleConnections();
        await stopped;
        await opened.close();
      })()),
  };
}

interface Loop {
  stop(): Promise<void>;
}

// Runs fn now and then `ms` after each run ends (runs never overlap); errors are reported.
function repeat(ms: number, fn: () => Promise<unknown>, warn: (line: string) => void): Loop {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = (): void => {
    if (stopped) return;
    current = fn()
      .then(
        () => {},
        (err: unknown) => warn(`candor witness: ${err instanceof Error ? err.message : String(err)}`)
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, ms);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}

function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  limits: Partial<HttpLimits> | undefined
): Promise<Server> {
  // The log's connection guard (caps, timeouts, one request at a time, upload budget);
  // every witness request body is small.
  const { server } = createLimitedServer(getRequestListener(fetch), resolveHttpLimits(limits), {
    maxBodyBytes: () => MAX_REQUEST_BODY,
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
