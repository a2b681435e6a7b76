/**
 * DUMP, RESTORE(-ASKING), OBJECT, MEMORY USAGE, BITFIELD and BITFIELD_RO route by
 * their key through the dispatcher as GET and SET do (MOVED to the owner,
 * ASK-free local service, writes refused on a replica), COMMAND GETKEYS
 * finds their keys, and the pure parts of OBJECT and MEMORY USAGE. Redis
 * parity is in test/integration/redis-parity-dump-object.test.ts.
 */
import { expect } from 'chai';
import { parseClusterMap } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import type { Reply } from '../../node/resp/reply.js';
import type { CommandResult } from '../../node/commands/types.js';
import { encodeDumpPayload } from '../../node/commands/rdb-string.js';
import { stringEncoding } from '../../node/commands/object.js';
import { estimateKeyBytes } from '../../node/commands/memory.js';
import { engineFixture } from '../support/engine-fixture.js';
import { clusterServerFixture, type ClusterServerFixture } from '../support/cluster-harness.js';
import { keysInSlots } from '../support/slot-keys.js';

const TWO_SHARDS = parseClusterMap({
  epoch: 1,
  nodes: [{ name: 'a0', host: '127.0.0.1', port: 7000, busPort: 17000 }, { name: 'b0', host: '127.0.0.2', port: 7001, busPort: 17001 }],
  shards: [
    { id: 'shard-0', slots: [[0, 8191]], primary: 'a0', replicas: [] },
    { id: 'shard-1', slots: [[8192, 16383]], primary: 'b0', replicas: [] },
  ],
});

function text(r: CommandResult): string {
  const x = r as Reply;
  if (x.kind === 'error' || x.kind === 'simple') return String(x.value);
  if (x.kind === 'integer') return `:${String(x.value)}`;
  if (x.kind === 'bulk') return Buffer.from(x.value as Buffer).toString('latin1');
  if (x.kind === 'null') return '(nil)';
  if (x.kind === 'array') return `[${x.items.map((i) => text(i)).join(',')}]`;
  return JSON.stringify(x);
}

/** Every command of this part with `key` in its key position (RESTORE with a real payload). */
function commandsFor(key: string): Array<{ argv: Buffer[]; write: boolean }> {
  const k = Buffer.from(key);
  const b = (...a: Array<string | Buffer>): Buffer[] => a.map((x) => (typeof x === 'string' ? Buffer.from(x) : x));
  return [
    { argv: b('DUMP', k), write: false },
    { argv: b('RESTORE', k, '0', encodeDumpPayload(Buffer.from('v')), 'REPLACE'), write: true },
    { argv: b('RESTORE-ASKING', k, '0', encodeDumpPayload(Buffer.from('v')), 'REPLACE'), write: true },
    { argv: b('OBJECT', 'ENCODING', k), write: false },
    { argv: b('OBJECT', 'REFCOUNT', k), write: false },
    { argv: b('OBJECT', 'IDLETIME', k), write: false },
    { argv: b('OBJECT', 'FREQ', k), write: false },
    { argv: b('MEMORY', 'USAGE', k), write: false },
    { argv: b('BITFIELD', k, 'SET', 'u8', '0', '7'), write: true },
    { argv: b('BITFIELD_RO', k, 'GET', 'u8', '0'), write: false },
  ];
}

