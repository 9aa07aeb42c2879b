export * from './allocator-contract.js';
export * from './coverage.js';
export * from './deployment-plan.js';
export * from './exclude-list.js';
export * from './placement-error.js';
export * from './placement-explanation.js';
export * from './reason-codes.js';
