/** Redis's glob matcher (KEYS, SCAN MATCH, CONFIG GET): '*', '?', classes, ranges, escapes, binary. */
import { expect } from 'chai';
import fc from 'fast-check';
import { compileGlob, globMatch } from '../../node/commands/glob.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const m = (p: string, s: string, nocase = false): boolean => globMatch(b(p), b(s), nocase);

/**
 * Reference for patterns of literals, '*' and '?': a regular expression —
 * except that Redis matches an empty subject only with an empty pattern
 * ("*" vs "" is false in stringmatchlen; KEYS/SCAN special-case a lone "*").
 */
function viaRegExp(pattern: string, subject: string): boolean {
  if (subject === '') return pattern === '';
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${re}$`).test(subject);
}

describe('commands/glob: Redis stringmatchlen', () => {
  it('matches like a regular expression for patterns of literals, * and ?', () => {
    fc.assert(fc.property(
      fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), maxLength: 8 }),
      fc.string({ unit: fc.constantFrom('a', 'b', '\x00', '\n'), maxLength: 10 }),
      (p, s) => {
        expect(m(p, s), `${JSON.stringify(p)} ~ ${JSON.stringify(s)}`).to.equal(viaRegExp(p, s));
      },
    ), { numRuns: 3000 });
  });

  it('handles classes, negation, ranges (reversed too), escapes and unterminated classes as Redis does', () => {
    const cases: Array<[string, string, boolean]> = [
      ['h[ae]llo', 'hello', true], ['h[ae]llo', 'hillo', false], ['h[^e]llo', 'hallo', true],
      ['h[^e]llo', 'hello', false], ['h[a-b]llo', 'hbllo', true], ['h[b-a]llo', 'hallo', true],
      ['h\\[llo', 'h[llo', true], ['h\\*', 'h*', true], ['h\\*', 'hx', false], ['[', 'x', false],
      ['[a-', 'a', true], ['[a-', '-', true], ['[a-', 'b', false], ['[]]', ']', false], ['[-]', '-', true],
      ['[\\]]', ']', true], ['a\\', 'a\\', true], ['*', '', false], ['**', '', false], ['', '', true], ['?', '', false],
      ['***', 'abc', true], ['a*b*c', 'aXbYc', true], ['a*b*c', 'aXbY', false],
      // bytes compare as signed chars: [a-\xff] is the range -1..97
      ['[\x80-\xff]', '\x90', true], ['[\xff-\x80]', '\x90', true], ['[\x80-\xff]', 'a', false],
      ['[a-\xff]', '\x90', false], ['[a-\xff]', ']', true], ['[a-\xff]', '-', true],
    ];
    for (const [p, s, want] of cases) expect(m(p, s), `${JSON.stringify(p)} ~ ${JSON.stringify(s)}`).to.equal(want);
  });

  it('matches case-insensitively when asked (CONFIG GET)', () => {
    expect(m('MAX*', 'maxclients', true)).to.equal(true);
    expect(m('[A-Z]x', 'qX', true)).to.equal(true);
    expect(m('MAX*', 'maxclients')).to.equal(false);
  });

  it('gives up early on pathological patterns instead of backtracking exponentially', () => {
    const subject = 'a'.repeat(5000);
    expect(m('*a*a*a*a*a*a*a*a*a*a*a*a*b', subject)).to.equal(false);
    expect(m('a*'.repeat(3000) + 'b', subject)).to.equal(false); // deep nesting is refused, not a stack overflow
  });

  it('compiled matchers agree with globMatch', () => {
    fc.assert(fc.property(
      fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '[', ']', '\\', '-', '^'), maxLength: 6 }),
      fc.string({ unit: fc.constantFrom('a', 'b', '-', ']'), maxLength: 6 }),
      (p, s) => {
        const lone = p === '*'; // KEYS and SCAN treat a lone '*' as "everything", even ""
        expect(compileGlob(b(p))(b(s))).to.equal(lone || m(p, s));
      },
    ), { numRuns: 2000 });
  });
});
