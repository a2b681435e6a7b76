/**
 * List-then-watch with a local cache, the way client-go's reflector works:
 * list, watch from the list's resourceVersion, resume from the last seen
 * version when the stream ends, and re-list when the server answers 410
 * Gone (the version was compacted away). Handlers see ADDED/MODIFIED/DELETED
 * against the cache, so a re-list also reports objects deleted meanwhile.
 */
import { applyList } from '../../../operator/kube/list-diff.js';
import { KubeApiError, type KubeList, type KubeObject, type KubeRest } from './rest.js';

export type InformerHandler<T extends KubeObject> = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;

export function objectKey(o: KubeObject): string {
  const m = o.metadata ?? {};
  return m.namespace === undefined ? String(m.name) : `${m.namespace}/${String(m.name)}`;
}

export class Informer<T extends KubeObject> {
  readonly cache = new Map<string, T>();
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private synced!: Promise<void>;
  private running = false;

  constructor(
    private readonly rest: KubeRest,
    private readonly path: string,
    private readonly handler: InformerHandler<T>,
    private readonly query: Record<string, string> = {},
    private readonly onError: (err: unknown) => void = () => {},
    /** Resume a watch from this resourceVersion instead of listing first (a 410 then forces the list). */
    private readonly resumeFrom?: string,
  ) {}

  /** Starts the loop; resolves after the first list has been delivered. */
  start(): Promise<void> {
    if (this.running) return this.synced;
    this.running = true;
    let markSynced!: () => void;
    this.synced = new Promise<void>((r) => { markSynced = r; });
    void this.loop(markSynced);
    return this.synced;
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
  }

  private async relist(): Promise<void> {
    const list = await this.rest.get<KubeList<T>>(this.path, this.query);
    applyList(this.cache, list.items, objectKey, (type, obj) => this.handler(type, obj));
    this.resourceVersion = list.metadata.resourceVersion;
  }

  private async loop(markSynced: () => void): Promise<void> {
    let needList = this.resumeFrom === undefined;
    if (!needList) {
      this.resourceVersion = this.resumeFrom!;
      markSynced();
    }
    let failures = 0;
    while (this.running) {
      try {
        if (needList) {
          await this.relist();
          markSynced();
          needList = false;
        }
        let gone = false;
        await this.rest.watch(this.path, { ...this.query, resourceVersion: this.resourceVersion, timeoutSeconds: 300 }, (type, obj) => {
          if (type === 'ERROR') {
            // A Status object; 410 means our version is too old.
            if ((obj as { code?: number }).code === 410) gone = true;
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          if (rv !== undefined) this.resourceVersion = rv;
          if (type === 'BOOKMARK') return;
          const item = obj as T;
          const key = objectKey(item);
          if (type === 'DELETED') {
            this.cache.delete(key);
          } else {
            this.cache.set(key, item);
          }
          this.handler(type, item);
        }, this.abort.signal);
        if (gone) needList = true;
        failures = 0;
      } catch (err) {
        if (!this.running) return;
        if (err instanceof KubeApiError && err.statusCode === 410) needList = true;
        else this.onError(err);
        failures++;
        // Back off on repeated failures (API server restarting, etc.).
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5000)));
      }
    }
  }
}
