/** notify-keyspace-events parsing/printing (property-tested) and the command -> keyspace events mapping, with plain data. */
import { expect } from 'chai';
import fc from 'fast-check';
import { NOTIFY, NOTIFY_ALL, formatKeyspaceEventFlags, parseKeyspaceEventFlags } from '../../node/pubsub/keyspace-flags.js';
import { keyspaceEventsFor, notificationsOf, type KeyChange } from '../../node/pubsub/keyspace-events.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const LETTERS = 'Ag$lshzxeKEtmdn';

function events(command: string, argv: string[], changes: Array<[string, boolean, boolean?]>): string[] {
  const ch: KeyChange[] = changes.map(([k, existsAfter, created]) => ({ key: b(k), existsAfter, created: created ?? false }));
  return keyspaceEventsFor(command, argv.map(b), ch).map((e) => `${e.event}:${e.key.toString()}`);
}

describe('pubsub: notify-keyspace-events flags', () => {
  it('prints as Redis 7.0 does', () => {
    const cases: Record<string, string> = { KEA: 'AKE', An: 'A', AnK: 'AK', 'g$xK': 'g$xK', Kx: 'xK', '': '', En: 'nE', m: 'm', KEAm: 'AKEm' };
    for (const [input, printed] of Object.entries(cases)) expect(formatKeyspaceEventFlags(parseKeyspaceEventFlags(input)!), input).to.equal(printed);
    expect(parseKeyspaceEventFlags('A')).to.equal(NOTIFY_ALL);
    expect(parseKeyspaceEventFlags('Z')).to.equal(null);
    expect(parseKeyspaceEventFlags('KE ')).to.equal(null);
  });

  it('property: any string of known letters parses, and its printed form parses to the same flags (except A hiding n)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...LETTERS)).map((a) => a.join('')), (text) => {
      const flags = parseKeyspaceEventFlags(text);
      expect(flags).to.not.equal(null);
      const again = parseKeyspaceEventFlags(formatKeyspaceEventFlags(flags!));
      const hidden = (flags! & NOTIFY_ALL) === NOTIFY_ALL ? NOTIFY.NEW : 0;
      expect(again).to.equal(flags! & ~hidden);
    }));
  });

  it('property: a string with any other character is refused', () => {
    fc.assert(fc.property(fc.string(), fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !LETTERS.includes(c)), fc.string(), (a, bad, c) => {
      expect(parseKeyspaceEventFlags(a + bad + c)).to.equal(null);
    }));
  });
});

describe('pubsub: keyspace events of a command', () => {
  it('names events as Redis does for the string and generic commands', () => {
    expect(events('set', ['set', 'k', 'v'], [['k', true]])).to.deep.equal(['set:k']);
    expect(events('set', ['set', 'k', 'v', 'ex', '10'], [['k', true]])).to.deep.equal(['set:k', 'expire:k']);
    expect(events('set', ['set', 'k', 'v', 'KEEPTTL'], [['k', true]])).to.deep.equal(['set:k']);
    expect(events('setex', ['setex', 'k', '10', 'v'], [['k', true]])).to.deep.equal(['set:k', 'expire:k']);
    expect(events('incr', ['incr', 'n'], [['n', true]])).to.deep.equal(['incrby:n']);
    expect(events('incrbyfloat', ['incrbyfloat', 'n', '1'], [['n', true]])).to.deep.equal(['incrbyfloat:n']);
    expect(events('del', ['del', 'a', 'b'], [['a', false], ['b', false]])).to.deep.equal(['del:a', 'del:b']);
    expect(events('expire', ['expire', 'k', '10'], [['k', true]])).to.deep.equal(['expire:k']);
    expect(events('expire', ['expire', 'k', '-1'], [['k', false]])).to.deep.equal(['del:k']);
    expect(events('getex', ['getex', 'k', 'persist'], [['k', true]])).to.deep.equal(['persist:k']);
    expect(events('rename', ['rename', 'a', 'b'], [['a', false], ['b', true, true]])).to.deep.equal(['new:b', 'rename_from:a', 'rename_to:b']);
    expect(events('copy', ['copy', 'a', 'b', 'replace'], [['b', true]])).to.deep.equal(['new:b', 'copy_to:b']);
    expect(events('mset', ['mset', 'a', '1', 'b', '2'], [['a', true, true], ['b', true, true]])).to.deep.equal(['new:a', 'set:a', 'new:b', 'set:b']);
    expect(events('restore', ['restore', 'k', '0', 'payload', 'replace'], [['k', true]])).to.deep.equal(['new:k', 'restore:k']);
    expect(events('set', ['set', 'k', 'v'], [])).to.deep.equal([]);
    expect(events('flushall', ['flushall'], [['k', false]])).to.deep.equal([]);
  });

  it('sends each event to the keyspace and keyevent channels its flags enable', () => {
    const e = { cls: NOTIFY.STRING, event: 'set', key: b('k') };
    const pairs = (flags: string) => notificationsOf(parseKeyspaceEventFlags(flags)!, e).map(([c, m]) => `${c} ${m}`);
    expect(pairs('KE$')).to.deep.equal(['__keyspace@0__:k set', '__keyevent@0__:set k']);
    expect(pairs('E$')).to.deep.equal(['__keyevent@0__:set k']);
    expect(pairs('KEg')).to.deep.equal([]);
    expect(pairs('$')).to.deep.equal([]);
  });
});
