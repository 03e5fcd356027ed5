/**
 * What a format fixture's expected.json holds (test/fixtures/data-v<N>/): written by
 * scripts/make-fixture.ts, read by test/e2e/fixture-format.test.ts, which checks a later
 * candor against it.
 */

/** The contents of a fixture's expected.json. */
export interface FixtureExpected {
  origin: string;
  verifierKey: string;
  size: number;
  /** The checkpoint served when the fixture was written. */
  checkpoint: string;
  /** Every checkpoint handed out in a receipt, in order (each must stay consistent). */
  receiptCheckpoints: string[];
  /** Every entry, standard base64, by index. */
  entries: string[];
  records: { index: number; signer: string; model: string; env?: string; changeType: string }[];
}
