/** Alert rules for `candor monitor --rules FILE` (docs/monitor.md, "Alert rules"). */
export * from './file.js';
export * from './state.js';
export * from './engine.js';
export * from './actions.js';
