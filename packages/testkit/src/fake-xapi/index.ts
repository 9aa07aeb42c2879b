/**
 * `@stratus/testkit/fake-xapi`: an honest fake XAPI pool for tests (drivers.md §4.9). Imports nothing from vitest.
 */

export {
  type FakeXapi,
  type FakeXapiFault,
  type FakeXapiLogEntry,
  type FakeXapiOptions,
  startFakeXapi,
} from './fake-xapi.js';
export { DEFAULT_TEMPLATES, type FakeXapiNic } from './fake-xapi-seed.js';
export { formatToken, NULL_REF, parseToken, XapiDatabase, type XapiEvent, type XapiRecord } from './xapi-database.js';
export { XapiFailure } from './xapi-failure.js';
export { XAPI_CLASSES } from './xapi-schema.js';
export { XapiDate, XapiFloat, XmlRpcDouble } from './xapi-values.js';
export { decodeMethodCall, decodeMethodResponse, encodeMethodCall, encodeMethodResponse } from './xml-rpc-codec.js';
