/**
 * Linux network namespaces for partition tests (issue #13): a bridge in the
 * root namespace with two addresses (.1: the controller's source address,
 * .2: the test client's), and one namespace per node slot joined to it by a
 * veth pair, at 10.77.0.(10+k). Partitions are blackhole routes inside a
 * node's namespace: a TCP connection needs packets both ways, so dropping a
 * node's packets towards an address cuts it from that address in both
 * directions, and nothing outside the namespaces this creates is touched.
 * Needs root and `ip` (iproute2). destroy() removes everything.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const NETNS_SUBNET_PREFIX = '10.77.0';
/** The controller's connections leave from the bridge's first address. */
export const CONTROLLER_ADDRESS = `${NETNS_SUBNET_PREFIX}.1`;
/** The test's clients bind this one, so cutting a node from the controller leaves clients through. */
export const CLIENT_ADDRESS = `${NETNS_SUBNET_PREFIX}.2`;

const execFileP = promisify(execFile);

async function ip(args: string[], netns?: string): Promise<void> {
  const full = netns === undefined ? args : ['netns', 'exec', netns, 'ip', ...args];
  try {
    await execFileP('ip', full, { timeout: 10_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${full.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

export function netnsAvailable(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

export class NetnsLab {
  private readonly cuts = new Map<number, Set<string>>();

  private constructor(readonly id: string, readonly slots: number) {}

  get bridge(): string {
    return `irbr${this.id}`;
  }

  netnsOf(k: number): string {
    return `iris-${this.id}-${k}`;
  }

  hostOf(k: number): string {
    return `${NETNS_SUBNET_PREFIX}.${10 + k}`;
  }

  /** The value of `irisctl local up --test-netns-placement` (operator/local/netns-placement.ts). */
  placementFlag(): string {
    return JSON.stringify(Array.from({ length: this.slots }, (_, k) => ({ netns: this.netnsOf(k), host: this.hostOf(k) })));
  }

  /** Creates the bridge and `slots` namespaces; on failure removes what it made. */
  static async create(slots: number): Promise<NetnsLab> {
    const lab = new NetnsLab(randomBytes(3).toString('hex'), slots);
    try {
      await ip(['link', 'add', lab.bridge, 'type', 'bridge']);
      await ip(['addr', 'add', `${CONTROLLER_ADDRESS}/24`, 'dev', lab.bridge]);
      await ip(['addr', 'add', `${CLIENT_ADDRESS}/24`, 'dev', lab.bridge]);
      await ip(['link', 'set', lab.bridge, 'up']);
      for (let k = 0; k < slots; k++) {
        const ns = lab.netnsOf(k);
        const outside = `irv${lab.id}${k}`;
        const inside = `irp${lab.id}${k}`;
        await ip(['netns', 'add', ns]);
        await ip(['link', 'set', 'lo', 'up'], ns);
        await ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
        await ip(['link', 'set', inside, 'netns', ns]);
        await ip(['link', 'set', outside, 'master', lab.bridge]);
        await ip(['link', 'set', outside, 'up']);
        await ip(['addr', 'add', `${lab.hostOf(k)}/24`, 'dev', inside], ns);
        await ip(['link', 'set', inside, 'up'], ns);
      }
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Drops node k's packets towards each address (a partition between them). */
  async cut(k: number, addresses: readonly string[]): Promise<void> {
    const set = this.cuts.get(k) ?? new Set<string>();
    for (const a of addresses) {
      if (set.has(a)) continue;
      await ip(['route', 'add', 'blackhole', `${a}/32`], this.netnsOf(k));
      set.add(a);
    }
    this.cuts.set(k, set);
  }

  /** Removes every cut of node k. */
  async heal(k: number): Promise<void> {
    for (const a of this.cuts.get(k) ?? []) await ip(['route', 'del', 'blackhole', `${a}/32`], this.netnsOf(k));
    this.cuts.delete(k);
  }

  /** Removes the namespaces (their veth ends go with them) and the bridge; never throws. */
  async destroy(): Promise<void> {
    for (let k = 0; k < this.slots; k++) {
      await ip(['link', 'del', `irv${this.id}${k}`]).catch(() => undefined);
      await ip(['netns', 'del', this.netnsOf(k)]).catch(() => undefined);
    }
    await ip(['link', 'del', this.bridge]).catch(() => undefined);
  }
}
