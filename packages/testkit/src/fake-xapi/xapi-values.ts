/**
 * XAPI wire values that plain JavaScript values cannot tell apart: a float that happens to be whole (a task's
 * `progress` of 1 travels as `<double>1</double>`, not as an int string) and a datetime (`<dateTime.iso8601>`).
 */

/** A XAPI `float`. */
export class XapiFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

/** A XAPI `datetime`, written as XAPI writes it: `20240101T12:00:00Z`. */
export class XapiDate {
  constructor(readonly ms: number) {}
  toString(): string {
    return new Date(this.ms)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/-/g, '');
  }
  toJSON(): string {
    return this.toString();
  }
}

/** A decoded XML-RPC `<double>` parameter (kept apart from ints, which XAPI sends and expects as strings). */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

/** Any value the fake stores or sends. */
export type XapiValue =
  | string
  | number
  | boolean
  | XapiFloat
  | XapiDate
  | XmlRpcDouble
  | XapiValue[]
  | { [key: string]: XapiValue };
