/**
 * The allowlist reader the evidence commands plug into src/evidence: the submitters file
 * parsed by governance/submitters.ts, and signers found by their DSSE signatures
 * (search/attribution.ts, node:crypto), exactly as the log's record index finds them.
 */
import { parseSubmitters } from '../governance/submitters.js';
import { attributeSigner } from '../search/attribution.js';
import type { Allowlist, AllowlistReader } from '../evidence/record.js';

/** Parses a submitters file into an Allowlist. @throws LogError MALFORMED or TOO_LARGE. */
export const readNodeAllowlist: AllowlistReader = (bytes) => {
  const list = parseSubmitters(bytes);
  const allowlist: Allowlist = {
    signerOf: (envelope, changeType) => attributeSigner(envelope, list, changeType).signer,
  };
  return allowlist;
};
