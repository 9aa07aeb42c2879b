import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  CLOUD_CONFORMANCE_STEPS,
  type CloudConformanceFixture,
  type CloudConformanceSession,
  openCloudConformance,
} from './cloud-conformance.js';

/**
 * The cloud-level driver conformance suite as vitest tests: one test per step, in order, on one cloud built with
 * `createCloud` from the fixture. A failed step fails its test with the reason; later steps fail as "not run". A
 * step the driver is not capable of passes with its reason logged (core's refusal is checked where it must refuse), and
 * so does a step the fixture expects to fail (`expectedFailures`) when it fails; its passing fails the test.
 */
export function cloudConformanceSuite(name: string, fixture: () => Promise<CloudConformanceFixture>): void {
  describe(`cloud conformance: ${name}`, () => {
    let session: CloudConformanceSession;
    beforeAll(async () => {
      session = await openCloudConformance(await fixture());
    });
    afterAll(async () => {
      await session?.close();
    });
    for (const step of CLOUD_CONFORMANCE_STEPS) {
      it(step.name, async () => {
        const result = await session.run(step);
        if (result.status === 'not-capable' || result.status === 'expected-failure')
          console.info(`[cloud conformance: ${name}] ${step.name}: ${result.status}: ${result.detail}`);
        if (result.status === 'failed' || result.status === 'not-run') {
          const error = new Error(`${step.name}: ${result.detail ?? result.status}`);
          if (result.error !== undefined) error.cause = result.error;
          throw error;
        }
      });
    }
  });
}
