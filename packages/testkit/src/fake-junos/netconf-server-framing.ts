/**
 * NETCONF message framing on the server side of an SSH `netconf` subsystem (RFC 6242): base:1.0 ends each message
 * with `]]>]]>`; base:1.1 (when both hellos offer it) sends chunks `\n#<length>\n<data>` ended by `\n##\n`.
 */
export const EOM = ']]>]]>';

/** Splits a byte stream into NETCONF messages; `chunked` switches to base:1.1 after the hello exchange. */
export class NetconfDeframer {
  private buf = Buffer.alloc(0);
  /** base:1.1 chunked framing in effect. */
  chunked = false;
  private parts: Buffer[] = [];

  /** Feed bytes. */
  feed(data: Buffer): void {
    this.buf = Buffer.concat([this.buf, data]);
  }

  /**
   * The next complete message, or undefined. Read one at a time: the hello is end-of-message framed and the
   * caller may switch {@link chunked} on after it, before the bytes that follow are read.
   * Throws on a malformed chunk header.
   */
  next(): string | undefined {
    return this.chunked ? this.nextChunked() : this.nextEom();
  }

  private nextEom(): string | undefined {
    const i = this.buf.indexOf(EOM);
    if (i < 0) return undefined;
    const msg = this.buf.subarray(0, i).toString('utf8');
    this.buf = this.buf.subarray(i + EOM.length);
    return msg;
  }

  private nextChunked(): string | undefined {
    for (;;) {
      if (this.buf.length < 4) return undefined;
      if (this.buf[0] !== 0x0a || this.buf[1] !== 0x23) {
        // tolerate whitespace left between messages
        if (this.buf[0] === 0x0a && this.buf.length > 1 && this.buf[1] === 0x0a) {
          this.buf = this.buf.subarray(1);
          continue;
        }
        throw new Error(`malformed chunk header: ${JSON.stringify(this.buf.subarray(0, 12).toString('latin1'))}`);
      }
      if (this.buf[2] === 0x23) {
        if (this.buf[3] !== 0x0a) throw new Error('malformed end-of-chunks marker');
        this.buf = this.buf.subarray(4);
        const msg = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        return msg;
      }
      const nl = this.buf.indexOf(0x0a, 2);
      if (nl < 0) {
        if (this.buf.length > 12) throw new Error('chunk size too long');
        return undefined;
      }
      const size = Number(this.buf.subarray(2, nl).toString('latin1'));
      if (!Number.isInteger(size) || size < 1 || size > 4294967295) throw new Error('invalid chunk size');
      if (this.buf.length < nl + 1 + size) return undefined;
      this.parts.push(this.buf.subarray(nl + 1, nl + 1 + size));
      this.buf = this.buf.subarray(nl + 1 + size);
    }
  }
}

/** Frame one message for sending. */
export function frame(message: string, chunked: boolean): string {
  if (!chunked) return `${message}\n${EOM}`;
  return `\n#${Buffer.byteLength(message)}\n${message}\n##\n`;
}
