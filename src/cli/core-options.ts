/**
 * The parseArgs options of the commands written inline in cli/main.ts (`serve`, `keygen`,
 * `add`, `checkpoint`), apart from it so that a test can check that each command's
 * `--help` names every flag it accepts (main.ts runs the program when imported).
 */
import { HTTP_LIMIT_OPTIONS } from './http-limit-flags.js';

/** The parseArgs options of `candor serve`. */
export const SERVE_OPTIONS = {
  data: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  origin: { type: 'string' },
  key: { type: 'string' },
  'batch-max': { type: 'string' },
  'batch-age': { type: 'string' },
  witness: { type: 'string', multiple: true },
  quorum: { type: 'string' },
  'witness-timeout': { type: 'string' },
  submitters: { type: 'string' },
  reindex: { type: 'boolean' },
  tokens: { type: 'string' },
  'open-writes': { type: 'boolean' },
  ...HTTP_LIMIT_OPTIONS,
} as const;

/** The parseArgs options of `candor keygen`. */
export const KEYGEN_OPTIONS = { name: { type: 'string' }, out: { type: 'string' } } as const;

/** The parseArgs options of `candor add`. */
export const ADD_OPTIONS = {
  url: { type: 'string' },
  witnessed: { type: 'boolean' },
  'proof-out': { type: 'string' },
} as const;

/** The parseArgs options of `candor checkpoint`. */
export const CHECKPOINT_OPTIONS = { url: { type: 'string' } } as const;
