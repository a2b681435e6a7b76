/**
 * The controller's persisted record (a ControllerState), parsed back: the
 * local platform keeps it in D/controller.json, Kubernetes in the
 * IrisCluster's status. Both stores parse it here, strictly, so a truncated
 * or corrupt record is an error naming where it came from, never mistaken
 * for a fresh cluster (which would re-bootstrap over data). Pure.
 */
import { ClusterMapError, parseClusterMap } from '../../common/cluster-map.js';
import { SpecError, validateSpec, type ClusterSpec } from './spec.js';
import { STATE_VERSION, type ControllerState } from './state.js';

/** A corrupt record; `file` names where it was read (a file, or a resource's status field). */
export class StateFileError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file} is corrupt: ${problem} (the controller will not guess; restore the file or remove the cluster directory)`);
    this.name = 'StateFileError';
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The JSON object a persisted record's text holds; `fail` (which throws the
 * caller's own error type) gets the problem when the text is empty, not JSON
 * or not an object.
 */
export function parseJsonObject(text: string, fail: (problem: string) => never): JsonObject {
  if (text.trim() === '') fail('the file is empty');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) return fail('expected a JSON object');
  return raw;
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
  const raw = parseJsonObject(text, fail);
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
  if (raw.backups !== undefined) {
    if (!Array.isArray(raw.backups)) fail('backups must be an array');
    (raw.backups as unknown[]).forEach((b, i) => {
      if (!isObject(b) || typeof b.id !== 'string' || !['Running', 'Completed', 'Failed'].includes(b.phase as string) || !Array.isArray(b.shards) || !isObject(b.destination) || !isObject(b.map)) {
        fail(`backups[${i}] must be {id, phase, destination, map, shards, ...}`);
      }
    });
  }
  if (raw.backupSchedule !== undefined && raw.backupSchedule !== null) {
    const b = raw.backupSchedule;
    if (!isObject(b) || typeof b.cron !== 'string' || typeof b.destination !== 'string' || !Number.isInteger(b.keep) || !Number.isFinite(b.lastRunAt)) {
      fail('backupSchedule must be null or {cron, destination, keep, lastRunAt}');
    }
  }
  return raw as unknown as ControllerState;
}
