/**
 * `candor add --proof-out FILE`: saves the receipt of a submission as an offline proof
 * (c2sp.org/tlog-proof, conventionally `*.tlog-proof`), which `candor verify` checks.
 */
import { writeFile } from 'node:fs/promises';
import { receiptToProofFile } from '../client/receipt.js';

/**
 * Converts a receipt (the JSON text candor answered to `POST /v1/entries`, or the parsed
 * object) to a tlog-proof and writes it to `path` (replacing any file there). The receipt
 * is checked first (shape, base64, proof against its checkpoint's root), so a broken
 * receipt never becomes a proof file.
 * @throws LogError MALFORMED or PROOF_FAILED for a bad receipt; the file system's errors.
 */
export async function writeProofFile(receiptJson: unknown, path: string): Promise<void> {
  await writeFile(path, receiptToProofFile(receiptJson), { encoding: 'utf8' });
}
