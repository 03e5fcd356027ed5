/**
 * candor's public library: the pure pieces a verifier needs, runnable in Node and in
 * browsers (no server code, no `node:` imports).
 */
export * from './merkle/index.js';
export * from './note/index.js';
export * from './checkpoint/index.js';
export { LogError, isLogError, type ErrorCode } from './util/errors.js';
export { fromBase64, toBase64, fromHex, toHex } from './util/bytes.js';
