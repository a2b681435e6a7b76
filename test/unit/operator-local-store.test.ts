/**
 * The controller's state file (operator/local/file-state-store.ts): saves
 * load back unchanged, the last of concurrent saves wins, and a truncated or
 * corrupt file is a StateFileError naming the path (never null, which the
 * controller would take for a fresh cluster and bootstrap over the data).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evenSlotRanges } from '../../common/cluster-map.js';
import { initialState } from '../../operator/core/initial-state.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { ControllerState } from '../../operator/core/state.js';
import { parseControllerState, StateFileError } from '../../operator/core/record.js';
import { FileStateStore } from '../../operator/local/file-state-store.js';

const FILE = '/d/controller.json';

function bootstrapped(): ControllerState {
  const s = initialState('iris', DEFAULT_SPEC);
  const ranges = evenSlotRanges(s.shards.length);
  return {
    ...s,
    map: {
      epoch: 2,
      nodes: s.shards.flatMap((sh) => sh.members.map((name, j) => ({ name, host: '127.0.0.1', port: 7000 + sh.index * 2 + j, busPort: 17000 + sh.index * 2 + j }))),
      shards: s.shards.map((sh, i) => ({ id: sh.id, slots: [ranges[i]!], primary: sh.members[0]!, replicas: sh.members.slice(1) })),
    },
    nextId: 7,
  };
}

// `any`: the tests edit free-form JSON in place.
function variant(change: (s: any) => void): string {
  const s = JSON.parse(JSON.stringify(bootstrapped()));
  change(s);
  return JSON.stringify(s);
}

function rejects(text: string, pattern: RegExp): void {
  try {
    parseControllerState(text, FILE);
  } catch (err) {
    expect(err).to.be.instanceOf(StateFileError);
    expect((err as StateFileError).file).to.equal(FILE);
    expect((err as Error).message).to.contain(FILE).and.to.match(pattern);
    return;
  }
  expect.fail(`accepted: ${text.slice(0, 200)}`);
}

describe('operator/local FileStateStore', () => {
  it('accepts a fresh and a bootstrapped state', () => {
    const fresh = initialState('iris', DEFAULT_SPEC);
    expect(parseControllerState(JSON.stringify(fresh), FILE)).to.deep.equal(fresh);
    expect(parseControllerState(JSON.stringify(bootstrapped()), FILE)).to.deep.equal(bootstrapped());
  });

  it('rejects every truncation of a saved state', () => {
    const text = JSON.stringify(bootstrapped(), null, 2);
    fc.assert(fc.property(fc.integer({ min: 0, max: text.length - 1 }), (n) => rejects(text.slice(0, n), /empty|not valid JSON/)));
  });

  it('names the problem in a corrupt state', () => {
    rejects('null', /JSON object/);
    rejects(variant((s) => { s.version = 99; }), /unsupported version 99/);
    rejects(variant((s) => { delete s.cluster; }), /cluster/);
    rejects(variant((s) => { delete s.spec; }), /spec must be an object/);
    rejects(variant((s) => { s.spec.shards = 0; }), /spec\.shards/);
    rejects(variant((s) => { s.shards = {}; }), /shards must be an array/);
    rejects(variant((s) => { s.shards[1].id = s.shards[0].id; }), /listed twice/);
    rejects(variant((s) => { s.shards[0].epoch = -1; }), /shards\[0\]\.epoch/);
    rejects(variant((s) => { s.shards[0].members = 'a'; }), /members/);
    rejects(variant((s) => { delete s.shards[2].targetPrimary; }), /shards\[2\]\.targetPrimary/);
    rejects(variant((s) => { s.shards[0].leaving = 'no'; }), /leaving/);
    rejects(variant((s) => { s.map.shards[1].slots = s.map.shards[0].slots; }), /map: slot \d+ is assigned to two shards/);
    rejects(variant((s) => { s.operation = 3; }), /operation/);
    rejects(variant((s) => { delete s.nextId; }), /nextId/);
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(async () => { dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-state-store-')); });
    afterEach(async () => { await fs.promises.rm(dir, { recursive: true, force: true }); });

    it('loads null before the first save, then the last state saved', async () => {
      const store = new FileStateStore(path.join(dir, 'sub'));
      expect(store.path).to.equal(path.join(dir, 'sub', 'controller.json'));
      expect(await store.load()).to.equal(null);
      const states = Array.from({ length: 10 }, (_, i) => ({ ...bootstrapped(), nextId: i + 1 }));
      await Promise.all(states.map((s) => store.save(s)));
      expect(await new FileStateStore(path.join(dir, 'sub')).load()).to.deep.equal(states[9]);
      expect(await fs.promises.readdir(path.join(dir, 'sub'))).to.deep.equal(['controller.json']);
    });

    it('fails on a truncated file rather than starting afresh', async () => {
      const store = new FileStateStore(dir);
      await store.save(bootstrapped());
      const text = await fs.promises.readFile(store.path, 'utf8');
      await fs.promises.writeFile(store.path, text.slice(0, text.length / 2));
      const err = await store.load().then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(StateFileError);
      expect((err as StateFileError).file).to.equal(store.path);
      await fs.promises.writeFile(store.path, '');
      expect(await store.load().then(() => null, (e: unknown) => e)).to.be.instanceOf(StateFileError);
    });
  });
});
