/**
 * NETCONF framing on the client side of the SSH `netconf` subsystem (RFC 6242): the hello exchange always ends with
 * `]]>]]>`; afterwards base:1.1 chunked framing (`\n#<len>\n…\n##\n`) when both hellos offer it, else base:1.0.
 */
export const END_OF_MESSAGE = ']]>]]>';

/** Incremental reader of framed NETCONF messages. */
export class NetconfReader {
  private buffer: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  /** base:1.1 chunked framing in effect. */
  chunked = false;

  /** Append received bytes. */
  append(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
  }

  /** The next complete message, undefined if none yet. Throws on a malformed chunk header. */
  read(): string | undefined {
    return this.chunked ? this.readChunked() : this.readEndOfMessage();
  }

  private readEndOfMessage(): string | undefined {
    const at = this.buffer.indexOf(END_OF_MESSAGE);
    if (at < 0) return undefined;
    const message = this.buffer.subarray(0, at).toString('utf8');
    this.buffer = this.buffer.subarray(at + END_OF_MESSAGE.length);
    return message;
  }

  private readChunked(): string | undefined {
    for (;;) {
      // skip whitespace between messages
      let start = 0;
      while (start < this.buffer.length - 1 && this.buffer[start] === 0x0a && this.buffer[start + 1] === 0x0a) start++;
      if (start > 0) this.buffer = this.buffer.subarray(start);
      if (this.buffer.length < 4) return undefined;
      if (this.buffer[0] !== 0x0a || this.buffer[1] !== 0x23) {
        throw new Error(
          `NETCONF chunk header expected, got ${JSON.stringify(this.buffer.subarray(0, 16).toString('latin1'))}`,
        );
      }
      if (this.buffer[2] === 0x23) {
        if (this.buffer[3] !== 0x0a) throw new Error('malformed NETCONF end-of-chunks marker');
        this.buffer = this.buffer.subarray(4);
        const message = Buffer.concat(this.chunks).toString('utf8');
        this.chunks = [];
        return message;
      }
      const eol = this.buffer.indexOf(0x0a, 2);
      if (eol < 0) {
        if (this.buffer.length > 13) throw new Error('NETCONF chunk size too long');
        return undefined;
      }
      const size = Number.parseInt(this.buffer.subarray(2, eol).toString('latin1'), 10);
      if (!(size >= 1 && size <= 4294967295)) throw new Error('invalid NETCONF chunk size');
      if (this.buffer.length < eol + 1 + size) return undefined;
      this.chunks.push(this.buffer.subarray(eol + 1, eol + 1 + size));
      this.buffer = this.buffer.subarray(eol + 1 + size);
    }
  }
}

/** One message framed for sending. */
export function frameMessage(message: string, chunked: boolean): string {
  return chunked ? `\n#${Buffer.byteLength(message, 'utf8')}\n${message}\n##\n` : `${message}${END_OF_MESSAGE}`;
}
