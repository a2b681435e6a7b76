/**
 * A backup destination on a volume the caller cannot mount (a PVC on
 * Kubernetes, which only the node pods mount), reached through the admin
 * API of a node that has it (node/backup/volume-routes.ts). Each operation
 * tries the nodes in the order given until one answers: a node that is
 * down, or has no such volume, does not fail it while another can.
 */
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { FetchLike } from '../node-fetch.js';
import { BackupObjectMissing, checkObjectKey, type BackupDestination, type ObjectInfo } from './destination.js';

export interface VolumeNodes {
  /** Base URLs (http[s]://host:port) of the nodes that mount the volume, best first. */
  readonly urls: () => readonly string[];
  readonly token: string;
  readonly fetch: FetchLike;
  readonly timeoutMs?: number;
}

export class VolumeUnreachable extends Error {
  constructor(readonly destination: string, readonly attempts: readonly string[]) {
    super(`${destination}: no node with the backup volume answered (${attempts.length === 0 ? 'no node has an address yet' : attempts.join('; ')})`);
    this.name = 'VolumeUnreachable';
  }
}

export class VolumeDestination implements BackupDestination {
  /**
   * description: the destination's URL (file:///mount/claim/path);
   * root: the destination's directory relative to the node's --backup-volume ('' for the volume root).
   */
  constructor(readonly description: string, private readonly root: string, private readonly nodes: VolumeNodes) {}

  private key(key: string): string {
    return this.root === '' ? checkObjectKey(key) : `${this.root}/${checkObjectKey(key)}`;
  }

  async put(key: string, body: Buffer | Readable): Promise<void> {
    const bytes = Buffer.isBuffer(body) ? body : await buffer(body);
    await this.call('PUT', `/object?key=${encodeURIComponent(this.key(key))}`, bytes);
  }

  async get(key: string): Promise<Buffer> {
    const res = await this.call('GET', `/object?key=${encodeURIComponent(this.key(key))}`);
    if (res === null) throw new BackupObjectMissing(this.description, key);
    return Buffer.from(await res.arrayBuffer());
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const res = await this.call('GET', `/object-info?key=${encodeURIComponent(this.key(key))}`);
    if (res === null) return null;
    const info = (await res.json()) as ObjectInfo;
    return { key, size: info.size };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const full = this.root === '' ? prefix : `${this.root}/${prefix}`;
    const res = await this.call('GET', `/objects?prefix=${encodeURIComponent(full)}`);
    const items = res === null ? [] : ((await res.json()) as ObjectInfo[]);
    const strip = this.root === '' ? 0 : this.root.length + 1;
    return items.map((o) => ({ key: o.key.slice(strip), size: o.size }));
  }

  async delete(key: string): Promise<void> {
    await this.call('DELETE', `/object?key=${encodeURIComponent(this.key(key))}`);
  }

  close(): void {}

  /** The response of the first node that answers; null for a missing object (404 missing_object). */
  private async call(method: string, path: string, body?: Buffer): Promise<Response | null> {
    const attempts: string[] = [];
    for (const base of this.nodes.urls()) {
      let res: Response;
      try {
        res = await this.nodes.fetch(`${base}/admin/backup-volume${path}`, {
          method,
          headers: { authorization: `Bearer ${this.nodes.token}`, ...(body !== undefined ? { 'content-type': 'application/octet-stream' } : {}) },
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.nodes.timeoutMs ?? 30_000),
        });
      } catch (err) {
        attempts.push(`${base}: ${(err as Error).message}`);
        continue;
      }
      if (res.ok) return res;
      const text = await res.text();
      let reason: unknown;
      try {
        reason = (JSON.parse(text) as { error?: { details?: { reason?: unknown } } }).error?.details?.reason;
      } catch {
        reason = undefined;
      }
      if (res.status === 404 && reason === 'missing_object') return null;
      // A client error other than "no volume here" would be the same on every node.
      if (res.status >= 400 && res.status < 500 && res.status !== 404 && res.status !== 401 && res.status !== 403) {
        throw new Error(`${this.description}: ${method} ${path} failed (HTTP ${res.status}): ${text.slice(0, 300)}`);
      }
      attempts.push(`${base}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    throw new VolumeUnreachable(this.description, attempts);
  }
}
