/**
 * Governance records: DSSE envelopes carrying in-toto statements with candor's governance
 * predicate, the submitter allowlist, the checks made before a record is logged, and
 * configuration snapshots and diffs. Server-side and CLI code (node:crypto); see
 * docs/governance.md.
 */
export * from './dsse.js';
export * from './keys.js';
export * from './intoto.js';
export * from './schema.js';
export * from './predicate.js';
export * from './record.js';
export * from './submitters.js';
export * from './verify-record.js';
export * from './config-snapshot.js';
export * from './config-diff.js';
export { parseStrictJson, stableStringify } from './strict-json.js';
