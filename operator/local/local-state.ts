/**
 * D/local.json, the local platform's registry: the base port, every node's
 * shard, port index and process id, and where the controller listens.
 * Parsing is pure and strict (a corrupt file is a LocalStateError naming the
 * file and the problem, never silently an empty cluster); writes are atomic.
 */
import fs from 'node:fs';
import type { ControlEndpoint } from '../control-api/types.js';
import { isObject, parseJsonObject, type JsonObject } from '../core/record.js';
import { checkBasePort, checkNodeIndex, checkNodeName, clusterPaths, LayoutError, readFileIfExists, writeFileAtomic } from './layout.js';

export const LOCAL_STATE_VERSION = 1;

export interface LocalNodeRecord {
  readonly shard: string;
  /** Port index (layout.ts nodePorts), fixed for as long as the name exists. */
  readonly index: number;
  /** The running process, or null when stopped. */
  readonly pid: number | null;
  /** When that process was started (ms since the epoch), or null when stopped. */
  readonly startedAt: number | null;
}

export interface LocalState {
  readonly version: typeof LOCAL_STATE_VERSION;
  readonly basePort: number;
  readonly nodes: Readonly<Record<string, LocalNodeRecord>>;
  /** The running controller (written by `irisctl local up`), or null. */
  readonly controller: ControlEndpoint | null;
}

export class LocalStateError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file} is corrupt: ${problem}`);
    this.name = 'LocalStateError';
  }
}

export function emptyLocalState(basePort: number): LocalState {
  return { version: LOCAL_STATE_VERSION, basePort: checkBasePort(basePort), nodes: {}, controller: null };
}

function isPid(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}

/** Parses local.json's text; `file` names it in errors. */
export function parseLocalState(text: string, file: string): LocalState {
  const fail = (problem: string): never => {
    throw new LocalStateError(file, problem);
  };
  const raw = parseJsonObject(text, fail);
  if (raw.version !== LOCAL_STATE_VERSION) fail(`unsupported version ${JSON.stringify(raw.version)} (expected ${LOCAL_STATE_VERSION})`);
  try {
    checkBasePort(raw.basePort as number);
  } catch (err) {
    fail(`basePort: ${(err as LayoutError).message}`);
  }
  if (!isObject(raw.nodes)) fail('nodes must be an object keyed by node name');
  const nodes: Record<string, LocalNodeRecord> = {};
  const byIndex = new Map<number, string>();
  for (const [name, rec] of Object.entries(raw.nodes as JsonObject)) {
    try {
      checkNodeName(name);
    } catch (err) {
      fail(`nodes: ${(err as LayoutError).message}`);
    }
    if (!isObject(rec)) return fail(`nodes.${name} must be an object`);
    if (typeof rec.shard !== 'string' || rec.shard === '') fail(`nodes.${name}.shard must be a non-empty string`);
    try {
      checkNodeIndex(rec.index as number);
    } catch (err) {
      fail(`nodes.${name}.index: ${(err as LayoutError).message}`);
    }
    const index = rec.index as number;
    const other = byIndex.get(index);
    if (other !== undefined) fail(`nodes ${other} and ${name} share port index ${index}`);
    byIndex.set(index, name);
    if (rec.pid !== null && !isPid(rec.pid)) fail(`nodes.${name}.pid must be a positive integer or null`);
    if (rec.startedAt !== null && (typeof rec.startedAt !== 'number' || !Number.isFinite(rec.startedAt))) fail(`nodes.${name}.startedAt must be a number or null`);
    nodes[name] = { shard: rec.shard as string, index, pid: rec.pid as number | null, startedAt: rec.startedAt as number | null };
  }
  let controller: ControlEndpoint | null = null;
  if (raw.controller !== null) {
    const c = raw.controller;
    if (!isObject(c) || !isPid(c.pid) || typeof c.url !== 'string' || c.url === '') return fail('controller must be null or {pid, url}');
    controller = { pid: c.pid, url: c.url };
  }
  return { version: LOCAL_STATE_VERSION, basePort: raw.basePort as number, nodes, controller };
}

export function serializeLocalState(state: LocalState): string {
  return JSON.stringify(state, null, 2) + '\n';
}

/** D/local.json, or null when the cluster has never been started there. */
export async function readLocalState(dir: string): Promise<LocalState | null> {
  const file = clusterPaths(dir).localState;
  const text = await readFileIfExists(file);
  return text === null ? null : parseLocalState(text, file);
}

export async function writeLocalState(dir: string, state: LocalState): Promise<void> {
  const paths = clusterPaths(dir);
  await fs.promises.mkdir(paths.dir, { recursive: true });
  await writeFileAtomic(paths.localState, serializeLocalState(state));
}

/**
 * local.json of one cluster directory, with its read-modify-write cycles
 * queued so that, within a process, they never interleave (the platform and
 * `local up` both write the file: they share one LocalStateFile).
 */
export class LocalStateFile {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  read(): Promise<LocalState | null> {
    return readLocalState(this.dir);
  }

  /** Reads local.json, applies `change` (null when the file does not exist yet) and writes the result, after the updates before it. */
  update(change: (current: LocalState | null) => LocalState): Promise<LocalState> {
    const next = this.queue.catch(() => undefined).then(async () => {
      const updated = change(await readLocalState(this.dir));
      await writeLocalState(this.dir, updated);
      return updated;
    });
    this.queue = next;
    return next;
  }

  /** Records (or clears, with null) the running controller. */
  recordController(controller: ControlEndpoint | null, basePort: number): Promise<LocalState> {
    return this.update((s) => ({ ...(s ?? emptyLocalState(basePort)), controller }));
  }
}
