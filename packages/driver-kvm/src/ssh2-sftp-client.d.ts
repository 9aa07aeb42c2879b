// Minimal typings for the parts of ssh2-sftp-client 12 this package uses (the package ships none).
declare module 'ssh2-sftp-client' {
  interface TransferOptions {
    step?: (totalTransferred: number, chunk: number, total: number) => void;
    concurrency?: number;
    chunkSize?: number;
  }
  interface FileStats {
    mode: number;
    size: number;
    isDirectory: boolean;
    isFile: boolean;
  }
  class SftpClient {
    constructor(name?: string);
    /** The underlying ssh2 `Client`. */
    readonly client: { destroy(): void; end(): void };
    connect(config: Record<string, unknown>): Promise<unknown>;
    fastPut(localPath: string, remotePath: string, options?: TransferOptions): Promise<string>;
    fastGet(remotePath: string, localPath: string, options?: TransferOptions): Promise<string>;
    put(src: string | Buffer, remotePath: string): Promise<string>;
    get(remotePath: string): Promise<Buffer>;
    stat(remotePath: string): Promise<FileStats>;
    exists(remotePath: string): Promise<false | 'd' | '-' | 'l'>;
    posixRename(from: string, to: string): Promise<string>;
    delete(remotePath: string, notFoundOK?: boolean): Promise<string>;
    mkdir(remotePath: string, recursive?: boolean): Promise<string>;
    end(): Promise<boolean>;
    on(event: string, listener: (...args: unknown[]) => void): void;
  }
  export default SftpClient;
}
