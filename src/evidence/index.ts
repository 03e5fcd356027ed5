/**
 * Evidence packs for auditors: a directory of plain files holding every governance record
 * matching a query, each with its inclusion proof against one witnessed checkpoint, a
 * consistency proof to the log's latest checkpoint, the trust policy, the allowlist
 * snapshot and a human-readable report; and their offline verification. No `node:`
 * imports: a pack verifies in a browser as well (bring an AllowlistReader that checks
 * DSSE signatures). See docs/evidence.md.
 *
 * - buildPack: the files of a pack from parts verified against the log (build.ts).
 * - verifyPack: checks a pack against your policy; EvidenceError names the failing file and
 *   record (verify.ts, errors.ts).
 * - renderReports: report.md and report.html from a pack's verified contents (report.ts).
 * - parseManifest, formatManifest and the pack's file names (manifest.ts).
 */
export * from './errors.js';
export * from './manifest.js';
export * from './record.js';
export * from './report.js';
export * from './verify.js';
export * from './build.js';
// Your trust policy is parsed by the client's parser: exported here too, so that one
// bundle of this module verifies a pack.
export { parsePolicy, type Policy } from '../client/policy.js';
