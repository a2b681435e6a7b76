/**
 * D/local.json (operator/local/local-state.ts): every valid registry
 * survives serialize → parse unchanged; every corrupt one (truncated,
 * wrong types, shared port indexes) is a LocalStateError naming the file;
 * concurrent read-modify-write updates in one process never lose a change.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { MAX_BASE_PORT, MAX_NODES } from '../../operator/local/layout.js';
import {
  emptyLocalState, LocalStateError, LocalStateFile, parseLocalState, readLocalState, serializeLocalState,
  writeLocalState, type LocalNodeRecord, type LocalState,
} from '../../operator/local/local-state.js';
import { ProcessPlatform } from '../../operator/local/process-platform.js';

const FILE = '/d/local.json';

const nodeName = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
const pid = fc.option(fc.integer({ min: 1, max: 4_194_304 }), { nil: null });

const localState: fc.Arbitrary<LocalState> = fc
  .record({
    basePort: fc.integer({ min: 1, max: MAX_BASE_PORT }),
    names: fc.uniqueArray(nodeName, { maxLength: 12 }),
    indexes: fc.uniqueArray(fc.integer({ min: 0, max: MAX_NODES - 1 }), { minLength: 12, maxLength: 12 }),
    recs: fc.array(fc.record({ shard: fc.stringMatching(/^shard-[0-9]{1,3}$/), pid, startedAt: fc.option(fc.nat(), { nil: null }) }), { minLength: 12, maxLength: 12 }),
    controller: fc.option(fc.record({ pid: fc.integer({ min: 1, max: 4_194_304 }), url: fc.webUrl() }), { nil: null }),
  })
  .map(({ basePort, names, indexes, recs, controller }) => {
    const nodes: Record<string, LocalNodeRecord> = {};
    names.forEach((n, i) => { nodes[n] = { ...recs[i]!, index: indexes[i]! }; });
    return { version: 1, basePort, nodes, controller };
  });

function sample(): Record<string, unknown> {
  return {
    version: 1,
    basePort: 7000,
    nodes: {
      'iris-shard-0-0': { shard: 'shard-0', index: 0, pid: 1234, startedAt: 1700000000000 },
      'iris-shard-0-1': { shard: 'shard-0', index: 1, pid: null, startedAt: null },
    },
    controller: { pid: 99, url: 'http://127.0.0.1:9000' },
  };
}

function rejects(text: string, pattern: RegExp): void {
  try {
    parseLocalState(text, FILE);
  } catch (err) {
    expect(err).to.be.instanceOf(LocalStateError);
    expect((err as LocalStateError).file).to.equal(FILE);
    expect((err as Error).message).to.contain(FILE).and.to.match(pattern);
    return;
  }
  expect.fail(`accepted: ${text}`);
}

// `any`: the tests edit free-form JSON in place.
function variant(change: (s: any) => void): string {
  const s = sample();
  change(s);
  return JSON.stringify(s);
}

describe('operator/local local-state', () => {
  it('round-trips every valid registry', () => {
    fc.assert(fc.property(localState, (s) => {
      expect(parseLocalState(serializeLocalState(s), FILE)).to.deep.equal(s);
    }));
  });

  it('rejects every truncation of a valid file with a LocalStateError naming it', () => {
    fc.assert(fc.property(localState, fc.double({ min: 0, max: 1, noNaN: true }), (s, frac) => {
      const text = serializeLocalState(s).trimEnd();
      rejects(text.slice(0, Math.floor(frac * (text.length - 1))), /empty|not valid JSON/);
    }));
  });

  it('names the problem in a corrupt file', () => {
    rejects('', /empty/);
    rejects('[]', /JSON object/);
    rejects(variant((s) => { s.version = 2; }), /unsupported version 2/);
    rejects(variant((s) => { delete s.basePort; }), /basePort/);
    rejects(variant((s) => { s.basePort = 70000; }), /basePort/);
    rejects(variant((s) => { s.nodes = []; }), /nodes must be an object/);
    rejects(variant((s) => { s.nodes['../evil'] = { shard: 'shard-0', index: 5, pid: null, startedAt: null }; }), /invalid node name/);
    rejects(variant((s) => { s.nodes['iris-shard-0-1'].index = 0; }), /share port index 0/);
    rejects(variant((s) => { s.nodes['iris-shard-0-1'].index = -1; }), /index/);
    rejects(variant((s) => { s.nodes['iris-shard-0-1'].shard = ''; }), /shard must be/);
    rejects(variant((s) => { s.nodes['iris-shard-0-1'].pid = 0; }), /pid must be/);
    rejects(variant((s) => { s.nodes['iris-shard-0-1'].pid = '12'; }), /pid must be/);
    rejects(variant((s) => { s.nodes['iris-shard-0-1'].startedAt = 'now'; }), /startedAt/);
    rejects(variant((s) => { s.controller = { pid: 1 }; }), /controller must be/);
    expect(parseLocalState(JSON.stringify(sample()), FILE).nodes['iris-shard-0-0']!.pid).to.equal(1234);
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(async () => { dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-local-state-')); });
    afterEach(async () => { await fs.promises.rm(dir, { recursive: true, force: true }); });

    it('reads null before the first write, then what was written', async () => {
      expect(await readLocalState(dir)).to.equal(null);
      const s = parseLocalState(JSON.stringify(sample()), FILE);
      await writeLocalState(dir, s);
      expect(await readLocalState(dir)).to.deep.equal(s);
    });

    it('reports a corrupt file on disk by its path', async () => {
      await fs.promises.writeFile(path.join(dir, 'local.json'), '{"version":1,"basePort":70');
      try {
        await readLocalState(dir);
        expect.fail('expected LocalStateError');
      } catch (err) {
        expect(err).to.be.instanceOf(LocalStateError);
        expect((err as LocalStateError).file).to.equal(path.join(dir, 'local.json'));
      }
    });

    it('applies concurrent updates one after another, losing none', async () => {
      const file = new LocalStateFile(dir);
      await Promise.all(Array.from({ length: 20 }, (_, i) => file.update((cur) => {
        const s = cur ?? emptyLocalState(7000);
        return { ...s, nodes: { ...s.nodes, [`n${i}`]: { shard: 'shard-0', index: i, pid: null, startedAt: null } } };
      })));
      await file.recordController({ pid: 42, url: 'http://127.0.0.1:9000' }, 7000);
      const s = await readLocalState(dir);
      expect(Object.keys(s!.nodes)).to.have.length(20);
      expect(s!.controller).to.deep.equal({ pid: 42, url: 'http://127.0.0.1:9000' });
      expect(await fs.promises.readdir(dir)).to.deep.equal(['local.json']);
    });

    it('a platform refuses to start on a corrupt registry (no node is started)', async () => {
      await fs.promises.writeFile(path.join(dir, 'local.json'), '{"version":1,"basePort":7000,"nodes":{"a":{"shard":"s","index":0,');
      const p = new ProcessPlatform({ dir, basePort: 7000, token: 'x'.repeat(64), nodeMain: '/nonexistent/main.js', logger: silentLogger() });
      const err = await p.start().then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(LocalStateError);
      expect(p.nodes()).to.deep.equal([]);
    });

    it('keeps the queue going after a failed update', async () => {
      const file = new LocalStateFile(dir);
      const failed = file.update(() => { throw new Error('boom'); });
      const ok = file.update(() => emptyLocalState(7100));
      const err = await failed.then(() => null, (e: Error) => e);
      expect(err?.message).to.equal('boom');
      expect((await ok).basePort).to.equal(7100);
    });
  });
});
