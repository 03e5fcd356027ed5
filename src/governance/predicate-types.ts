/**
 * The TypeScript types of the governance predicate, v1 (`https://candor.dev/governance-record/v1`).
 * The rules are in schema.ts (JSON Schema) and predicate.ts (the validator); the fields are
 * documented in docs/governance.md.
 */
import type { DigestSet } from './intoto.js';
import type { CHANGE_TYPES } from './schema.js';

/** A governance change type. */
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** The model a record is about. */
export interface ModelRef {
  id: string;
  version?: string;
  /** Must include sha256. Required for model-update, deployment and rollback. */
  digest?: DigestSet;
  uri?: string;
}

/** A training dataset: where it is and its digest. */
export interface DatasetRef {
  name?: string;
  uri: string;
  digest: DigestSet;
}

/** A value logged only as its digest (and optionally where the value is kept). */
export interface SecretRef {
  digest: DigestSet;
  uri?: string;
}

/** A configuration parameter value. */
export type ParameterValue =
  | string
  | number
  | boolean
  | null
  | SecretRef
  | ParameterGroup
  | ParameterValue[];

/** Named parameters; a group never has a key named `digest` (that marks a SecretRef). */
export interface ParameterGroup {
  [name: string]: ParameterValue;
}

/** A configuration snapshot: the SHA-256 of the configuration file, and its parameters. */
export interface ConfigSnapshot {
  digest: DigestSet;
  uri?: string;
  parameters?: ParameterGroup;
}

/** A reference to a logged record: its envelope's SHA-256 and (a hint) its index. */
export interface EntryRef {
  entry?: number;
  digest: DigestSet;
}

/** What an approval approves (or rejects). */
export interface ApprovalRef extends EntryRef {
  decision: 'approve' | 'reject';
}

/** A validated governance predicate (see docs/governance.md). */
export interface GovernancePredicate {
  changeType: ChangeType;
  model?: ModelRef;
  trainingData?: DatasetRef[];
  config?: ConfigSnapshot;
  environment?: string;
  author?: string;
  reason?: string;
  ticket?: string;
  createdAt?: string;
  previous?: EntryRef;
  approves?: ApprovalRef;
  preDetermined?: boolean;
  annotations?: Record<string, unknown>;
}
