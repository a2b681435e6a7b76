/**
 * The test kubelet's pure parts: environment and $(VAR) expansion, the image
 * table, pod IP allocation, crash-loop back-off, probe thresholds and the
 * pod phase / status rules.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { nextBackoff } from '../support/kube/kubelet/backoff.js';
import { expand, parseQuantity, resolveEnv } from '../support/kube/kubelet/env.js';
import { defaultImageTable, imageRepository, resolveCommand } from '../support/kube/kubelet/images.js';
import { IpPool } from '../support/kube/kubelet/ip-pool.js';
import { ProbeState } from '../support/kube/kubelet/probe-state.js';
import { mountNamespacesSupported, rewriteMountPaths, wrapWithMounts } from '../support/kube/kubelet/process.js';
import { buildPodStatus, podPhase, type ContainerView } from '../support/kube/kubelet/status.js';

const pod: V1Pod = {
  metadata: { name: 'db-1', namespace: 'prod', uid: 'u-1', labels: { app: 'iris', tier: 'data' }, annotations: { note: 'x' } },
  spec: { nodeName: 'n1', serviceAccountName: 'iris', containers: [] },
};
const ctx = { podIP: '127.0.100.7', hostIP: '127.0.0.1', configMaps: new Map([['cfg', { MODE: 'fast', LEVEL: 'info' }]]), secrets: new Map([['sec', { PASSWORD: 'pw' }]]) };

describe('test kubelet: environment', () => {
  it('expands $(VAR) against earlier variables, keeps unknown ones, and unescapes $$', () => {
    expect(expand('$(A)-$(B)-$$(A)-$(MISSING)-$', { A: '1', B: '2' })).to.equal('1-2-$(A)-$(MISSING)-$');
    expect(expand('$(unterminated', { unterminated: 'x' })).to.equal('$(unterminated');
  });

  it('leaves any string without $ unchanged and never throws (property)', () => {
    fc.assert(fc.property(fc.string(), fc.dictionary(fc.string({ maxLength: 5 }), fc.string()), (s, vars) => {
      const out = expand(s, vars);
      if (!s.includes('$')) expect(out).to.equal(s);
      expect(out).to.be.a('string');
    }));
  });

  it('expands a reference to a defined variable to exactly its value (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^[A-Z_]{1,8}$/), fc.string(), fc.string().filter((s) => !s.includes('$')), (name, value, rest) => {
      expect(expand(`${rest}$(${name})${rest}`, { [name]: value })).to.equal(`${rest}${value}${rest}`);
    }));
  });

  it('resolves downward-API fields, ConfigMap/Secret keys and envFrom with env taking precedence', () => {
    const c: V1Container = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
      env: [
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'TIER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'PASSWORD' } } },
        { name: 'CFG_MODE', value: 'slow' },
        { name: 'ADDR', value: '$(IP):6379' },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      ],
      resources: { limits: { memory: '256Mi' } },
    };
    const { env, errors } = resolveEnv(pod, c, ctx);
    expect(errors).to.deep.equal([]);
    expect(env).to.deep.include({
      IP: '127.0.100.7', NAME: 'db-1', NS: 'prod', TIER: 'data', PW: 'pw', CFG_MODE: 'slow', CFG_LEVEL: 'info', ADDR: '127.0.100.7:6379', MEM: '256',
    });
  });

  it('reports missing references unless optional', () => {
    const c: V1Container = {
      name: 'c',
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } },
        { name: 'B', valueFrom: { secretKeyRef: { name: 'sec', key: 'nokey', optional: true } } },
        { name: 'C', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } },
      ],
    };
    const { env, errors } = resolveEnv(pod, c, ctx);
    expect(errors).to.have.length(2);
    expect(errors[0]).to.contain('configmap "nope"');
    expect(errors[1]).to.contain('spec.bogus');
    expect(env).to.not.have.property('B');
  });

  it('parses quantities', () => {
    expect(parseQuantity('500m')).to.equal(0.5);
    expect(parseQuantity('1Gi')).to.equal(2 ** 30);
    expect(parseQuantity('2k')).to.equal(2000);
    expect(parseQuantity('1Zi')).to.equal(undefined);
    expect(parseQuantity('abc')).to.equal(undefined);
  });
});

describe('test kubelet: image table', () => {
  const table = defaultImageTable('/repo', '/usr/bin/node');

  it('strips registry, tag and digest', () => {
    expect(imageRepository('irisdb/node:dev')).to.equal('irisdb/node');
    expect(imageRepository('ghcr.io/irisdb/node:1.2@sha256:abc')).to.equal('irisdb/node');
    expect(imageRepository('localhost:5000/irisdb/operator')).to.equal('irisdb/operator');
    expect(imageRepository('docker.io/library/busybox:1')).to.equal('busybox');
  });

  it('maps images to entry points with Docker command/args rules', () => {
    expect(resolveCommand({ image: 'irisdb/node:dev', args: ['--port', '1'] }, table)).to.deep.equal({ argv: ['/usr/bin/node', '/repo/dist/node/main.js', '--port', '1'] });
    expect(resolveCommand({ image: 'irisdb/node:dev', command: ['/usr/local/bin/irisdb-node'], args: ['-x'] }, table))
      .to.deep.equal({ argv: ['/usr/bin/node', '/repo/dist/node/main.js', '-x'] });
    expect(resolveCommand({ image: 'irisdb/operator:v1' }, table)).to.deep.equal({ argv: ['/usr/bin/node', '/repo/dist/operator/main.js'] });
    expect(resolveCommand({ image: 'busybox', command: ['sh', '-c', 'sleep 1'] }, table)).to.deep.equal({ argv: ['sh', '-c', 'sleep 1'] });
    expect(resolveCommand({ image: 'busybox' }, table)).to.have.property('error').that.contains('busybox');
  });
});

describe('test kubelet: mounts', () => {
  it('wraps a command in a private mount namespace with one triple per mount', () => {
    const argv = wrapWithMounts(['node', 'main.js'], [{ source: '/v/a', target: '/data', readOnly: false }, { source: '/v/t', target: '/tok', readOnly: true }]);
    expect(argv.slice(0, 5)).to.deep.equal(['unshare', '-m', '--propagation', 'private', '--']);
    expect(argv.slice(-10)).to.deep.equal(['2', '/v/a', '/data', 'rw', '/v/t', '/tok', 'ro', '0', 'node', 'main.js']);
    expect(wrapWithMounts(['x'], [])).to.deep.equal(['x']);
    // Parents first, then the kept paths.
    const nested = wrapWithMounts(['x'], [{ source: '/v/s', target: '/data/sub', readOnly: false }, { source: '/v/d', target: '/data', readOnly: false }], ['/repo']);
    expect(nested.slice(-10)).to.deep.equal(['2', '/v/d', '/data', 'rw', '/v/s', '/data/sub', 'rw', '1', '/repo', 'x']);
  });

  it('keeps the image\'s files and the volumes\' sources reachable under a volume mounted over their parent (an emptyDir on /tmp)', function () {
    if (!mountNamespacesSupported()) this.skip();
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'kubelet-mounts-'));
    try {
      fs.mkdirSync(path.join(base, 'image'));
      fs.writeFileSync(path.join(base, 'image', 'main.txt'), 'image file');
      fs.mkdirSync(path.join(base, 'empty'));
      fs.writeFileSync(path.join(base, 'empty', 'scratch.txt'), 'emptyDir');
      fs.mkdirSync(path.join(base, 'data'));
      fs.writeFileSync(path.join(base, 'data', 'db.txt'), 'data volume');
      // The emptyDir covers /tmp, where the image and the other volume's source live; listed after the data mount on purpose.
      const argv = wrapWithMounts(
        ['sh', '-c', `cat ${path.join(base, 'image', 'main.txt')} /tmp/scratch.txt /var/lib/kubelet-mounts-test/db.txt`],
        [{ source: path.join(base, 'data'), target: '/var/lib/kubelet-mounts-test', readOnly: false }, { source: path.join(base, 'empty'), target: os.tmpdir(), readOnly: false }],
        [path.join(base, 'image')],
      );
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).to.equal('');
      expect(r.stdout).to.equal('image fileemptyDirdata volume');
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('rewrites mount paths in the fallback mapping, longest mount first', () => {
    const mounts = [{ source: '/v/data', target: '/data', readOnly: false }, { source: '/v/sub', target: '/data/sub', readOnly: false }];
    expect(rewriteMountPaths('/data/db', mounts)).to.equal('/v/data/db');
    expect(rewriteMountPaths('/data/sub/x', mounts)).to.equal('/v/sub/x');
    expect(rewriteMountPaths('--data-dir=/data', mounts)).to.equal('--data-dir=/v/data');
    expect(rewriteMountPaths('/database', mounts)).to.equal('/database');
  });
});

describe('test kubelet: pod IPs', () => {
  it('hands out distinct loopback addresses until exhausted, round-robin', () => {
    const pool = new IpPool('127.0.100', 1, 0);
    const ips = Array.from({ length: 254 }, () => pool.allocate());
    expect(new Set(ips).size).to.equal(254);
    expect(ips[0]).to.equal('127.0.100.1');
    expect(ips[253]).to.equal('127.0.100.254');
    expect(() => pool.allocate()).to.throw(/exhausted/);
    pool.release('127.0.100.9');
    expect(pool.allocate()).to.equal('127.0.100.9');
  });

  it('never hands out an address twice while it is in use (property)', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 300 }), fc.nat(2000), (ops, start) => {
      const pool = new IpPool('127.0.100', 2, start);
      const held: string[] = [];
      for (const alloc of ops) {
        if (alloc || held.length === 0) {
          const ip = pool.allocate();
          expect(held).to.not.include(ip);
          expect(ip).to.match(/^127\.0\.10[01]\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$/);
          held.push(ip);
        } else {
          pool.release(held.shift()!);
        }
      }
      expect(pool.inUse()).to.equal(held.length);
    }));
  });

  it('rejects a pod network outside 127/8', () => {
    expect(() => new IpPool('10.0.0')).to.throw(/127/);
  });
});

describe('test kubelet: back-off and probes', () => {
  const policy = { baseMs: 1000, maxMs: 8000, resetAfterMs: 60000 };
  it('doubles the restart delay up to the cap and resets after a long run', () => {
    let streak = 0;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const b = nextBackoff(policy, streak, 10);
      delays.push(b.delayMs);
      streak = b.streak;
    }
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(nextBackoff(policy, streak, 60000)).to.deep.equal({ delayMs: 0, streak: 0 });
  });

  it('changes a probe result only after the thresholds', () => {
    const p = new ProbeState({ successThreshold: 2, failureThreshold: 3 }, 'failure');
    expect(p.record(true)).to.equal(false);
    expect(p.record(true)).to.equal(true);
    expect(p.result).to.equal('success');
    p.record(false);
    p.record(false);
    expect(p.result).to.equal('success');
    expect(p.record(false)).to.equal(true);
    expect(p.result).to.equal('failure');
  });
});

describe('test kubelet: pod status', () => {
  const t = '2025-01-01T00:00:00.000Z';
  const running: ContainerView = { name: 'a', image: 'i', state: { kind: 'running', startedAt: t }, restartCount: 0, ready: true, started: true, everStarted: true };
  const creating: ContainerView = { ...running, state: { kind: 'waiting', reason: 'ContainerCreating' }, ready: false, started: false, everStarted: false };
  const crashLoop: ContainerView = { ...creating, state: { kind: 'waiting', reason: 'CrashLoopBackOff' }, everStarted: true, restartCount: 3 };
  const done = (exitCode: number): ContainerView => ({ ...running, ready: false, state: { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: t, finishedAt: t } });
  const base = { initPending: false, initFailed: false };

  it('derives the phase as the kubelet does', () => {
    expect(podPhase({ ...base, restartPolicy: 'Always', containers: [creating] })).to.equal('Pending');
    expect(podPhase({ ...base, initPending: true, restartPolicy: 'Always', containers: [creating] })).to.equal('Pending');
    expect(podPhase({ ...base, restartPolicy: 'Always', containers: [running, creating] })).to.equal('Pending');
    expect(podPhase({ ...base, restartPolicy: 'Always', containers: [running, crashLoop] })).to.equal('Running');
    expect(podPhase({ ...base, restartPolicy: 'Never', containers: [done(0), done(0)] })).to.equal('Succeeded');
    expect(podPhase({ ...base, restartPolicy: 'Never', containers: [done(0), done(1)] })).to.equal('Failed');
    expect(podPhase({ ...base, restartPolicy: 'OnFailure', containers: [done(1)] })).to.equal('Running');
    expect(podPhase({ ...base, initFailed: true, restartPolicy: 'Never', containers: [creating] })).to.equal('Failed');
  });

  it('reports Ready only when every container is ready, keeping transition times and foreign conditions', () => {
    const prev = [
      { type: 'PodScheduled', status: 'True' as const, lastProbeTime: null, lastTransitionTime: 'T0' },
      { type: 'Initialized', status: 'True' as const, lastProbeTime: null, lastTransitionTime: 'T1' },
    ];
    const s = buildPodStatus({
      ...base, restartPolicy: 'Always', podIP: '127.0.100.3', hostIP: '127.0.0.1', startTime: t,
      initContainers: [], containers: [running, { ...running, name: 'b', ready: false }], previousConditions: prev, now: 'T9',
    }) as { phase: string; podIP: string; conditions: Array<{ type: string; status: string; lastTransitionTime: string }>; containerStatuses: Array<{ name: string; state: unknown }> };
    expect(s.phase).to.equal('Running');
    expect(s.podIP).to.equal('127.0.100.3');
    const cond = Object.fromEntries(s.conditions.map((c) => [c.type, c]));
    expect(cond.Ready!.status).to.equal('False');
    expect(cond.Initialized!.lastTransitionTime).to.equal('T1');
    expect(cond.PodScheduled!.lastTransitionTime).to.equal('T0');
    expect(s.containerStatuses.map((c) => c.name)).to.deep.equal(['a', 'b']);
    expect(s.containerStatuses[0]!.state).to.deep.equal({ running: { startedAt: t } });
  });
});
