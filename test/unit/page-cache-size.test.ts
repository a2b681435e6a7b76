/**
 * The default size of SQLite's page cache from the memory limit
 * (node/engine/page-cache-size.ts) and where that limit comes from
 * (node/runtime/memory-limit.ts): plain data, no processes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_AUTO_PAGE_CACHE_BYTES, MIN_AUTO_PAGE_CACHE_BYTES, defaultPageCacheBytes, pageCacheBytes } from '../../node/engine/page-cache-size.js';
import { cgroupLimitFiles, memoryLimit, type MemoryLimit } from '../../node/runtime/memory-limit.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('SQLite page cache: default from the memory limit', () => {
  it('takes a quarter of a container limit and a sixteenth of a machine, from 32 MiB to 1 GiB', () => {
    const cases: Array<[MemoryLimit, number]> = [
      [{ bytes: 256 * MiB, source: 'cgroup' }, 64 * MiB],
      [{ bytes: 512 * MiB, source: 'cgroup' }, 128 * MiB],
      [{ bytes: 2 * GiB, source: 'cgroup' }, 512 * MiB],
      [{ bytes: 64 * MiB, source: 'cgroup' }, 32 * MiB], // never below the old fixed default
      [{ bytes: 16 * GiB, source: 'cgroup' }, 1 * GiB],
      [{ bytes: 24 * GiB, source: 'machine' }, 1 * GiB],
      [{ bytes: 8 * GiB, source: 'machine' }, 512 * MiB],
      [{ bytes: 1 * GiB, source: 'machine' }, 64 * MiB],
      [{ bytes: 100 * MiB + 12345, source: 'cgroup' }, 32 * MiB],
      [{ bytes: 1000 * MiB + 7, source: 'cgroup' }, 250 * MiB],
    ];
    for (const [limit, want] of cases) expect(defaultPageCacheBytes(limit), JSON.stringify(limit)).to.equal(want);
  });

  it('is always whole MiB within its bounds, grows with the limit, and gives a container at least what the same machine memory gets', () => {
    const source = fc.constantFrom<'cgroup' | 'machine'>('cgroup', 'machine');
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 50 }), fc.integer({ min: 0, max: 2 ** 40 }), source, (bytes, more, src) => {
      const a = defaultPageCacheBytes({ bytes, source: src });
      expect(a % MiB).to.equal(0);
      expect(a).to.be.within(MIN_AUTO_PAGE_CACHE_BYTES, MAX_AUTO_PAGE_CACHE_BYTES);
      expect(defaultPageCacheBytes({ bytes: bytes + more, source: src })).to.be.at.least(a);
      expect(defaultPageCacheBytes({ bytes, source: 'cgroup' })).to.be.at.least(defaultPageCacheBytes({ bytes, source: 'machine' }));
    }));
  });

  it('uses a configured size as it is, and the default only for 0', () => {
    const limit: MemoryLimit = { bytes: 2 * GiB, source: 'cgroup' };
    expect(pageCacheBytes(0, limit)).to.equal(512 * MiB);
    expect(pageCacheBytes(8 * MiB, limit)).to.equal(8 * MiB);
    expect(pageCacheBytes(4 * GiB, limit)).to.equal(4 * GiB);
  });
});

describe('memory limit: cgroup v2, v1, or the machine', () => {
  const machine = 24 * GiB;
  const files = (m: Record<string, string>) => (p: string): string | null => m[p] ?? null;
  const V1_SELF = '9:name=systemd:/\n4:memory:/kubepods/pod1/ctr1\n1:cpu:/\n0::/\n';
  const V2_SELF = '0::/kubepods.slice/pod1.slice/ctr1.scope\n';

  it('lists its own cgroup, each ancestor and the mount root, for v2 and v1', () => {
    expect(cgroupLimitFiles(V2_SELF)).to.deep.equal([
      '/sys/fs/cgroup/kubepods.slice/pod1.slice/ctr1.scope/memory.max', '/sys/fs/cgroup/kubepods.slice/pod1.slice/memory.max',
      '/sys/fs/cgroup/kubepods.slice/memory.max', '/sys/fs/cgroup/memory.max',
      '/sys/fs/cgroup/unified/kubepods.slice/pod1.slice/ctr1.scope/memory.max', '/sys/fs/cgroup/unified/kubepods.slice/pod1.slice/memory.max',
      '/sys/fs/cgroup/unified/kubepods.slice/memory.max', '/sys/fs/cgroup/unified/memory.max',
    ]);
    expect(cgroupLimitFiles('4:cpu,memory:/a\n')).to.deep.equal(['/sys/fs/cgroup/memory/a/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
    // A cgroup namespace shows "/": only the mount root. Garbage and ".." never make a path.
    expect(cgroupLimitFiles('0::/\n')).to.deep.equal(['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/unified/memory.max']);
    expect(cgroupLimitFiles('0::/../../etc\nnot a line\n')).to.deep.equal(['/sys/fs/cgroup/etc/memory.max', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/unified/etc/memory.max', '/sys/fs/cgroup/unified/memory.max']);
    expect(cgroupLimitFiles('')).to.deep.equal([]);
  });

  it('takes the lowest limit of the cgroup and its ancestors, else the machine', () => {
    // v2: the container's own limit, or the pod's when it is lower.
    expect(memoryLimit(files({ '/proc/self/cgroup': V2_SELF, '/sys/fs/cgroup/kubepods.slice/pod1.slice/ctr1.scope/memory.max': '536870912\n' }), machine))
      .to.deep.equal({ bytes: 512 * MiB, source: 'cgroup' });
    expect(memoryLimit(files({
      '/proc/self/cgroup': V2_SELF, '/sys/fs/cgroup/kubepods.slice/pod1.slice/ctr1.scope/memory.max': 'max\n', '/sys/fs/cgroup/kubepods.slice/pod1.slice/memory.max': '1073741824\n',
    }), machine)).to.deep.equal({ bytes: GiB, source: 'cgroup' });
    // v1 in a container whose own cgroup is mounted as the root: the host path is absent, the root file holds the limit.
    expect(memoryLimit(files({ '/proc/self/cgroup': V1_SELF, '/sys/fs/cgroup/memory/memory.limit_in_bytes': '2147483648\n' }), machine))
      .to.deep.equal({ bytes: 2 * GiB, source: 'cgroup' });
    // No limit anywhere ("max", v1's huge number), or no cgroup at all: the machine's memory.
    expect(memoryLimit(files({ '/proc/self/cgroup': V2_SELF, '/sys/fs/cgroup/memory.max': 'max\n' }), machine)).to.deep.equal({ bytes: machine, source: 'machine' });
    expect(memoryLimit(files({ '/proc/self/cgroup': V1_SELF, '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' }), machine)).to.deep.equal({ bytes: machine, source: 'machine' });
    expect(memoryLimit(files({}), machine)).to.deep.equal({ bytes: machine, source: 'machine' });
  });
});
