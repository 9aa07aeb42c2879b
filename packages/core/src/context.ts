/**
 * What every service shares, one concept per file under `context/`: the clock, the logger, the
 * caller, the guards higher layers add to lower ones, the step tracer, the {@link CloudContext}
 * and the {@link Writer} of one transaction.
 */
export { type Caller, ROOT_ADMIN } from './context/caller.js';
export { type Clock, systemClock } from './context/clock.js';
export { CloudContext } from './context/cloud-context.js';
export { type Logger, silentLogger } from './context/logger.js';
export { ResourceGuards } from './context/resource-guards.js';
export { StepTracer } from './context/step-tracer.js';
export { type UsageEventInput, Writer } from './context/writer.js';
