/** The ACL rules engine (node/acl): SETUSER rules, their description, permission decisions, the aclfile. */
import { expect } from 'chai';
import fc from 'fast-check';
import { createCommandTable } from '../../node/commands/table.js';
import { catalogFromTable } from '../../node/acl/catalog.js';
import { AclRuleError, applyRules, describeUser, newUser, sha256Hex, type AclUser } from '../../node/acl/user.js';
import { checkCommand, canReadKey, dryrunMessage, nopermMessage, PatternMatchers } from '../../node/acl/check.js';
import { formatAclFile, parseAclFile, AclFileError } from '../../node/acl/aclfile.js';
import { AclStore } from '../../node/acl/store.js';
import { AclLog } from '../../node/acl/log.js';
import { globMatch } from '../../node/commands/glob.js';

const catalog = catalogFromTable(createCommandTable());
const matchers = new PatternMatchers();
const user = (...rules: string[]): AclUser => applyRules(newUser('u'), rules, catalog);
const argv = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));
function check(u: AclUser, ...a: string[]): string | null {
  const name = a[0]!.toLowerCase();
  const sub = catalog.get(`${name}|${(a[1] ?? '').toLowerCase()}`);
  const cmd = sub ?? catalog.get(name)!;
  const d = checkCommand(u, cmd, argv(...a), matchers);
  return d === null ? null : nopermMessage(d);
}

