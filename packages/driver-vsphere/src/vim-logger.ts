/** A pino-compatible logger (only the levels the driver uses). Secrets and session cookies are never passed to it. */
export interface VimLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The logger used when none is given: says nothing. */
export const silentLogger: VimLogger = { debug() {}, warn() {} };
