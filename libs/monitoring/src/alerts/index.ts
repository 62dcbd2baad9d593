export * from './alert.types.js';
export * from './alert-rules.js';
export * from './alert-engine.js';
export * from './alert-config.js';
export * from './default-rules.js';
export * from './webhook-notifier.js';
