/**
 * The allowlist reader the evidence commands plug into src/evidence: the submitters file
 * parsed by governance/submitters.ts, and records attributed by their DSSE signatures
 * (search/attribution.ts, node:crypto), exactly as the log's record index attributes them.
 */
import { parseSubmitters } from '../governance/submitters.js';
import { attributeRecord } from '../search/attribution.js';
import type { Allowlist, AllowlistReader } from '../evidence/record.js';

/** Parses a submitters file into an Allowlist. @throws LogError MALFORMED or TOO_LARGE. */
export const readNodeAllowlist: AllowlistReader = (bytes) => {
  const list = parseSubmitters(bytes);
  const allowlist: Allowlist = {
    attribute: (entry, loggedAtMs) => attributeRecord(entry, list, loggedAtMs),
  };
  return allowlist;
};
