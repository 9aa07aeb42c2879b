import { redactCredentials, redactDeep } from '../model/redact.js';

/** A pino-compatible logger (only the methods Stratus calls). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** `logger` with credentials masked in every message and logged object (see `model/redact.ts`). */
export function redactingLogger(logger: Logger): Logger {
  const wrap =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void => {
      const safe =
        obj instanceof Error ? { err: redactCredentials(String(obj.stack ?? obj.message)) } : redactDeep(obj);
      if (msg === undefined) logger[level](safe);
      else logger[level](safe, redactCredentials(msg));
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

/** A logger that discards everything (the default). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
