/**
 * List-then-watch with a local cache, the way client-go's reflector works:
 * list, watch from the list's resourceVersion, resume from the last version
 * seen when the server ends the stream, list again on 410 Gone (the version
 * was compacted away) and after any other error, with back-off. Handlers see
 * ADDED/MODIFIED/DELETED against the cache, so a re-list also reports the
 * objects deleted meanwhile. client-node's informer does not recover from
 * every error by itself, hence this one.
 */
import type { Logger } from '../../common/logger.js';
import type { KubeClient, Query } from './client.js';
import { errorText, isGone } from './errors.js';
import { applyList } from './list-diff.js';
import { sleep } from '../../common/abortable-sleep.js';

export type InformerEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Meta {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string };
}

export type InformerHandler<T> = (type: InformerEvent, obj: T, old: T | undefined) => void;

export function objectKey(o: Meta): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

export interface InformerOptions {
  /** Collection path (one namespace or all). */
  readonly path: string;
  readonly labelSelector?: string;
  readonly logger: Logger;
  /** Back-off after a failure: 200 ms doubling up to this (default 10 s). */
  readonly maxBackoffMs?: number;
  /** Server-side watch timeout; the stream is then resumed (default 300 s). */
  readonly watchTimeoutSeconds?: number;
  /**
   * Watch from this resourceVersion before any list, with the cache as the
   * caller filled it (synced at once); a 410 Gone then forces the list.
   */
  readonly resumeFrom?: string;
}

interface ListResult<T> {
  readonly metadata: { readonly resourceVersion: string };
  readonly items: T[];
}

export class Informer<T extends Meta> {
  readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private running = false;
  private markSynced!: () => void;
  /** Resolves after the first list has been delivered. */
  readonly synced: Promise<void>;
  /** Times the informer listed (the first list included): a re-list after 410 or an error adds one. */
  lists = 0;

  constructor(private readonly client: KubeClient, private readonly opts: InformerOptions) {
    this.synced = new Promise<void>((r) => (this.markSynced = r));
  }

  onEvent(h: InformerHandler<T>): void {
    this.handlers.push(h);
  }

  start(): Promise<void> {
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
    return this.synced;
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /**
   * Puts an object the operator just wrote into the cache, unless the cache
   * already holds a newer version: later reads see our own write without
   * waiting for its watch event.
   */
  upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (old !== undefined && !olderVersion(old, obj)) return;
    this.cache.set(key, obj);
    this.emit(old === undefined ? 'ADDED' : 'MODIFIED', obj, old);
  }

  private emit(type: InformerEvent, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.opts.logger.error('informer handler failed', { path: this.opts.path, error: errorText(err), stack: (err as Error).stack });
      }
    }
  }

  private query(): Query {
    return this.opts.labelSelector === undefined ? {} : { labelSelector: this.opts.labelSelector };
  }

  private async relist(): Promise<void> {
    const list = await this.client.get<ListResult<T>>(this.opts.path, this.query());
    this.lists++;
    applyList(this.cache, list.items, objectKey, (type, obj, old) => this.emit(type, obj, old));
    this.resourceVersion = list.metadata.resourceVersion;
  }

  private async loop(): Promise<void> {
    const resumeFrom = this.opts.resumeFrom;
    let needList = resumeFrom === undefined;
    if (resumeFrom !== undefined) {
      this.resourceVersion = resumeFrom;
      this.markSynced();
    }
    let failures = 0;
    const maxBackoff = this.opts.maxBackoffMs ?? 10_000;
    while (this.running) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          this.markSynced();
        }
        let expired = false;
        await this.client.watch(this.opts.path, { ...this.query(), resourceVersion: this.resourceVersion, timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 }, (type, raw) => {
          if (type === 'ERROR') {
            // A Status object: 410 means our version is too old; anything else, list again to be sure.
            const st = raw as { code?: number; message?: string };
            if (st.code !== 410) this.opts.logger.warn('watch error event', { path: this.opts.path, code: st.code, message: st.message });
            expired = true;
            return;
          }
          const obj = raw as T;
          const rv = obj.metadata?.resourceVersion;
          if (rv !== undefined) this.resourceVersion = rv;
          if (type === 'BOOKMARK') return;
          const key = objectKey(obj);
          const old = this.cache.get(key);
          // The cache may already hold our own later write (upsert): an older event changes nothing.
          if (type !== 'DELETED' && old !== undefined && olderVersion(obj, old) && !olderVersion(old, obj)) return;
          if (type === 'DELETED') this.cache.delete(key);
          else this.cache.set(key, obj);
          this.emit(type === 'ADDED' && old !== undefined ? 'MODIFIED' : type, obj, old);
        }, this.abort.signal);
        if (expired) needList = true;
        failures = 0;
      } catch (err) {
        if (!this.running) return;
        if (isGone(err)) {
          needList = true;
        } else {
          // After a broken stream the version may be fine, but a fresh list costs little and never misses a deletion.
          needList = true;
          this.opts.logger.warn('list/watch failed; retrying', { path: this.opts.path, error: errorText(err), failures: failures + 1 });
        }
        failures++;
        await sleep(Math.min(200 * 2 ** Math.min(failures, 10), maxBackoff), this.abort.signal);
      }
    }
  }
}

/** `a` is older than `b` (resourceVersions compared as the integers etcd makes them; unknown: yes). */
function olderVersion(a: Meta, b: Meta): boolean {
  const x = a.metadata?.resourceVersion;
  const y = b.metadata?.resourceVersion;
  if (x === undefined || y === undefined || !/^\d+$/.test(x) || !/^\d+$/.test(y)) return true;
  return BigInt(x) < BigInt(y);
}
