/**
 * Pod IPs on the loopback network (Linux routes all of 127.0.0.0/8 to lo, so
 * any of these can be bound without configuration). Allocation is
 * round-robin from a random start, so a recreated pod usually gets a new
 * address (as on a real cluster) and two environments on one machine rarely
 * collide.
 */
export class IpPool {
  private readonly used = new Set<number>();
  private next: number;

  /** `base` is the first three octets' prefix, e.g. "127.0.100"; `blocks` consecutive /24s are used. */
  constructor(
    readonly base = '127.0.100',
    readonly blocks = 4,
    start = Math.floor(Math.random() * 254 * 4),
  ) {
    const [a, b, c] = base.split('.').map(Number) as [number, number, number];
    if (a !== 127 || ![b, c].every((n) => Number.isInteger(n) && n >= 0 && n <= 255) || c + blocks > 256) {
      throw new Error(`pod network ${base} must be 127.x.y with room for ${blocks} blocks`);
    }
    this.next = start % this.size;
  }

  get size(): number {
    return 254 * this.blocks;
  }

  private ipOf(i: number): string {
    const [a, b, c] = this.base.split('.').map(Number) as [number, number, number];
    return `${a}.${b}.${c + Math.floor(i / 254)}.${(i % 254) + 1}`;
  }

  private indexOf(ip: string): number | undefined {
    const parts = ip.split('.').map(Number);
    const [a, b, c] = this.base.split('.').map(Number) as [number, number, number];
    if (parts.length !== 4 || parts[0] !== a || parts[1] !== b) return undefined;
    const block = parts[2]! - c;
    const host = parts[3]!;
    if (block < 0 || block >= this.blocks || host < 1 || host > 254) return undefined;
    return block * 254 + host - 1;
  }

  allocate(): string {
    for (let n = 0; n < this.size; n++) {
      const i = (this.next + n) % this.size;
      if (!this.used.has(i)) {
        this.used.add(i);
        this.next = (i + 1) % this.size;
        return this.ipOf(i);
      }
    }
    throw new Error(`pod network ${this.base}.0 is exhausted (${this.size} addresses)`);
  }

  /** Marks an address taken (a pod that already has it in its status). */
  reserve(ip: string): boolean {
    const i = this.indexOf(ip);
    if (i === undefined || this.used.has(i)) return false;
    this.used.add(i);
    return true;
  }

  release(ip: string): void {
    const i = this.indexOf(ip);
    if (i !== undefined) this.used.delete(i);
  }

  inUse(): number {
    return this.used.size;
  }
}
