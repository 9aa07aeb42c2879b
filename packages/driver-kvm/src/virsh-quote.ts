import { InvalidParameterError } from '@stratus/core';
import { shellQuote } from './shell-quote.js';

/**
 * Control characters (C0 and DEL). In an interactive virsh session a line is read by readline, which acts on them
 * (newline ends the line, Ctrl-U kills it, Tab completes), so no argument may contain one: it could change the
 * line virsh runs. libvirt itself refuses a newline in object names.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Whether `s` holds a control character (C0 or DEL). */
export function hasControlCharacters(s: string): boolean {
  return CONTROL.test(s);
}

/**
 * Quotes one argument for a line of interactive virsh. virsh parses a line like a POSIX shell word list: inside
 * single quotes nothing is special, outside them `\` escapes the next character, and `;`, `#`, blanks and `"`
 * delimit or quote; so the shell's quoting (`'…'`, each `'` as `'\''`) gives virsh the exact bytes.
 * Refuses control characters ({@link CONTROL}) with an {@link InvalidParameterError}.
 */
export function virshQuote(arg: string): string {
  if (CONTROL.test(arg))
    throw new InvalidParameterError(
      'virsh argument',
      arg,
      'control characters (newline, tab, …) cannot pass through an interactive virsh session',
    );
  return shellQuote(arg);
}

/** A line for interactive virsh: every word quoted with {@link virshQuote}. */
export function virshLine(words: readonly string[]): string {
  return words.map(virshQuote).join(' ');
}
