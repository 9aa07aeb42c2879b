/** Time source; tests inject a controllable one. */
export interface Clock {
  now(): number;
}

/** The system clock (`Date.now()`). */
export const systemClock: Clock = { now: () => Date.now() };
