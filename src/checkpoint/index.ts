/**
 * Checkpoints and cosignatures (c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature).
 * Browser-safe.
 */
export * from './checkpoint.js';
export * from './cosignature.js';
