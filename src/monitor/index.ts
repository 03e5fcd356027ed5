/**
 * candor's log monitor (Node only): follows a log, verifies every checkpoint and entry,
 * emits each new entry as a JSON line, and raises alerts with evidence; alert rules on the
 * governance records it verified (rules/). See docs/monitor.md.
 */
export * from './alerts.js';
export * from './compare.js';
export * from './lines.js';
export * from './monitor.js';
export { exitCodeOf, defaultSleep } from './options.js';
export * from './progress.js';
export * from './state.js';
export * from './bundles.js';
export * from './rules/index.js';