describe('DUMP, RESTORE, OBJECT, MEMORY USAGE, BITFIELD: routing and pure parts', () => {
  const fx = engineFixture();

  function cluster(): ClusterServerFixture {
    const f = clusterServerFixture(fx.open(), 'a0', { clusterEnabled: true });
    f.state.install(TWO_SHARDS);
    return f;
  }

  it('a key of another shard is MOVED to its owner; a local key is served', () => {
    const f = cluster();
    const c = f.client();
    const [remote] = keysInSlots('r', [[8192, 16383]], 1);
    const [local] = keysInSlots('l', [[0, 8191]], 1);
    for (const { argv } of commandsFor(remote!)) {
      expect(text(f.server.execute(c, argv)), argv[0]!.toString()).to.equal(`MOVED ${keySlot(remote!)} 127.0.0.2:7001`);
    }
    expect(text(f.run(c, 'SET', local!, '1'))).to.equal('OK');
    const served = commandsFor(local!).map(({ argv }) => text(f.server.execute(c, argv)));
    expect(served).to.deep.equal([
      '\x00\xc0\x01\x0a\x00' + served[0]!.slice(5), 'OK', 'OK', 'embstr', ':1', ':0',
      served[6], ':' + String(estimateKeyBytes(local!.length, 1, false)), '[:118]', '[:7]',
    ]);
    expect(served[6]).to.match(/^ERR An LFU maxmemory policy is not selected/);
  });

  it('on a replica, RESTORE and BITFIELD writes go to the primary; reads are served with READONLY', () => {
    const f = cluster();
    const c = f.client();
    const [local] = keysInSlots('l', [[0, 8191]], 1);
    expect(text(f.run(c, 'SET', local!, '1'))).to.equal('OK');
    f.role = { role: 'replica', primary: { host: '127.0.0.9', port: 7009 }, loading: false };
    c.readonly_ = true;
    for (const { argv, write } of commandsFor(local!)) {
      const reply = text(f.server.execute(c, argv));
      if (write) expect(reply, argv[0]!.toString()).to.match(/^MOVED \d+ /);
      else expect(reply, argv[0]!.toString()).to.not.match(/^(MOVED|READONLY)/);
    }
  });

  it('keyless FUNCTION FLUSH, SCRIPT FLUSH, ACL WHOAMI: served on a cluster primary; FUNCTION FLUSH (a write) refused on a replica', () => {
    const f = cluster();
    const c = f.client();
    expect(['FUNCTION FLUSH', 'SCRIPT FLUSH', 'ACL WHOAMI', 'FUNCTION LIST'].map((l) => text(f.run(c, ...l.split(' ')))))
      .to.deep.equal(['OK', 'OK', 'default', '[]']);
    f.role = { role: 'replica', primary: { host: '127.0.0.9', port: 7009 }, loading: false };
    expect(text(f.run(c, 'FUNCTION', 'FLUSH'))).to.equal("READONLY You can't write against a read only replica.");
    expect(text(f.run(c, 'SCRIPT', 'FLUSH'))).to.equal('OK');
  });

  it('maxValueBytes bounds what BITFIELD grows and RESTORE stores (nothing written); maxBulkBytes bounds offsets', () => {
    const f = cluster();
    const c = f.client();
    const config = f.server.config as { maxValueBytes: number; maxBulkBytes: number };
    config.maxValueBytes = 100;
    config.maxBulkBytes = 1000;
    const [k] = keysInSlots('l', [[0, 8191]], 1);
    const tooLarge = 'ERR value is too large: 101 bytes exceeds the limit of 100 bytes (maxValueBytes)';
    expect(text(f.run(c, 'BITFIELD', k!, 'SET', 'u8', '800', '1'))).to.equal(tooLarge);
    expect(text(f.run(c, 'BITFIELD', k!, 'SET', 'u8', '792', '1'))).to.equal('[:0]');
    expect(text(f.run(c, 'STRLEN', k!))).to.equal(':100');
    expect(text(f.run(c, 'BITFIELD', k!, 'GET', 'u8', '7999'))).to.equal('[:0]');
    expect(text(f.run(c, 'BITFIELD', k!, 'GET', 'u8', '8000'))).to.equal('ERR bit offset is not an integer or out of range');
    const big = encodeDumpPayload(Buffer.alloc(101, 0x61));
    expect(text(f.server.execute(c, [Buffer.from('RESTORE'), Buffer.from(k!), Buffer.from('0'), big, Buffer.from('REPLACE')]))).to.equal(tooLarge);
    const packed = encodeDumpPayload(Buffer.alloc(5000, 0x61)); // LZF: the declared length is refused before decompressing
    expect(packed.length).to.be.below(100);
    expect(text(f.server.execute(c, [Buffer.from('RESTORE'), Buffer.from(k!), Buffer.from('0'), packed, Buffer.from('REPLACE')])))
      .to.equal('ERR value is too large: 5000 bytes exceeds the limit of 100 bytes (maxValueBytes)');
    expect(text(f.run(c, 'STRLEN', k!))).to.equal(':100');
  });

  it('COMMAND GETKEYS finds the key of every command', () => {
    const f = cluster();
    const c = f.client();
    for (const { argv } of commandsFor('thekey')) {
      expect(text(f.server.execute(c, [Buffer.from('COMMAND'), Buffer.from('GETKEYS'), ...argv])), argv[0]!.toString()).to.equal('[thekey]');
    }
  });

  it('OBJECT ENCODING follows tryObjectEncoding for a value written by SET', () => {
    const enc = (s: string): string => { const e = stringEncoding(Buffer.from(s)); return `${e.encoding}${e.shared ? '*' : ''}`; };
    expect(['0', '9999', '10000', '-1', '01', '+1', '1 ', '', 'x'.repeat(44), 'x'.repeat(45)].map(enc))
      .to.deep.equal(['int*', 'int*', 'int', 'int', 'embstr', 'embstr', 'embstr', 'embstr', 'embstr', 'raw']);
    expect(enc('-9223372036854775808')).to.equal('int');
    expect(enc('9223372036854775808')).to.equal('embstr');
  });

  it('MEMORY USAGE: the estimate counts key, value, fixed columns and index entries', () => {
    expect(estimateKeyBytes(10, 100, false) - estimateKeyBytes(10, 0, false)).to.equal(100);
    expect(estimateKeyBytes(20, 0, false) - estimateKeyBytes(10, 0, false)).to.equal(20); // key in the row and in kv_key
    expect(estimateKeyBytes(1, 1, true)).to.be.greaterThan(estimateKeyBytes(1, 1, false));
  });
});
