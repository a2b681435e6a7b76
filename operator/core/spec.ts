/**
 * What the user asks of a cluster (the local `irisctl local up` flags, and
 * later the IrisCluster spec): shape, replication and failure detection.
 * Pure: defaults and validation only.
 */

export interface ClusterSpec {
  /** Number of shards (each owns a share of the 16384 slots). */
  readonly shards: number;
  /** Replicas of each shard's primary. */
  readonly replicasPerShard: number;
  /** Replica acknowledgements a write waits for (capped at replicasPerShard by the nodes). */
  readonly minSyncReplicas: number;
  /** How often the controller asks every node for its status. */
  readonly heartbeatMs: number;
  /** Missed heartbeats in a row after which a primary counts as failed. */
  readonly failureThreshold: number;
  /**
   * required: a write is acknowledged only once minSyncReplicas replicas
   * have it, even while replicas are down (writes wait, then fail with
   * NOREPLICAS). preferred: a failed replica stops being waited for after
   * failureThreshold heartbeats, so writes go on with fewer copies (down to
   * the primary alone) until it is back (CloudNativePG's dataDurability).
   */
  readonly dataDurability: DataDurability;
}

export type DataDurability = 'required' | 'preferred';
export const DATA_DURABILITY: readonly DataDurability[] = ['required', 'preferred'];

export const DEFAULT_SPEC: ClusterSpec = {
  shards: 3,
  replicasPerShard: 1,
  minSyncReplicas: 1,
  heartbeatMs: 500,
  failureThreshold: 3,
  dataDurability: 'required',
};

export const SPEC_LIMITS = {
  shards: { min: 1, max: 128 },
  replicasPerShard: { min: 0, max: 5 },
  minSyncReplicas: { min: 0, max: 5 },
  heartbeatMs: { min: 50, max: 60_000 },
  failureThreshold: { min: 1, max: 100 },
} as const satisfies Record<NumericSpecField, { min: number; max: number }>;

export type NumericSpecField = Exclude<keyof ClusterSpec, 'dataDurability'>;

export class SpecError extends Error {
  constructor(readonly field: keyof ClusterSpec, message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** `spec` with every field checked against SPEC_LIMITS; throws SpecError naming the first bad field. */
export function validateSpec(spec: ClusterSpec): ClusterSpec {
  if (!DATA_DURABILITY.includes(spec.dataDurability)) {
    throw new SpecError('dataDurability', `dataDurability must be one of ${DATA_DURABILITY.join(', ')} (got ${String(spec.dataDurability)})`);
  }
  for (const field of Object.keys(SPEC_LIMITS) as NumericSpecField[]) {
    const v = spec[field];
    const { min, max } = SPEC_LIMITS[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new SpecError(field, `${field} must be an integer from ${min} to ${max} (got ${String(v)})`);
    }
  }
  return spec;
}

/** The acknowledgements writes really wait for: min(minSyncReplicas, replicas). */
export function effectiveMinSync(spec: Pick<ClusterSpec, 'minSyncReplicas' | 'replicasPerShard'>): number {
  return Math.min(spec.minSyncReplicas, spec.replicasPerShard);
}
