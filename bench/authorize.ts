/**
 * The cost of authenticated writes per request (child process or by hand): the one
 * authorization both HTTP paths run before a write (src/server/tokens.ts authorizeWrite:
 * parse the header, SHA-256 of the token, a constant-time compare, the rate bucket, the
 * quota charge and the grant's finish), against a tokens file of `--tokens` tokens, for
 * `--requests` requests. It does not grow with the log or with the number of tokens (a map
 * lookup by id). Prints one JSON line: requests per second and microseconds per request.
 */
import { authorizeWrite, createToken, formatTokens, parseTokens, WriteAuthorizer } from '../src/server/tokens.js';
import { flags, num } from './common.js';

const f = flags(process.argv.slice(2));
const requests = num(f, 'requests', 1_000_000);
const count = num(f, 'tokens', 1000);

const made = Array.from({ length: count }, (_, i) =>
  createToken({ name: `t${i}`, scopes: ['entries'], rate: 1_000_000_000, quota: 1_000_000_000 })
);
const list = parseTokens(Buffer.from(formatTokens(made.map((m) => m.record))));
const writes = new WriteAuthorizer(() => list);
const headers = made.map((m) => `Bearer ${m.token}`);

const run = (n: number): number => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const grant = authorizeWrite(writes, headers[i % count], 'entries');
    grant.charge(1);
    grant.finish(true);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
};
run(Math.min(requests, 50_000)); // warm up
const seconds = run(requests);
console.log(
  JSON.stringify({ requests, tokens: count, rate: Math.round(requests / seconds), usPerRequest: (seconds * 1e6) / requests })
);
