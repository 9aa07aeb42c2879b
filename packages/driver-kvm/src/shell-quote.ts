/**
 * Quotes one argument for a POSIX shell: wraps it in single quotes and turns every `'` into `'\''`. Inside single
 * quotes the shell expands nothing (`$()`, backticks, `;`, `"`, `\` are literal), so the remote shell passes the
 * exact bytes to the program. NUL cannot be passed through a command line at all and is refused.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('an argument for a remote command cannot contain NUL');
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line for a POSIX shell: every word quoted with {@link shellQuote}. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
