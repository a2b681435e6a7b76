/**
 * The backup format's pure parts (issue #15): chunk framing (round trip,
 * and any byte string either parses or fails with ChunkFormatError naming
 * the object, never anything else), compression round trips, destination
 * URLs, manifest parsing, and the filesystem destination's atomic puts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { DestinationError, parseDestination, publicDestination, s3OptionsFromEnv } from '../../common/backup/destination-url.js';
import { FileDestination } from '../../common/backup/file-destination.js';
import { BACKUP_FORMAT_VERSION, ManifestError, newBackupId, parseClusterManifest, parseShardManifest, type ShardManifest } from '../../common/backup/manifest.js';
import { CHUNK_HEADER_BYTES, ChunkFormatError, decodeChunkRows, encodeChunkHeader, parseChunk } from '../../node/backup/chunk-codec.js';
import { compressPayload, decompressPayload } from '../../node/backup/chunk-compress.js';
import { paceDelayMs } from '../../node/backup/pace.js';
import type { StoredRow } from '../../node/engine/types.js';
import { encodeRows } from '../../node/replication/row-codec.js';

const rowArb = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
  flags: fc.integer({ min: 0, max: 3 }),
  expiresAt: fc.option(fc.integer({ min: 1, max: 2 ** 45 }), { nil: null }),
  version: fc.integer({ min: 0, max: 2 ** 40 }),
  value: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
});

describe('backup chunk framing (node/backup/chunk-codec.ts)', () => {
  it('round-trips rows through header, compression and decoding (gzip and brotli)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(rowArb, { maxLength: 30 }), fc.constantFrom('gzip' as const, 'brotli' as const), async (rows: StoredRow[], compression) => {
      const raw = encodeRows(rows);
      const body = Buffer.concat([encodeChunkHeader({ compression, rows: rows.length, rawBytes: raw.length }), await compressPayload(raw, compression)]);
      const { header, payload } = parseChunk(body, 'obj');
      expect(header).to.deep.equal({ compression, rows: rows.length, rawBytes: raw.length });
      const back = decodeChunkRows(await decompressPayload(payload, compression, 'obj'), header, 'obj');
      expect(back.map((r) => ({ ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) }))).to.deep.equal(rows);
    }), { numRuns: 60 });
  });

  it('any byte string parses and decodes or fails with a ChunkFormatError naming the object', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 80 }), fc.boolean(), async (bytes, withMagic) => {
      const buf = withMagic ? Buffer.concat([Buffer.from('IRBK'), Buffer.from(bytes)]) : Buffer.from(bytes);
      try {
        const { header, payload } = parseChunk(buf, 'shard-0/chunk-000001.irbk');
        decodeChunkRows(await decompressPayload(payload, header.compression, 'shard-0/chunk-000001.irbk'), header, 'shard-0/chunk-000001.irbk');
      } catch (err) {
        expect(err).to.be.instanceOf(ChunkFormatError);
        expect((err as Error).message).to.contain('shard-0/chunk-000001.irbk');
      }
    }), { numRuns: 300 });
  });

  it('refuses a header that lies about the row count or the length', async () => {
    const rows: StoredRow[] = [{ key: Buffer.from('a'), flags: 0, expiresAt: null, version: 1, value: Buffer.from('v') }];
    const raw = encodeRows(rows);
    expect(() => decodeChunkRows(raw, { compression: 'gzip', rows: 2, rawBytes: raw.length }, 'o')).to.throw(ChunkFormatError, 'header says 2');
    expect(() => decodeChunkRows(raw, { compression: 'gzip', rows: 1, rawBytes: raw.length + 1 }, 'o')).to.throw(ChunkFormatError, 'decompressed to');
    expect(() => parseChunk(Buffer.alloc(CHUNK_HEADER_BYTES - 1), 'o')).to.throw(ChunkFormatError, 'shorter than');
  });
});

describe('backup read pace (node/backup/pace.ts paceDelayMs)', () => {
  it('pauses just enough to stay within the rate, at most a second at a time, never without a rate', () => {
    expect(paceDelayMs(10_000_000, 0, null)).to.equal(0);
    expect(paceDelayMs(1_000_000, 500, 1_000_000)).to.equal(500);
    expect(paceDelayMs(1_000_000, 1500, 1_000_000)).to.equal(0);
    expect(paceDelayMs(100_000_000, 0, 1_000_000)).to.equal(1000);
    fc.assert(fc.property(fc.nat(1e9), fc.nat(1e6), fc.integer({ min: 65536, max: 1e9 }), (bytes, elapsed, rate) => {
      const d = paceDelayMs(bytes, elapsed, rate);
      // After the pause the pace is within the rate, or the pause is the 1 s cap.
      return d >= 0 && d <= 1000 && (d === 1000 || bytes / ((elapsed + d) / 1000 || 1e-9) <= rate * 1.000001 || bytes === 0);
    }));
  });
});

describe('backup destination URLs (common/backup/destination-url.ts)', () => {
  it('parses file:// and s3:// and refuses anything else with a clear message', () => {
    expect(parseDestination('file:///var/backups/')).to.deep.equal({ kind: 'file', url: 'file:///var/backups/', path: '/var/backups' });
    const s3 = parseDestination('s3://my-bucket/a/b/', { endpoint: 'http://127.0.0.1:9000' });
    expect(s3).to.deep.include({ kind: 's3', bucket: 'my-bucket', prefix: 'a/b', url: 's3://my-bucket/a/b' });
    for (const bad of ['http://x/y', 'file://relative', 'file:///', 's3://A_B/x', 's3://ok-bucket/../x', '/plain/path']) {
      expect(() => parseDestination(bad), bad).to.throw(DestinationError);
    }
    expect(() => parseDestination('s3://bucket', { endpoint: 'ftp://x' })).to.throw(DestinationError, 'http://');
  });

  it('takes S3 settings from AWS_* env, flags first, and never records the credentials', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' };
    const o = s3OptionsFromEnv(env, { region: 'us-east-2' });
    expect(o).to.deep.equal({ endpoint: 'http://127.0.0.1:1', region: 'us-east-2', forcePathStyle: true, credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } });
    const pub = publicDestination(parseDestination('s3://bucket/p', o));
    expect(JSON.stringify(pub)).to.not.contain('secret');
  });
});

describe('backup manifests (common/backup/manifest.ts)', () => {
  const shard: ShardManifest = {
    formatVersion: BACKUP_FORMAT_VERSION, backupId: 'b1', cluster: 'iris', shard: 'shard-0', node: 'iris-shard-0-1', slots: [[0, 100]],
    mapEpoch: 3, shardEpoch: 1, startSeq: 9, endSeq: 9, keys: 2, slotDigests: [{ slot: 5, count: 2, hash: '0123456789abcdef' }],
    compression: 'gzip', chunks: [{ key: 'b1/shard-0/chunk-000001.irbk', sha256: 'a'.repeat(64), bytes: 10, rawBytes: 20, keys: 2 }],
    bytes: 10, rawBytes: 20, startedAt: 't0', finishedAt: 't1',
  };

  it('accepts a consistent shard manifest and refuses inconsistent or foreign ones naming the object', () => {
    expect(parseShardManifest(JSON.stringify(shard), 'x')).to.deep.equal(shard);
    expect(() => parseShardManifest(JSON.stringify({ ...shard, keys: 3 }), 'dest/b1/shard-0/manifest.json')).to.throw(ManifestError, 'dest/b1/shard-0/manifest.json: keys is 3');
    expect(() => parseShardManifest(JSON.stringify({ ...shard, formatVersion: 2 }), 'x')).to.throw(ManifestError, 'not supported');
    expect(() => parseShardManifest('{', 'x')).to.throw(ManifestError, 'not valid JSON');
    expect(() => parseClusterManifest(JSON.stringify({ formatVersion: 1, backupId: 'b', cluster: 'c', startedAt: 'a', finishedAt: 'b', keys: 0, bytes: 0, map: {}, shards: [] }), 'm')).to.throw(ManifestError, 'map');
  });

  it('makes ids that sort by time', () => {
    const a = newBackupId(Date.UTC(2026, 0, 2, 3, 4, 5), 7);
    expect(a).to.equal('backup-20260102T030405Z-7');
    expect(newBackupId(Date.UTC(2026, 0, 2, 3, 4, 6), 1) > a).to.equal(true);
  });
});

describe('filesystem destination (common/backup/file-destination.ts)', () => {
  let root: string;
  beforeEach(async () => { root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-dest-')); });
  afterEach(async () => { await fs.promises.rm(root, { recursive: true, force: true }); });

  it('puts atomically (no temporary file left), lists by prefix in order, heads, gets and deletes', async () => {
    const d = new FileDestination(root);
    await d.put('b1/shard-1/chunk-000002.irbk', Buffer.from('two'));
    await d.put('b1/shard-0/chunk-000001.irbk', Buffer.from('one'));
    await d.put('b2/manifest.json', Buffer.from('{}'));
    expect((await d.list('b1/')).map((o) => o.key)).to.deep.equal(['b1/shard-0/chunk-000001.irbk', 'b1/shard-1/chunk-000002.irbk']);
    expect(await d.head('b2/manifest.json')).to.deep.equal({ key: 'b2/manifest.json', size: 2 });
    expect(await d.head('b2/none')).to.equal(null);
    expect((await d.get('b1/shard-0/chunk-000001.irbk')).toString()).to.equal('one');
    expect(fs.readdirSync(path.join(root, 'b1', 'shard-0'))).to.deep.equal(['chunk-000001.irbk']);
    await d.delete('b1/shard-0/chunk-000001.irbk');
    expect(fs.existsSync(path.join(root, 'b1', 'shard-0'))).to.equal(false);
    await d.get('b1/shard-0/chunk-000001.irbk').then(() => expect.fail('read a deleted object'), (err: Error) => expect(err.message).to.contain('does not exist'));
    await d.head('../escape').then(() => expect.fail('accepted ../escape'), (err: Error) => expect(err).to.be.instanceOf(RangeError));
  });
});
