/**
 * candor's public library: the pure pieces a verifier needs, runnable in Node and in
 * browsers (no server code, no `node:` imports).
 */
export * from './merkle/index.js';
export * from './note/index.js';
export * from './checkpoint/index.js';
export { LogError, isLogError, type ErrorCode } from './util/errors.js';
export { fromBase64, toBase64, fromHex, toHex } from './util/bytes.js';
// The verification client (also its own browser entry point, src/client/index.ts).
export * from './client/policy.js';
export * from './client/open.js';
export * from './client/proof-file.js';
export * from './client/receipt.js';
export {
  VerifiedTileReader,
  type TrustedTree,
  type VerifiedTileReaderOptions,
} from './client/verified-tiles.js';
export * from './client/log-client.js';
// Evidence packs for auditors: building and verifying them offline (docs/evidence.md).
export * from './evidence/index.js';