describe('acl: rules and decisions', () => {
  it('describes users as redis-server does for flags, passwords, keys and channels (commands as written, Redis 7.2 style)', () => {
    const u = user('on', '>p1', '>p2', '~tenant-a:*', '%R~ro:*', '&chan:*', '+@read', '-@dangerous', '+set', '-get');
    expect(describeUser(u)).to.equal(`user u on #${sha256Hex('p1')} #${sha256Hex('p2')} ~tenant-a:* %R~ro:* resetchannels &chan:* -@all +@read -@dangerous +set -get`);
    expect(describeUser(user())).to.equal('user u off resetchannels -@all');
    expect(describeUser(user('~a', 'allkeys', 'nopass', 'allchannels', 'allcommands', '-@admin'))).to.equal('user u off nopass ~* &* +@all -@admin');
    // A later rule for the same command replaces the earlier one; +@all starts over.
    expect(describeUser(user('+get', '+set', '-get'))).to.equal('user u off resetchannels -@all +set -get');
    expect(describeUser(user('+get', '+@all', '-set'))).to.equal('user u off resetchannels +@all -set');
    expect(describeUser(user('%R~a', '%W~a'))).to.equal('user u off ~a resetchannels -@all');
  });

  it('refuses bad rules with redis-server 7.0\'s texts and changes nothing', () => {
    const cases: Array<[string[], string]> = [
      [['foo'], "Error in ACL SETUSER modifier 'foo': Syntax error"],
      [['+@foo'], "Error in ACL SETUSER modifier '+@foo': Unknown command or category name in ACL"],
      [['+nosuch'], "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"],
      [['%X~a'], "Error in ACL SETUSER modifier '%X~a': Syntax error"],
      [['#abc'], "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"],
      [['<nope'], "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist"],
      [['allkeys', '~a'], "Error in ACL SETUSER modifier '~a': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"],
    ];
    for (const [rules, message] of cases) {
      const before = user('on', '>x');
      expect(() => applyRules(before, ['+get', ...rules], catalog)).to.throw(AclRuleError, message);
      expect(describeUser(before)).to.equal(describeUser(user('on', '>x')));
    }
  });

  it('checks the command, then its keys (read/write by key spec), then its channels', () => {
    const u = user('on', '~tenant-a:*', '%R~ro:*', '%W~wo:*', '&chan:*', '+@all', '-get');
    expect(check(u, 'get', 'tenant-a:1')).to.equal("NOPERM this user has no permissions to run the 'get' command");
    expect(check(u, 'set', 'tenant-a:1', 'v')).to.equal(null);
    expect(check(u, 'set', 'tenant-b:1', 'v')).to.equal('NOPERM this user has no permissions to access one of the keys used as arguments');
    expect(check(u, 'mget', 'tenant-a:1', 'ro:1')).to.equal(null);
    expect(check(u, 'set', 'ro:1', 'v')).to.match(/keys used as arguments/);
    expect(check(u, 'setnx', 'wo:1', 'v')).to.equal(null);
    expect(check(u, 'getdel', 'wo:1')).to.match(/keys used as arguments/);
    // EXISTS's key spec has no ACCESS flag: any matching pattern will do (as in Redis).
    expect(check(u, 'exists', 'wo:1')).to.equal(null);
    expect(check(u, 'rename', 'tenant-a:1', 'tenant-b:1')).to.match(/keys used as arguments/);
    expect(check(u, 'publish', 'chan:1', 'm')).to.equal(null);
    expect(check(u, 'publish', 'other', 'm')).to.equal('NOPERM this user has no permissions to access one of the channels used as arguments');
    expect(check(u, 'psubscribe', 'chan:*')).to.equal(null);
    expect(check(u, 'psubscribe', 'chan:1*')).to.match(/channels/);
    expect(check(u, 'client', 'list')).to.equal(null);
    expect(check(user('on', '+@all', '-client|kill'), 'client', 'kill', 'x')).to.equal("NOPERM this user has no permissions to run the 'client|kill' command");
    expect(check(user('on', '-@all', '+client'), 'client', 'list')).to.equal(null);
    expect(dryrunMessage(checkCommand(u, catalog.get('set')!, argv('set', 'x', '1'), matchers)!)).to.equal("This user has no permissions to access the 'x' key");
    expect(canReadKey(u, Buffer.from('wo:1'), matchers)).to.equal(false);
    expect(canReadKey(u, Buffer.from('ro:1'), matchers)).to.equal(true);
  });

  it('categories come from the command metadata (COMMAND INFO)', () => {
    const u = user('on', 'allkeys', '+@string', '-@write');
    expect(check(u, 'get', 'k')).to.equal(null);
    expect(check(u, 'set', 'k', 'v')).to.match(/'set' command/);
    expect(check(u, 'del', 'k')).to.match(/'del' command/);
    expect(check(user('on', '+@all', '-@dangerous'), 'keys', '*')).to.match(/'keys' command/);
    expect(check(user('on', '+@all', '-@dangerous'), 'flushall')).to.match(/'flushall' command/);
  });

  it('property: a described user reads back (aclfile) with the same decisions', () => {
    const rule = fc.oneof(
      fc.constantFrom('on', 'off', 'nopass', 'resetpass', 'allkeys', 'resetkeys', 'allchannels', 'resetchannels', 'allcommands', 'nocommands', 'reset'),
      fc.constantFrom('+@read', '-@read', '+@write', '-@write', '+@dangerous', '-@dangerous', '+@string', '-@keyspace', '+get', '-get', '+set', '-set', '+client|list', '-client'),
      fc.stringMatching(/^[a-c:*]{1,4}$/).map((p) => `~${p}`),
      fc.tuple(fc.constantFrom('%R~', '%W~', '%RW~'), fc.stringMatching(/^[a-c:*]{1,4}$/)).map(([f, p]) => f + p),
      fc.stringMatching(/^[a-c*]{1,3}$/).map((p) => `&${p}`),
      fc.stringMatching(/^[a-z]{1,5}$/).map((p) => `>${p}`),
    );
    const probe = fc.tuple(fc.constantFrom('get', 'set', 'del', 'mget', 'publish', 'exists'), fc.stringMatching(/^[a-c:]{1,4}$/));
    fc.assert(fc.property(fc.array(rule, { maxLength: 12 }), fc.array(probe, { minLength: 1, maxLength: 8 }), (rules, probes) => {
      let u: AclUser;
      try {
        u = user(...rules);
      } catch (err) {
        expect(err).to.be.instanceOf(AclRuleError);
        return;
      }
      const back = parseAclFile(formatAclFile([u]), catalog).get('u')!;
      expect(describeUser(back)).to.equal(describeUser(u));
      for (const [cmd, key] of probes) {
        const a = cmd === 'set' || cmd === 'publish' ? [cmd, key, 'v'] : [cmd, key];
        expect(check(back, ...a)).to.equal(check(u, ...a));
      }
    }), { numRuns: 300 });
  });

  it('property: key patterns match exactly as Redis\'s glob (the fast paths included)', () => {
    fc.assert(fc.property(fc.stringMatching(/^[ab:*?]{0,5}$/), fc.stringMatching(/^[ab:]{0,5}$/), (pattern, key) => {
      if (pattern === '' || pattern === '*') return;
      const u = user('on', `~${pattern}`);
      expect(canReadKey(u, Buffer.from(key), matchers), `${pattern} vs ${key}`).to.equal(globMatch(Buffer.from(pattern), Buffer.from(key)));
    }), { numRuns: 2000 });
  });

  it('parses aclfiles all or nothing, naming the bad line', () => {
    const users = parseAclFile('# users\nuser alice on >pw ~a:* +@all\n\nuser bob off\n', catalog);
    expect([...users.keys()]).to.deep.equal(['alice', 'bob']);
    expect(() => parseAclFile('user a on\nuser b on +nosuch\n', catalog)).to.throw(AclFileError, /aclfile:2: Error in ACL SETUSER modifier '\+nosuch'/);
    expect(() => parseAclFile('user a on\nuser a off\n', catalog)).to.throw(AclFileError, /Duplicate user 'a'/);
    expect(() => parseAclFile('alice on\n', catalog)).to.throw(AclFileError, /aclfile:1/);
  });

  it('the store: default user from requirePass, authentication, several passwords, off users, DELUSER', () => {
    const files = new Map<string, string>();
    const io = { read: (p: string) => files.get(p) ?? '', write: (p: string, t: string) => { files.set(p, t); } };
    const store = new AclStore(catalog, { requirePass: 'secret', aclfile: '/acl', logMaxLen: 10, io });
    expect(store.defaultOpen()).to.equal(false);
    expect(store.authenticate('default', Buffer.from('secret'))?.name).to.equal('default');
    expect(store.authenticate('default', Buffer.from('nope'))).to.equal(null);
    store.setUser('alice', ['on', '>one', '>two', '~a:*', '+@all']);
    expect(store.authenticate('alice', Buffer.from('two'))?.name).to.equal('alice');
    store.setUser('alice', ['<one']);
    expect(store.authenticate('alice', Buffer.from('one'))).to.equal(null);
    store.setUser('alice', ['off']);
    expect(store.authenticate('alice', Buffer.from('two'))).to.equal(null);
    expect(() => store.delUsers(['default'])).to.throw(/cannot be removed/);
    store.save();
    expect(files.get('/acl')).to.match(/^user alice off #[0-9a-f]{64} ~a:\* resetchannels \+@all\nuser default on #/);
    expect(store.delUsers(['alice', 'nobody'])).to.equal(1);
    expect(store.load()).to.deep.equal([]);
    expect(store.get('alice')?.enabled).to.equal(false);
    // A file without "default" keeps requirePass for it.
    files.set('/acl', 'user bob on nopass +@all ~*\n');
    expect(store.load().sort()).to.deep.equal(['alice']);
    expect(store.authenticate('default', Buffer.from('secret'))).to.not.equal(null);
    expect(store.authenticate('bob', Buffer.from('anything'))?.name).to.equal('bob');
  });

  it('ACL LOG groups repeats within 60 s and keeps the newest first, bounded', () => {
    const log = new AclLog(2);
    const e = { reason: 'command' as const, context: 'toplevel' as const, object: 'get', username: 'a', clientInfo: 'x' };
    log.add(e, 0);
    log.add({ ...e, object: 'set' }, 1);
    log.add(e, 2);
    expect(log.list(10).map((x) => [x.object, x.count])).to.deep.equal([['get', 2], ['set', 1]]);
    log.add(e, 70_000);
    log.add({ ...e, object: 'del' }, 70_001);
    expect(log.list(10).map((x) => [x.object, x.count])).to.deep.equal([['del', 1], ['get', 1]]);
  });
});
