/** Signed notes and their keys (c2sp.org/signed-note). Browser-safe. */
export * from './ed25519.js';
export * from './keys.js';
export * from './note.js';
