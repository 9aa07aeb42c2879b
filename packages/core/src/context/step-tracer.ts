/**
 * An optional timing hook: set {@link StepTracer.onStep} to learn how long named steps of an
 * operation took (e.g. `start.placement`, `start.driver`). Unset, a step costs one property read.
 * Shared by every caller's view of a cloud.
 */
export class StepTracer {
  /** Receives each finished step and its duration in ms (performance.now() resolution). */
  onStep: ((name: string, ms: number) => void) | undefined = undefined;

  /** A start mark for {@link step}: the current time when tracing, else 0. */
  mark(): number {
    return this.onStep === undefined ? 0 : performance.now();
  }

  /** Reports the step `name` begun at `since` (a {@link mark}); nothing when not tracing. */
  step(name: string, since: number): void {
    const onStep = this.onStep;
    if (onStep !== undefined) onStep(name, performance.now() - since);
  }
}
