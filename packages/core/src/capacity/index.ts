export * from './capacity-index.js';
export * from './capacity-report.js';
export * from './capacity-service.js';
export * from './demand.js';
export * from './host-fit.js';
export * from './placement-state.js';
export * from './pool-fit.js';
