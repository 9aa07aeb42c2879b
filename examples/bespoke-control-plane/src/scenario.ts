import type { Fleet } from './build-cloud.js';
import { MORNING_BURST, requestsOf, YESTERDAY } from './burst.js';
import { ControlPlane, type Outcome } from './control-plane.js';

/** The outcomes of a day: yesterday's fleet, then this morning's burst. */
export interface Day {
  yesterday: Outcome[];
  burst: Outcome[];
}

/** Serves yesterday's requests, then this morning's burst, each through a control plane. */
export async function runDay(
  fleet: Fleet,
  options: { concurrency: number; log: (line: string) => void },
): Promise<Day> {
  const tierOf = (tenant: string) => fleet.tenants.get(tenant)?.tier ?? 'standard';
  const serve = (requests: ReturnType<typeof requestsOf>) => {
    const controlPlane = new ControlPlane(fleet, {
      concurrency: options.concurrency,
      log: (l) => options.log(`  ${l}`),
    });
    controlPlane.submit(...requests);
    return controlPlane.run();
  };
  options.log('Yesterday');
  const earlier = requestsOf(YESTERDAY, tierOf);
  const yesterday = await serve(earlier);
  options.log(`\nThis morning's burst (at most ${options.concurrency} in flight)`);
  const burst = await serve(requestsOf(MORNING_BURST, tierOf, earlier.length + 1));
  return { yesterday, burst };
}
