/**
 * The controller's state for a local cluster: D/controller.json. The
 * controller saves progress before it acts, so every save is atomic (temp
 * file, fsync, rename, directory fsync) and survives kill -9 at any moment;
 * a file that is truncated or corrupt is a StateFileError naming the path
 * (core/record.ts parses it), never mistaken for a fresh cluster.
 */
import fs from 'node:fs';
import type { StateStore } from '../platform/types.js';
import { parseControllerState } from '../core/record.js';
import type { ControllerState } from '../core/state.js';
import { clusterPaths, readFileIfExists, writeFileAtomic } from './layout.js';

export class FileStateStore implements StateStore {
  /** D/controller.json */
  readonly path: string;
  private readonly dir: string;
  /** Saves in flight, in call order: the last save called is the last one written. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    const paths = clusterPaths(dir);
    this.dir = paths.dir;
    this.path = paths.controllerState;
  }

  /** The saved state, or null when none was ever saved; StateFileError when the file is corrupt. */
  async load(): Promise<ControllerState | null> {
    const text = await readFileIfExists(this.path);
    return text === null ? null : parseControllerState(text, this.path);
  }

  save(state: ControllerState): Promise<void> {
    const data = JSON.stringify(state, null, 2) + '\n';
    const next = this.queue.catch(() => undefined).then(async () => {
      await fs.promises.mkdir(this.dir, { recursive: true });
      await writeFileAtomic(this.path, data);
    });
    this.queue = next;
    return next;
  }
}
