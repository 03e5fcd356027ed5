// The HTTP load generator (autocannon), run in a process of its own so that it never shares
// the server's event loop. Bounded: at most --amount requests and --duration seconds, to
// 127.0.0.1 only. Kinds:
//   post      POST --path with a distinct 256-byte body per request (bench makeEntry numbers
//             from --first), the same for the trivial Hono handler and for candor;
//   inclusion GET /v1/proof/inclusion?index=<random below --size>&size=<--size>;
//   tile      GET /tile/0/<random full tile below --size/256>;
//   bundle    GET /tile/entries/<random full bundle below --size/256>;
// Prints one JSON line: {requests, ok, non2xx, errors, timeouts, seconds, rps, okPerSecond,
// p50, p90, p99, max} (latencies in ms).
import autocannon from 'autocannon';
import { makeEntry, flags, num, formatTileIndex } from '../../dist-bench/bench/common.js';

const f = flags(process.argv.slice(2));
const url = f.get('url');
if (url === undefined || !/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) {
  throw new Error('--url must be http://127.0.0.1:<port>: load tests target this machine only');
}
const kind = f.get('kind') ?? 'post';
const size = num(f, 'size', 1);
const path = f.get('path') ?? '/v1/entries';
let next = num(f, 'first', 0);

let requests;
if (kind === 'post') {
  requests = [{ method: 'POST', path, setupRequest: (req) => ({ ...req, body: Buffer.from(makeEntry(next++)) }) }];
} else if (kind === 'inclusion') {
  requests = [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/proof/inclusion?index=${Math.floor(Math.random() * size)}&size=${size}` }) }];
} else if (kind === 'tile' || kind === 'bundle') {
  const tiles = Math.floor(size / 256);
  const prefix = kind === 'tile' ? '/tile/0/' : '/tile/entries/';
  requests = [{ method: 'GET', setupRequest: (req) => ({ ...req, path: prefix + formatTileIndex(Math.floor(Math.random() * tiles)) }) }];
} else {
  throw new Error(`unknown --kind ${kind}`);
}

// autocannon notices that --amount is reached only on its one-second ticker, so its own
// duration (and start/finish) is rounded up to whole seconds: time the run from its start
// to the last response instead.
const t0 = performance.now();
let last = t0;
const instance = autocannon({
  url,
  connections: num(f, 'connections', 64),
  amount: num(f, 'amount', 10000),
  duration: num(f, 'duration', 30),
  timeout: 30,
  requests,
});
instance.on('response', () => (last = performance.now()));
const result = await instance;
const ok = result['2xx'];
const seconds = (last - t0) / 1000;
console.log(JSON.stringify({
  requests: result.requests.total,
  ok,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  seconds,
  rps: result.requests.total / seconds,
  okPerSecond: ok / seconds,
  p50: result.latency.p50,
  p90: result.latency.p90,
  p99: result.latency.p99,
  max: result.latency.max,
}));
