/** A XAPI failure: `ErrorDescription` `[code, ...params]` (XML-RPC) or `{code, message: code, data: params}` (JSON-RPC). */
export class XapiFailure extends Error {
  readonly code: string;
  readonly params: string[];
  constructor(code: string, ...params: unknown[]) {
    super(`${code}(${params.join(', ')})`);
    this.code = code;
    this.params = params.map(String);
  }
  /** `[code, ...params]`, XAPI's `ErrorDescription`. */
  get description(): string[] {
    return [this.code, ...this.params];
  }
}
