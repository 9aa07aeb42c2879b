/** A pino-compatible logger (only the methods Stratus calls). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that discards everything (the default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
