/**
 * The local cluster's layout (operator/local/layout.ts): port arithmetic
 * (no two nodes, and no node and the control API, ever share a port), index
 * allocation, node-name checks that keep paths inside the cluster directory,
 * the admin token file, and the restart back-off (node-process.ts).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkBasePort, checkNodeName, clusterPaths, controlPort, LayoutError, lowestFreeIndex, MAX_BASE_PORT, MAX_NODES,
  nodeDataDir, nodeLogFile, nodePorts, readOrCreateToken, writeFileAtomic,
} from '../../operator/local/layout.js';
import { DEFAULT_RESTART_POLICY, isNodeCommand, restartDelay } from '../../operator/local/node-process.js';

const basePort = fc.integer({ min: 1, max: MAX_BASE_PORT });
const index = fc.integer({ min: 0, max: MAX_NODES - 1 });

describe('operator/local layout', () => {
  describe('ports', () => {
    it('places node k at base+k, base+1000+k, base+10000+k and the control API at base+2000', () => {
      expect(nodePorts(7000, 0)).to.deep.equal({ port: 7000, httpPort: 8000, busPort: 17000 });
      expect(nodePorts(7000, 5)).to.deep.equal({ port: 7005, httpPort: 8005, busPort: 17005 });
      expect(controlPort(7000)).to.equal(9000);
    });

    it('never gives two nodes, or a node and the control API, the same port, and stays within 65535', () => {
      fc.assert(fc.property(basePort, index, index, (b, i, j) => {
        fc.pre(i !== j);
        const a = nodePorts(b, i);
        const c = nodePorts(b, j);
        const all = [a.port, a.httpPort, a.busPort, c.port, c.httpPort, c.busPort, controlPort(b)];
        expect(new Set(all).size).to.equal(all.length);
        for (const p of all) expect(p).to.be.within(1, 65535);
      }));
    });

    it('rejects base ports and indexes that do not fit', () => {
      for (const b of [0, -1, 1.5, MAX_BASE_PORT + 1, Number.NaN]) expect(() => checkBasePort(b), String(b)).to.throw(LayoutError, /base port/);
      for (const i of [-1, MAX_NODES, 0.5]) expect(() => nodePorts(7000, i), String(i)).to.throw(LayoutError, /node index/);
    });
  });

  describe('lowestFreeIndex', () => {
    it('returns the lowest index not in use', () => {
      expect(lowestFreeIndex([])).to.equal(0);
      expect(lowestFreeIndex([0, 1, 3])).to.equal(2);
      fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 60 }), (used) => {
        const k = lowestFreeIndex(used);
        expect(used).not.to.include(k);
        for (let i = 0; i < k; i++) expect(used).to.include(i);
      }));
    });

    it('fails clearly when every index is taken', () => {
      expect(() => lowestFreeIndex(Array.from({ length: MAX_NODES }, (_, i) => i))).to.throw(LayoutError, /at most 1000 nodes/);
    });
  });

  describe('paths', () => {
    it('puts everything under the cluster directory, absolute', () => {
      const p = clusterPaths('rel/dir');
      expect(path.isAbsolute(p.dir)).to.equal(true);
      expect(p.controllerState).to.equal(path.join(p.dir, 'controller.json'));
      expect(p.localState).to.equal(path.join(p.dir, 'local.json'));
      expect(p.token).to.equal(path.join(p.dir, 'token'));
      expect(p.controllerLog).to.equal(path.join(p.dir, 'logs', 'controller.log'));
      expect(nodeDataDir('/d', 'iris-shard-0-1')).to.equal('/d/nodes/iris-shard-0-1');
      expect(nodeLogFile('/d', 'iris-shard-0-1')).to.equal('/d/logs/iris-shard-0-1.log');
    });

    it('keeps every valid node name inside nodes/ and rejects names that would escape it', () => {
      fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/), (name) => {
        expect(path.dirname(nodeDataDir('/d', name))).to.equal('/d/nodes');
      }));
      for (const bad of ['', '..', '.x', 'a/b', '../x', 'a b', 'x'.repeat(201)]) {
        expect(() => checkNodeName(bad), bad).to.throw(LayoutError, /invalid node name/);
      }
    });
  });

  describe('files', () => {
    let dir: string;
    beforeEach(async () => { dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-layout-')); });
    afterEach(async () => { await fs.promises.rm(dir, { recursive: true, force: true }); });

    it('creates the token once, 64 hex characters, mode 0600, and every caller gets the same one', async () => {
      const tokens = await Promise.all(Array.from({ length: 8 }, () => readOrCreateToken(dir)));
      expect(tokens[0]).to.match(/^[0-9a-f]{64}$/);
      expect(new Set(tokens).size).to.equal(1);
      expect(await readOrCreateToken(dir)).to.equal(tokens[0]);
      expect((await fs.promises.stat(path.join(dir, 'token'))).mode & 0o777).to.equal(0o600);
      expect(await fs.promises.readdir(dir)).to.deep.equal(['token']);
    });

    it('refuses a corrupt token file instead of replacing it', async () => {
      await fs.promises.writeFile(path.join(dir, 'token'), 'abc\n');
      try {
        await readOrCreateToken(dir);
        expect.fail('expected LayoutError');
      } catch (err) {
        expect(err).to.be.instanceOf(LayoutError);
        expect((err as LayoutError).file).to.equal(path.join(dir, 'token'));
      }
    });

    it('writes atomically, leaving no temp file behind', async () => {
      const f = path.join(dir, 'x.json');
      await writeFileAtomic(f, 'one');
      await writeFileAtomic(f, 'two');
      expect(await fs.promises.readFile(f, 'utf8')).to.equal('two');
      expect(await fs.promises.readdir(dir)).to.deep.equal(['x.json']);
    });
  });

  describe('restart back-off', () => {
    const policy = DEFAULT_RESTART_POLICY;

    it('starts at 200 ms, doubles to 5 s, and resets after a 10 s run', () => {
      let streak = 0;
      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        const r = restartDelay(policy, streak, 100);
        delays.push(r.delayMs);
        streak = r.streak;
      }
      expect(delays).to.deep.equal([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
      expect(restartDelay(policy, streak, 10_000)).to.deep.equal({ delayMs: 200, streak: 1 });
    });

    it('stays within [initial, max] and never shrinks within a streak', () => {
      const p = fc.record({ initialMs: fc.integer({ min: 1, max: 1000 }), maxMs: fc.integer({ min: 1000, max: 100_000 }), resetAfterMs: fc.integer({ min: 1, max: 100_000 }) });
      fc.assert(fc.property(p, fc.integer({ min: 0, max: 200 }), fc.nat(200_000), (pol, streak, ran) => {
        const a = restartDelay(pol, streak, ran);
        expect(a.delayMs).to.be.within(pol.initialMs, pol.maxMs);
        if (ran < pol.resetAfterMs) {
          expect(a.streak).to.equal(streak + 1);
          expect(restartDelay(pol, a.streak, ran).delayMs).to.be.at.least(a.delayMs);
        } else {
          expect(a).to.deep.equal({ delayMs: pol.initialMs, streak: 1 });
        }
      }));
    });
  });

  describe('isNodeCommand', () => {
    it('matches the node by name and data directory, not by a prefix', () => {
      const args = ['/usr/bin/node', '/x/main.js', '--node-name', 'n-1', '--port', '7000', '--data-dir', '/d/nodes/n-1'];
      expect(isNodeCommand(args, 'n-1', '/d/nodes/n-1')).to.equal(true);
      expect(isNodeCommand(args, 'n-10', '/d/nodes/n-10')).to.equal(false);
      expect(isNodeCommand(args, 'n-1', '/other/nodes/n-1')).to.equal(false);
      expect(isNodeCommand(['/usr/bin/sleep', '100'], 'n-1', '/d/nodes/n-1')).to.equal(false);
    });
  });
});
