/**
 * Replication's plain-data pieces: the stored state and which state a
 * starting node runs with, peer address parsing, admin role request
 * validation, INFO replication fields, and what the dispatcher answers on a
 * replica (MOVED / READONLY / LOADING / MASTERDOWN) and for WAIT.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { SETTINGS, type NodeConfig } from '../../node/config/schema.js';
import { chooseStartState, mergePeers, parseState, serializeState, stateFromConfig, type ReplState } from '../../node/replication/state.js';
import { formatPeerAddress, parsePeerAddress, splitNames } from '../../node/replication/peer-address.js';
import { parseRoleRequest } from '../../node/replication/admin-routes.js';
import { replicationInfoFields } from '../../node/replication/info.js';
import { HttpError } from '../../node/http/errors.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import { createServerContext } from '../../node/runtime/server-context.js';
import { createCommandTable } from '../../node/commands/table.js';
import type { ClientState, ReplicationView, ServerContext } from '../../node/commands/types.js';
import { engineOptions } from '../support/engine-fixture.js';
import { parseCli } from '../../node/config/load.js';

function config(over: Partial<NodeConfig> = {}): NodeConfig {
  return { ...(Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as NodeConfig), ...over };
}

describe('replication state', () => {
  const stored: ReplState = {
    role: 'replica', epoch: 3, primary: { name: 'a', host: '10.0.0.1', busPort: 16379 }, replicas: [],
    history: [{ epoch: 2, id: 'aa', firstSeq: 1 }, { epoch: 3, id: 'bb', firstSeq: 50 }], peers: [{ name: 'a', host: '10.0.0.1', busPort: 16379 }], loading: false,
  };

  it('round-trips through its JSON form', () => {
    expect(parseState(serializeState(stored))).to.deep.equal(stored);
  });

  it('rejects corrupt stored state instead of guessing', () => {
    for (const bad of ['null', '{}', '{"role":"leader"}', JSON.stringify({ ...stored, epoch: -1 }), JSON.stringify({ ...stored, primary: null }),
      JSON.stringify({ ...stored, history: [{ epoch: 1 }] }), JSON.stringify({ ...stored, peers: [{ name: 'x' }] })]) {
      expect(() => parseState(bad), bad).to.throw(/replication state/);
    }
  });

  it('comes from the flags on first start', () => {
    const s = stateFromConfig(config({ role: 'replica', replicaOf: 'a@h:17000', epoch: 4 }));
    expect(s).to.include({ role: 'replica', epoch: 4 });
    expect(s.primary).to.deep.equal({ name: 'a', host: 'h', busPort: 17000 });
    expect(chooseStartState(null, s)).to.deep.equal({ state: s, source: 'flags' });
  });

  it('keeps the stored role unless the flags name a newer epoch (and never loses history)', () => {
    const flags = stateFromConfig(config({ role: 'primary', epoch: 3, replicas: 'b,c' }));
    expect(chooseStartState(stored, flags).source).to.equal('stored');
    const newer = chooseStartState(stored, { ...flags, epoch: 4 });
    expect(newer.source).to.equal('flags');
    expect(newer.state.role).to.equal('primary');
    expect(newer.state.replicas).to.deep.equal(['b', 'c']);
    expect(newer.state.history).to.deep.equal(stored.history);
  });

  it('remembers the newest address of each peer, boundedly', () => {
    const peers = mergePeers([{ name: 'a', host: 'x', busPort: 1 }], [{ name: 'a', host: 'y', busPort: 2 }, { name: 'b', host: 'z', busPort: 3 }]);
    expect(peers).to.deep.equal([{ name: 'a', host: 'y', busPort: 2 }, { name: 'b', host: 'z', busPort: 3 }]);
    const many = mergePeers([], Array.from({ length: 100 }, (_, i) => ({ name: `n${i}`, host: 'h', busPort: i + 1 })));
    expect(many).to.have.length(32);
    expect(many[31]!.name).to.equal('n99');
  });
});

describe('peer addresses', () => {
  it('parses name@host:port, IPv6 in brackets, and says what is wrong otherwise', () => {
    expect(parsePeerAddress('db-0@10.1.2.3:16379')).to.deep.equal({ name: 'db-0', host: '10.1.2.3', busPort: 16379 });
    expect(parsePeerAddress('db-0@[::1]:16379')).to.deep.equal({ name: 'db-0', host: '::1', busPort: 16379 });
    expect(parsePeerAddress('10.1.2.3:16379')).to.be.a('string').that.matches(/name@host:busPort/);
    expect(parsePeerAddress('a@h:0')).to.match(/not a port/);
    expect(parsePeerAddress('a@h:99999')).to.match(/not a port/);
    expect(parsePeerAddress('a b@h:1')).to.match(/node name/);
    expect(parsePeerAddress('a@:1')).to.be.a('string');
  });

  it('formats what it parses (property)', () => {
    fc.assert(fc.property(
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65535 }),
      (name, host, busPort) => {
        expect(parsePeerAddress(formatPeerAddress({ name, host, busPort }))).to.deep.equal({ name, host, busPort });
      },
    ));
  });

  it('splits name lists', () => {
    expect(splitNames(' a, b,,c ')).to.deep.equal(['a', 'b', 'c']);
    expect(splitNames('')).to.deep.equal([]);
  });

  it('are checked when the config loads', () => {
    const load = (argv: string[]) => {
      const action = parseCli({ argv, env: {}, readFile: () => { throw new Error('no file'); } });
      if (action.kind !== 'run') throw new Error(action.kind);
      return action.loaded;
    };
    expect(() => load(['--role', 'replica'])).to.throw(/needs replicaOf/);
    expect(() => load(['--replica-of', 'nope'])).to.throw(/invalid replicaOf/);
    expect(() => load(['--replicas', 'a,b c'])).to.throw(/invalid replica name/);
    expect(load(['--role', 'replica', '--replica-of', 'a@h:1', '--min-sync-replicas', '2']).config.minSyncReplicas).to.equal(2);
  });
});

describe('admin role requests', () => {
  const bad = (v: unknown): string => {
    try {
      parseRoleRequest(v);
    } catch (e) {
      expect(e).to.be.instanceOf(HttpError);
      expect((e as HttpError).status).to.equal(400);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('accepts the two shapes', () => {
    expect(parseRoleRequest({ role: 'primary', epoch: 2, replicas: ['b'] })).to.deep.equal({ role: 'primary', epoch: 2, replicas: ['b'] });
    expect(parseRoleRequest({ role: 'primary', epoch: 0 })).to.deep.equal({ role: 'primary', epoch: 0, replicas: [] });
    expect(parseRoleRequest({ role: 'replica', epoch: 2, primary: { name: 'a', host: 'h', busPort: 1 } }))
      .to.deep.equal({ role: 'replica', epoch: 2, primary: { name: 'a', host: 'h', busPort: 1 } });
  });

  it('names the field that is wrong', () => {
    expect(bad(null)).to.match(/JSON object/);
    expect(bad({ role: 'primary', epoch: -1 })).to.match(/epoch/);
    expect(bad({ role: 'primary', epoch: 1.5 })).to.match(/epoch/);
    expect(bad({ role: 'boss', epoch: 1 })).to.match(/role/);
    expect(bad({ role: 'primary', epoch: 1, replicas: ['ok', 'not ok'] })).to.match(/replicas/);
    expect(bad({ role: 'replica', epoch: 1 })).to.match(/primary/);
    expect(bad({ role: 'replica', epoch: 1, primary: { name: 'a', host: '', busPort: 1 } })).to.match(/primary.host/);
    expect(bad({ role: 'replica', epoch: 1, primary: { name: 'a', host: 'h', busPort: 70000 } })).to.match(/busPort/);
  });

  it('never throws anything but a 400 on arbitrary JSON (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      try {
        parseRoleRequest(v);
      } catch (e) {
        expect(e).to.be.instanceOf(HttpError);
      }
    }));
  });
});

describe('INFO replication', () => {
  const base: ReplicationStatus = {
    name: 'a', role: 'primary', epoch: 2, lastSeq: 100, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: 1, ackTimeoutMs: 2000,
    declaredReplicas: ['b', 'c'], primary: null, backlog: { firstSeq: 1, lastSeq: 100 }, pendingAcks: 0, loading: false, declaredSeq: 0,
    replicas: [
      { name: 'b', host: '10.0.0.2', port: 6379, busPort: 16379, connected: true, state: 'online', ackedSeq: 100, lagOps: 0, lagMs: 0, fullSync: null },
      { name: 'c', host: '', port: 0, busPort: 0, connected: false, state: 'handshake', ackedSeq: 0, lagOps: 100, lagMs: 2500, fullSync: null },
    ],
  };

  it('has Redis fields for a primary: only connected replicas are listed', () => {
    const f = new Map(replicationInfoFields(base, 'x'.repeat(40)));
    expect(f.get('role')).to.equal('master');
    expect(f.get('connected_slaves')).to.equal(1);
    expect(f.get('slave0')).to.equal('ip=10.0.0.2,port=6379,state=online,offset=100,lag=0');
    expect(f.has('slave1')).to.equal(false);
    expect(f.get('master_repl_offset')).to.equal(100);
    expect(f.get('irisdb_epoch')).to.equal(2);
  });

  it('has Redis fields for a replica, with load progress', () => {
    const f = new Map(replicationInfoFields({
      ...base, role: 'replica', replicas: [],
      primary: { name: 'a', host: 'h', busPort: 1, respHost: '10.0.0.1', respPort: 7000, state: 'full_sync', lastError: null, fullSyncs: 1, partialSyncs: 0, loading: { keys: 5, bytes: 500, totalKeys: 10 } },
    }, 'x'.repeat(40)));
    expect(f.get('role')).to.equal('slave');
    expect(f.get('master_host')).to.equal('10.0.0.1');
    expect(f.get('master_port')).to.equal(7000);
    expect(f.get('master_link_status')).to.equal('down');
    expect(f.get('master_sync_in_progress')).to.equal(1);
    expect(f.get('master_sync_read_keys')).to.equal(5);
  });
});

describe('commands on a replica', () => {
  let dir: string;
  let engine: SqliteEngine;
  let view: ReturnType<ReplicationView['role']>;
  let server: ServerContext;
  let waited: Array<[number, number]>;
  const client = (): ClientState => ({
    id: 1, name: '', protocol: 2, addr: 'a:1', laddr: 'b:2', createdAt: 0, lastInteractionAt: 0, lastCommand: '', authenticated: true,
    readonly_: false, asking: false, multi: null, watched: new Map(), watchDirty: false, closeAfterReply: false,
    outputBytes: () => 0, queryBufferBytes: () => 0, kill: () => undefined,
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-repl-role-'));
    engine = openEngine(engineOptions(dir));
    waited = [];
    view = { role: 'replica', primary: { host: '10.0.0.1', port: 7000 }, loading: false };
    const table = createCommandTable();
    ({ server } = createServerContext({
      keyspace: engine.keyspace, commits: engine.commits, config: config(),
      clients: () => ({ list: () => [], get: () => undefined, count: 0 }), commands: table, nodeId: 'a'.repeat(40), runId: 'b'.repeat(40),
      startedAt: 0, respPort: () => 6379, announceHost: '127.0.0.1', engineStats: () => engine.stats(), infoSections: () => [],
      now: () => 1_700_000_000_000,
      replication: {
        role: () => view,
        infoFields: () => [['role', 'slave']],
        waitForReplicas: (n, t) => { waited.push([n, t]); return Promise.resolve(2); },
      },
    }));
  });

  afterEach(() => {
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (c: ClientState, ...args: string[]) => server.execute(c, args.map((a) => Buffer.from(a)));

  it('redirects writes, and reads without READONLY, to the primary with MOVED', () => {
    const c = client();
    expect(run(c, 'SET', 'foo', 'bar')).to.deep.equal({ kind: 'error', value: 'MOVED 12182 10.0.0.1:7000' });
    expect(run(c, 'GET', 'foo')).to.deep.equal({ kind: 'error', value: 'MOVED 12182 10.0.0.1:7000' });
    run(c, 'READONLY');
    expect(run(c, 'GET', 'foo')).to.deep.equal({ kind: 'null' });
    expect(run(c, 'SET', 'foo', 'bar')).to.deep.equal({ kind: 'error', value: 'MOVED 12182 10.0.0.1:7000' });
    expect(run(c, 'PING')).to.deep.equal({ kind: 'simple', value: 'PONG' });
  });

  it('refuses keyless writes with READONLY, answers LOADING while loading and MASTERDOWN without a primary', () => {
    const c = client();
    expect(run(c, 'FLUSHALL')).to.deep.include({ kind: 'error', value: "READONLY You can't write against a read only replica." });
    view = { ...view, primary: null };
    expect(run(c, 'GET', 'x')).to.deep.include({ kind: 'error' });
    expect((run(c, 'GET', 'x') as { value: string }).value).to.match(/^MASTERDOWN/);
    view = { ...view, loading: true };
    run(c, 'READONLY');
    expect((run(c, 'GET', 'x') as { value: string }).value).to.match(/^LOADING/);
  });

  it('aborts a transaction that queued a refused command', () => {
    const c = client();
    run(c, 'MULTI');
    expect((run(c, 'SET', 'k', 'v') as { value: string }).value).to.match(/^MOVED/);
    expect((run(c, 'EXEC') as { value: string }).value).to.match(/^EXECABORT/);
  });

  it('WAIT is an error on a replica and asks the primary otherwise', async () => {
    const c = client();
    expect((run(c, 'WAIT', '1', '0') as { value: string }).value).to.match(/replica/);
    view = { role: 'primary', primary: null, loading: false };
    expect(await run(c, 'WAIT', '2', '150')).to.deep.equal({ kind: 'integer', value: 2 });
    expect(waited).to.deep.equal([[2, 150]]);
    expect((run(c, 'WAIT', '1', '-1') as { value: string }).value).to.match(/negative/);
  });
});
