/**
 * The dispatcher on a real engine (SQLite in a temp dir) with an injected
 * clock: error texts and their order, NOAUTH, MULTI/EXEC/WATCH state,
 * ASKING, size limits, and that a failing handler cannot break a client.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import type { CommandDispatcher } from '../../node/commands/dispatch.js';
import { createCommandTable } from '../../node/commands/table.js';
import { createServerContext } from '../../node/runtime/server-context.js';
import { SETTINGS, type NodeConfig } from '../../node/config/schema.js';
import type { ClientRegistry, ClientState, CommandResult, CommandTable, ServerContext } from '../../node/commands/types.js';
import type { Reply } from '../../node/resp/reply.js';

function defaultConfig(over: Partial<NodeConfig> = {}): NodeConfig {
  const base = Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as NodeConfig;
  return { ...base, ...over };
}

let nextId = 1;
function makeClient(): ClientState {
  const now = Date.now();
  return {
    id: nextId++, name: '', protocol: 2, addr: '127.0.0.1:5000', laddr: '127.0.0.1:6379', createdAt: now,
    lastInteractionAt: now, lastCommand: '', authenticated: false, readonly_: false, asking: false, multi: null,
    watched: new Map(), watchDirty: false, closeAfterReply: false,
    outputBytes: () => 0, queryBufferBytes: () => 0, kill: () => undefined,
  };
}

interface Harness {
  run(client: ClientState, line: string | Buffer[]): Reply;
  clock: { now: number };
  engine: SqliteEngine;
  dispatcher: CommandDispatcher;
  server: ServerContext;
}

function harness(engine: SqliteEngine, config: NodeConfig, table: CommandTable = createCommandTable(), handlerErrors: Array<[string, unknown]> = []): Harness {
  const clock = { now: 1_700_000_000_000 };
  const clients: ClientState[] = [];
  const registry: ClientRegistry = { list: () => clients, get: (id) => clients.find((c) => c.id === id), get count() { return clients.length; } };
  const { server, dispatcher } = createServerContext({
    keyspace: engine.keyspace, commits: engine.commits, config, clients: () => registry,
    commands: table, nodeId: 'a'.repeat(40), runId: 'b'.repeat(40), startedAt: clock.now, respPort: () => 6379,
    announceHost: '127.0.0.1', engineStats: () => engine.stats(), infoSections: () => [], now: () => clock.now,
    onHandlerError: (command, err) => { handlerErrors.push([command, err]); },
  });
  return {
    clock, engine, dispatcher, server,
    run(client, line) {
      if (!clients.includes(client)) clients.push(client);
      const argv = typeof line === 'string' ? line.split(' ').map((s) => Buffer.from(s)) : line;
      const r: CommandResult = dispatcher.execute(server, client, argv);
      if (r instanceof Promise) throw new Error('unexpected async reply');
      return r;
    },
  };
}

/** A reply in a compact readable form: "+OK", "-ERR ...", ":1", "$v", "nil", "*[...]". */
function show(r: Reply): string {
  switch (r.kind) {
    case 'simple': return `+${r.value}`;
    case 'error': return `-${r.value}`;
    case 'integer': return `:${r.value}`;
    case 'bulk': return `$${r.value.toString()}`;
    case 'null': return 'nil';
    case 'nullArray': return 'nil[]';
    case 'array': return `*[${r.items.map(show).join(',')}]`;
    default: return r.kind;
  }
}

