/**
 * candor's verification client: everything needed to check candor's (and other C2SP
 * transparency logs') proofs anywhere — Node, browsers, workers — with no `node:` imports
 * and no Buffer. This file is the client's public entry point; it is also re-exported from
 * candor's main entry (src/index.ts). See docs/client.md.
 *
 * - Merkle proofs: verifyInclusion, verifyConsistency (RFC 6962; return true or throw).
 * - Trust policies: parsePolicy, evaluateQuorum, policyForLog (c2sp.org/tlog-policy).
 * - Checkpoints: openCheckpointWithPolicy (signature, origin, cosignature quorum).
 * - Offline proofs: formatProofFile, parseProofFile, verifyProofFile (c2sp.org/tlog-proof),
 *   receiptToProofFile for candor's receipts.
 * - Online: LogClient and VerifiedTileReader, which return only verified data.
 */
export { leafHash } from '../merkle/hash.js';
export { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
export { LogError, isLogError, type ErrorCode } from '../util/errors.js';
export * from './policy.js';
export * from './open.js';
export * from './proof-file.js';
export * from './receipt.js';
export {
  VerifiedTileReader,
  type TrustedTree,
  type VerifiedTileReaderOptions,
} from './verified-tiles.js';
export * from './log-client.js';
