/** The cloud conformance suite through `createCloud` against fake-xapi (fixture: xen-fixture.ts). */
import { cloudConformanceSuite } from '../../testkit/src/cloud-conformance-suite.js';
import { xenFixture } from './xen-fixture.js';

cloudConformanceSuite('xen: XAPI → fake-xapi pool of two hosts', () => xenFixture());