describe('commands/dispatch: the command pipeline', () => {
  let dir: string;
  let engine: SqliteEngine;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-dispatch-'));
    engine = openEngine({
      dataDir: dir, fsync: 'batch', compression: { algorithm: 'none', thresholdBytes: 1024 },
      readCache: { maxEntries: 0, maxBytes: 0 }, activeExpiry: { intervalMs: 100, maxKeysPerCycle: 10, maxCycleMs: 5 },
    });
  });
  afterEach(() => {
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports unknown commands, unknown subcommands and arity with Redis texts, and records the command name', () => {
    const h = harness(engine, defaultConfig());
    const c = makeClient();
    expect(show(h.run(c, 'nosuch a b'))).to.equal("-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' ");
    expect(show(h.run(c, 'CLIENT nosuch'))).to.equal("-ERR unknown subcommand 'nosuch'. Try CLIENT HELP.");
    expect(show(h.run(c, 'client setname'))).to.equal("-ERR wrong number of arguments for 'client|setname' command");
    expect(show(h.run(c, 'GET'))).to.equal("-ERR wrong number of arguments for 'get' command");
    expect(show(h.run(c, 'Client GetName'))).to.equal('nil');
    expect(c.lastCommand).to.equal('client|getname');
    expect(show(h.run(c, [Buffer.from('foo'), Buffer.from('a\r\nb')]))).to.equal(
      "-ERR unknown command 'foo', with args beginning with: 'a  b' ");
  });

  it('finds a command by any spelling, again and again, while the receive memory its name came in is reused', () => {
    const h = harness(engine, defaultConfig());
    const c = makeClient();
    h.run(c, 'set k v');
    const chunk = Buffer.alloc(16);
    for (const spelling of ['GET', 'get', 'gEt', 'GET', 'gEt', 'GETX', 'GE', 'get']) {
      // The name is a view into a chunk the next read overwrites, as the parser hands it out.
      chunk.fill(0);
      chunk.write(spelling, 3, 'latin1');
      const name = chunk.subarray(3, 3 + spelling.length);
      const known = spelling.toLowerCase() === 'get';
      expect(show(h.run(c, [name, Buffer.from('k')]))).to.equal(known ? '$v'
        : `-ERR unknown command '${spelling}', with args beginning with: 'k' `);
      expect(c.lastCommand).to.equal(known ? 'get' : '');
    }
  });

  it('requires AUTH when a password is set, but lets AUTH, HELLO, QUIT and RESET through', () => {
    const h = harness(engine, defaultConfig({ requirePass: 'pw' }));
    const c = makeClient();
    expect(show(h.run(c, 'get k'))).to.equal('-NOAUTH Authentication required.');
    expect(show(h.run(c, 'nosuch'))).to.match(/^-ERR unknown command/);
    expect(show(h.run(c, 'auth wrong'))).to.equal('-WRONGPASS invalid username-password pair or user is disabled.');
    expect(show(h.run(c, 'auth pw'))).to.equal('+OK');
    expect(show(h.run(c, 'set k v'))).to.equal('+OK');
    expect(show(h.run(c, 'reset'))).to.equal('+RESET');
    expect(show(h.run(c, 'get k'))).to.equal('-NOAUTH Authentication required.');
    expect(show(h.run(c, 'auth default pw'))).to.equal('+OK');
    expect(show(h.run(c, 'get k'))).to.equal('$v');
    expect(show(h.run(c, 'quit'))).to.equal('+OK');
    expect(c.closeAfterReply).to.equal(true);
  });

  it('queues inside MULTI, runs the queue at EXEC, and aborts on errors found while queueing', () => {
    const h = harness(engine, defaultConfig());
    const c = makeClient();
    expect(show(h.run(c, 'multi'))).to.equal('+OK');
    expect(show(h.run(c, 'set {t}a 1'))).to.equal('+QUEUED');
    expect(show(h.run(c, 'incr {t}a'))).to.equal('+QUEUED');
    expect(h.engine.keyspace.get(Buffer.from('{t}a'), h.clock.now)).to.equal(null); // nothing ran yet
    expect(show(h.run(c, 'exec'))).to.equal('*[+OK,:2]');
    expect(c.multi).to.equal(null);

    h.run(c, 'multi');
    h.run(c, 'set {t}a 5');
    expect(show(h.run(c, 'get'))).to.equal("-ERR wrong number of arguments for 'get' command");
    expect(show(h.run(c, 'set {t}b 1'))).to.equal('+QUEUED');
    expect(c.multi!.queue.length).to.equal(1); // nothing stored once the transaction is doomed
    expect(show(h.run(c, 'exec'))).to.equal('-EXECABORT Transaction discarded because of previous errors.');
    expect(show(h.run(c, 'get {t}a'))).to.equal('$2');

    h.run(c, 'multi');
    // A bare context is a standalone primary: keys may span slots, as on a single Redis server (issue #17).
    expect(show(h.run(c, 'mget a b'))).to.equal('+QUEUED');
    h.run(c, 'foo');
    expect(show(h.run(c, 'exec'))).to.equal('-EXECABORT Transaction discarded because of previous errors.');
    expect(show(h.run(c, 'exec x'))).to.equal(
      "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command");
  });

  it('EXEC whose write fails (disk full) applies none of the transaction and says so', async () => {
    const h = harness(engine, defaultConfig());
    const c = makeClient();
    h.run(c, 'set {t}a old');
    await new Promise<void>((resolve, reject) => engine.commits.afterCommit((err) => (err === null ? resolve() : reject(err))));
    engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
    try {
      h.run(c, 'multi');
      h.run(c, 'set {t}a new');
      h.run(c, [Buffer.from('set'), Buffer.from('{t}b'), Buffer.alloc(300_000, 'v')]);
      expect(show(h.run(c, 'exec'))).to.match(/^-ERR internal error: .*full/);
    } finally {
      engine.db.pragma('max_page_count = 1073741823');
    }
    expect(c.multi).to.equal(null);
    expect(show(h.run(c, 'get {t}a'))).to.equal('$old');
    expect(show(h.run(c, 'get {t}b'))).to.equal('nil');
  });

  it('WATCH: a write by anyone, or the key expiring, fails EXEC with a nil array', () => {
    const h = harness(engine, defaultConfig());
    const a = makeClient();
    const b = makeClient();
    h.run(a, 'set w 1');
    h.run(a, 'watch w');
    h.run(b, 'set w 2');
    h.run(a, 'multi');
    h.run(a, 'set w mine');
    expect(show(h.run(a, 'exec'))).to.equal('nil[]');
    expect(show(h.run(a, 'get w'))).to.equal('$2');

    h.run(a, 'set e 1 px 1000');
    h.run(a, 'watch e');
    h.clock.now += 1000; // e is now expired, though nothing has deleted it
    h.run(a, 'multi');
    h.run(a, 'ping');
    expect(show(h.run(a, 'exec'))).to.equal('nil[]');

    h.run(a, 'watch w');
    h.run(a, 'unwatch');
    h.run(b, 'set w 3');
    h.run(a, 'multi');
    h.run(a, 'get w');
    expect(show(h.run(a, 'exec'))).to.equal('*[$3]');

    expect(show(h.run(a, 'watch {w}1 {w}2'))).to.equal('+OK');
    expect(h.server.watches.size).to.equal(2);
    h.dispatcher.clientClosed(a);
    expect(h.server.watches.size).to.equal(0);
  });

  it('ASKING holds for the next command only (and across an open MULTI)', () => {
    const h = harness(engine, defaultConfig());
    const c = makeClient();
    h.run(c, 'asking');
    expect(c.asking).to.equal(true);
    h.run(c, 'get k');
    expect(c.asking).to.equal(false);
    h.run(c, 'asking');
    h.run(c, 'multi'); // Redis keeps the flag while a transaction is open
    h.run(c, 'get k');
    expect(c.asking).to.equal(true);
    h.run(c, 'exec');
    expect(c.asking).to.equal(false);
  });

  it('refuses keys and values over the configured limits and writes nothing', () => {
    const h = harness(engine, defaultConfig({ maxKeyBytes: 8, maxValueBytes: 16 }));
    const c = makeClient();
    expect(show(h.run(c, 'set 123456789 v'))).to.match(/^-ERR key is too large: 9 bytes exceeds the limit of 8 bytes/);
    expect(show(h.run(c, 'set k 12345678901234567'))).to.match(/^-ERR value is too large: 17 bytes/);
    expect(show(h.run(c, 'mset {a}1 ok {a}2 12345678901234567'))).to.match(/^-ERR value is too large/);
    expect(show(h.run(c, 'mget {a}1 {a}2'))).to.equal('*[nil,nil]');
    expect(show(h.run(c, 'set k 1234567890'))).to.equal('+OK');
    expect(show(h.run(c, 'append k 1234567'))).to.match(/^-ERR value is too large: 17 bytes/);
    expect(show(h.run(c, 'get k'))).to.equal('$1234567890');
    expect(show(h.run(c, 'get 123456789'))).to.equal('nil'); // reads of long keys are harmless
    expect(engine.keyspace.size()).to.equal(1);
  });

  it('turns a throwing handler into an error reply and keeps serving the client', () => {
    const real = createCommandTable();
    const boom = { ...real.lookup('ping')!, name: 'boom', handler: (): never => { throw new Error('kaput\r\nx'); } };
    const table: CommandTable = { lookup: (n) => (n === 'boom' ? boom : real.lookup(n)), all: () => [...real.all(), boom] };
    const handlerErrors: Array<[string, unknown]> = [];
    const h = harness(engine, defaultConfig(), table, handlerErrors);
    const c = makeClient();
    expect(show(h.run(c, 'boom'))).to.equal('-ERR internal error: kaput x');
    expect(show(h.run(c, 'ping'))).to.equal('+PONG');
    // Reported for the log, with the original error.
    expect(handlerErrors.map(([cmd, err]) => [cmd, (err as Error).message])).to.deep.equal([['boom', 'kaput\r\nx']]);
  });

  it('CLIENT KILL closes other connections, and the caller itself only after its reply', () => {
    const h = harness(engine, defaultConfig());
    const me = makeClient();
    const killed: number[] = [];
    const other = { ...makeClient(), addr: '127.0.0.1:7000', kill: () => { killed.push(other.id); } };
    h.run(other, 'ping');
    expect(show(h.run(me, `client kill id ${other.id}`))).to.equal(':1');
    expect(killed).to.deep.equal([other.id]);
    expect(show(h.run(me, 'client kill addr 127.0.0.1:5000'))).to.equal(':0'); // SKIPME yes by default
    expect(show(h.run(me, 'client kill 127.0.0.1:7000'))).to.equal('+OK');
    expect(show(h.run(me, 'client kill 127.0.0.1:5000'))).to.equal('+OK'); // the old form may kill the caller
    expect(me.closeAfterReply).to.equal(true);
    expect(show(h.run(me, 'client kill 1.2.3.4:5'))).to.equal('-ERR No such client');
  });

  it('uses the injected clock for TTLs', () => {
    const h = harness(engine, defaultConfig());
    const c = makeClient();
    h.run(c, 'set k v ex 100');
    h.clock.now += 30_400;
    expect(show(h.run(c, 'ttl k'))).to.equal(':70');
    expect(show(h.run(c, 'pttl k'))).to.equal(':69600');
    h.clock.now += 69_600;
    expect(show(h.run(c, 'get k'))).to.equal('nil');
    expect(show(h.run(c, 'ttl k'))).to.equal(':-2');
    h.run(c, 'set k v');
    expect(show(h.run(c, 'expireat k 1'))).to.equal(':1');
    expect(show(h.run(c, 'exists k'))).to.equal(':0');
  });
});
