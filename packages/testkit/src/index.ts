/**
 * `@stratus/testkit`: the conformance suites every implementation runs (one suite, many
 * implementations) and the harness that starts real peers for integration tests.
 *
 * Every name exported here is public API, locked by the API report in `packages/testkit/api/`;
 * the libvirt test daemon is the `@stratus/testkit/libvirt-test-daemon` entry point.
 *
 * @packageDocumentation
 * @module @stratus/testkit
 */

export {
  CLOUD_CONFORMANCE_STEPS,
  type CloudConformanceFixture,
  type CloudConformanceReport,
  type CloudConformanceSession,
  type CloudConformanceState,
  CORE_DRIVER_OPERATIONS,
  ConformanceFailure,
  type ConformanceHost,
  type ConformanceImage,
  type ConformanceStep,
  type ConformanceStepResult,
  CREATE_CLOUD_STEP,
  OPERATIONS_OUTSIDE_THE_SUITE,
  openCloudConformance,
  runCloudConformance,
} from './cloud-conformance.js';
export { cloudConformanceSuite } from './cloud-conformance-suite.js';
export {
  type DriverConformanceSetup,
  type EnvironmentLimit,
  hypervisorDriverConformanceSuite,
} from './driver-conformance.js';
export {
  createTestDatabase,
  type PgFacts,
  pgAvailable,
  pgFacts,
  pgSkipReason,
  pgSkipSuffix,
  type TestDatabase,
  testDatabaseName,
} from './harness/postgres.js';
export {
  type FirewallDeviceFixture,
  type FirewallDeviceView,
  firewallDeviceConformanceSuite,
} from './network-device-conformance.js';
export { type StoreFactory, storeConformanceSuite } from './store-conformance.js';
