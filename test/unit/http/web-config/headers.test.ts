import { ServerResponse, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { headerNameProblem, headerValueProblem, showHeaderName } from '../../../../src/http/web-config/headers.js';

/** Whether a real ServerResponse takes the header: the behaviour the checks must match. */
function nodeAccepts(name: string, value: string): boolean {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  try {
    res.setHeader(name, value);
    return true;
  } catch {
    return false;
  }
}

describe('header values', () => {
  it.each([
    ['a typographic quote', 'default-src ’self’', "U+2019 (a typographic quote where ' was meant) at character 13"],
    ['a typographic double quote', 'a “b”', 'U+201C (a typographic quote where " was meant) at character 3'],
    ['\\x01', 'max-age=\x0160', 'U+0001 at character 9'],
    ['a line feed', 'deny\nX-Evil: 1', 'U+000A (a line feed) at character 5'],
    ['a carriage return', 'deny\r', 'U+000D (a carriage return) at character 5'],
    ['a NUL', '\0', 'U+0000 (a NUL) at character 1'],
    ['DEL', 'a\x7f', 'U+007F at character 2'],
    ['an emoji after an astral character', '𝒳😀', 'U+1D4B3 at character 1'],
  ])('refuses %s, naming the character and where it is', (_what, value, where) => {
    expect(nodeAccepts('Content-Security-Policy', value)).toBe(false);
    const problem = headerValueProblem(value);
    expect(problem).toBe(
      `the value holds ${where}, which an HTTP header cannot carry (only tab, visible ASCII and Latin-1 can be sent)`,
    );
  });

  it.each([["default-src 'self'"], ['max-age=31536000; includeSubDomains'], ['tab\there'], ['Latin-1 é ÿ \x80'], ['']])(
    'accepts %j as Node does',
    (value) => {
      expect(nodeAccepts('Content-Security-Policy', value)).toBe(true);
      expect(headerValueProblem(value)).toBeUndefined();
    },
  );

  it('agrees with res.setHeader on every character up to U+02FF and on typographic punctuation', () => {
    const disagreements: number[] = [];
    const codePoints = [
      ...Array(0x300).keys(),
      ...Array.from({ length: 0x70 }, (_, i) => 0x2000 + i),
      0xfeff,
      0xfffd,
      0x1f600,
    ];
    for (const cp of codePoints) {
      const value = `a${String.fromCodePoint(cp)}b`;
      if ((headerValueProblem(value) === undefined) !== nodeAccepts('X-Frame-Options', value)) disagreements.push(cp);
    }
    expect(disagreements).toEqual([]);
  });
});

describe('header names', () => {
  it.each([
    ['', 'a header name must not be empty'],
    ['X Frame', 'header name "X\\u{20}Frame" is not a valid HTTP token: U+0020 at character 2'],
    ['X-Frame-Options:', 'header name "X-Frame-Options:" is not a valid HTTP token: U+003A at character 16'],
    ['Ⅹ-Frame', 'header name "\\u{2169}-Frame" is not a valid HTTP token: U+2169 at character 1'],
  ])('refuses %j', (name, problem) => {
    expect(nodeAccepts(name, 'x')).toBe(false);
    expect(headerNameProblem(name)).toBe(problem);
  });

  it('accepts every token Node accepts', () => {
    for (const name of ['Content-Security-Policy', 'x-a', "!#$%&'*+-.^_`|~09az"]) {
      expect(nodeAccepts(name, 'x')).toBe(true);
      expect(headerNameProblem(name)).toBeUndefined();
    }
  });

  it('shows a long name cut, with control characters escaped', () => {
    expect(showHeaderName(`${'a'.repeat(70)}`)).toBe(`${'a'.repeat(64)}…`);
    expect(showHeaderName('a\nb')).toBe('a\\u{a}b');
  });
});
