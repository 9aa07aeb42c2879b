/**
 * @stratus/testkit — conformance suites every implementation runs (one suite, many
 * implementations) and the harness that starts real peers for integration tests.
 */

export * from './cloud-conformance.js';
export * from './cloud-conformance-suite.js';
export * from './driver-conformance.js';
export * from './harness/postgres.js';
export * from './network-device-conformance.js';
export * from './store-conformance.js';
