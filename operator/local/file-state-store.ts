/**
 * The controller's state for a local cluster: D/controller.json. The
 * controller saves progress before it acts, so every save is atomic (temp
 * file, fsync, rename, directory fsync) and survives kill -9 at any moment;
 * a file that is truncated or corrupt is a StateFileError naming the path,
 * never mistaken for a fresh cluster (which would re-bootstrap over data).
 */
import fs from 'node:fs';
import { ClusterMapError, parseClusterMap } from '../../common/cluster-map.js';
import type { StateStore } from '../platform/types.js';
import { SpecError, validateSpec, type ClusterSpec } from '../core/spec.js';
import { STATE_VERSION, type ControllerState } from '../core/state.js';
import { clusterPaths, writeFileAtomic } from './layout.js';

export class StateFileError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file} is corrupt: ${problem} (the controller will not guess; restore the file or remove the cluster directory)`);
    this.name = 'StateFileError';
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks the shape enough that the controller never runs on garbage:
 * version, cluster, spec, each shard's identity fields, the map and the
 * counters. Pure; throws StateFileError.
 */
export function parseControllerState(text: string, file: string): ControllerState {
  const fail = (problem: string): never => {
    throw new StateFileError(file, problem);
  };
  if (text.trim() === '') fail('the file is empty');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('expected a JSON object');
  if (raw.version !== STATE_VERSION) fail(`unsupported version ${JSON.stringify(raw.version)} (expected ${STATE_VERSION})`);
  if (typeof raw.cluster !== 'string' || raw.cluster === '') fail('cluster must be a non-empty string');
  if (!isObject(raw.spec)) fail('spec must be an object');
  try {
    validateSpec(raw.spec as unknown as ClusterSpec);
  } catch (err) {
    if (err instanceof SpecError) fail(`spec.${err.field}: ${err.message}`);
    throw err;
  }
  if (!Array.isArray(raw.shards)) return fail('shards must be an array');
  const ids = new Set<string>();
  raw.shards.forEach((s: unknown, i: number) => {
    const where = `shards[${i}]`;
    if (!isObject(s)) return fail(`${where} must be an object`);
    if (typeof s.id !== 'string' || s.id === '') fail(`${where}.id must be a non-empty string`);
    if (ids.has(s.id as string)) fail(`shard ${String(s.id)} is listed twice`);
    ids.add(s.id as string);
    if (!Number.isInteger(s.index) || (s.index as number) < 0) fail(`${where}.index must be a non-negative integer`);
    if (!Number.isInteger(s.epoch) || (s.epoch as number) < 0) fail(`${where}.epoch must be a non-negative integer`);
    if (!Array.isArray(s.members) || !s.members.every((m) => typeof m === 'string')) fail(`${where}.members must be an array of node names`);
    if (typeof s.currentPrimary !== 'string') fail(`${where}.currentPrimary must be a string`);
    if (typeof s.targetPrimary !== 'string') fail(`${where}.targetPrimary must be a string`);
    if (s.failover !== null && !isObject(s.failover)) fail(`${where}.failover must be null or an object`);
    if (typeof s.leaving !== 'boolean') fail(`${where}.leaving must be a boolean`);
    const sync = s.sync;
    if (!isObject(sync) || !Array.isArray(sync.replicas) || !sync.replicas.every((m) => typeof m === 'string') || !Number.isInteger(sync.acks) || (sync.target !== null && !isObject(sync.target))) {
      fail(`${where}.sync must be {replicas: [names], acks: integer, target: null | {replicas, seq}}`);
    }
    return undefined;
  });
  if (raw.map !== null) {
    try {
      parseClusterMap(raw.map);
    } catch (err) {
      if (err instanceof ClusterMapError) fail(`map: ${err.message}`);
      throw err;
    }
  }
  if (raw.operation !== null && !isObject(raw.operation)) fail('operation must be null or an object');
  if (!Number.isInteger(raw.nextId) || (raw.nextId as number) < 0) fail('nextId must be a non-negative integer');
  return raw as unknown as ControllerState;
}

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
    let text: string;
    try {
      text = await fs.promises.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return parseControllerState(text, this.path);
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
