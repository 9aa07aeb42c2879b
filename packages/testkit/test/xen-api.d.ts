/** The part of the npm `xen-api` client (Xen Orchestra's, untyped) the fake-xapi cross-check uses. */
declare module 'xen-api' {
  export interface XapiOptions {
    url: string;
    auth: { user: string; password: string };
    allowUnauthorized?: boolean;
    watchEvents?: boolean | string[];
  }
  export class Xapi {
    constructor(options: XapiOptions);
    connect(): Promise<void>;
    disconnect(): Promise<void>;
    call(method: string, ...args: unknown[]): Promise<unknown>;
    callAsync(method: string, ...args: unknown[]): Promise<unknown>;
  }
}
