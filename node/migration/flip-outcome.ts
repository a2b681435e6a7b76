/**
 * Settling a flip whose outcome the source does not know: ask the target
 * (it aborts the attempt unless it flipped, and says which), and install
 * the flipped map here. Used by the running migration and at startup.
 */
import { nodeByName, type ClusterMap } from '../../common/cluster-map.js';
import type { MigrationRecord } from '../../common/migration.js';
import type { BusCredentials } from '../replication/bus-auth-client.js';
import { FrameType, encodeJsonFrame } from '../replication/frames.js';
import { MigrationConn, type PeerBusAddress } from './conn.js';
import type { MigrationDeps } from './deps.js';
import { parseOutcome, type AbortMsg, type OutcomeMsg } from './messages.js';
import { MigrationError, ownsAll } from './plan.js';

const RESOLVE_TIMEOUT_MS = 3000;
const RESOLVE_MAX_BACKOFF_MS = 2000;

/** The bus address of `name` in `map`, or null if the map does not list it. */
export function busAddressIn(map: ClusterMap | null, name: string): PeerBusAddress | null {
  const node = map === null ? null : nodeByName(map, name);
  return node === null ? null : { name: node.name, host: node.host, busPort: node.busPort };
}

/**
 * Installs `map` unless an equal or newer one is there already; then the
 * installed map must give the slots to the target shard (else the fence
 * must stay: MigrationError conflict).
 */
export function installOrVerify(d: MigrationDeps, map: ClusterMap, rec: MigrationRecord): void {
  const cur = d.cluster.map;
  if (cur === null || cur.epoch < map.epoch) {
    d.cluster.install(map);
    return;
  }
  if (!ownsAll(cur, rec.targetShard, rec.slots)) {
    throw new MigrationError('conflict', `the installed cluster map (epoch ${cur.epoch}) does not give the migrated slots to ${rec.targetShard}, though the target flipped at epoch ${map.epoch}: push a map that does`);
  }
}

/** One MigrateAbort on a fresh connection: the target's final word on the attempt. */
export async function askOutcome(addr: PeerBusAddress, creds: BusCredentials, msg: AbortMsg, timeoutMs: number): Promise<OutcomeMsg> {
  const conn = await MigrationConn.connect(addr, creds, timeoutMs);
  try {
    conn.send(encodeJsonFrame(FrameType.MigrateAbort, msg));
    const f = await conn.next([FrameType.MigrateOutcome], timeoutMs, 'MigrateAbort');
    return parseOutcome(f.body);
  } finally {
    conn.close('outcome received');
  }
}

export interface OutcomeQuestion {
  readonly msg: AbortMsg;
  /** What this node authenticates with on the target's bus. */
  readonly creds: BusCredentials;
  /** Where the target is now (the map may change between tries). */
  address(): PeerBusAddress;
  /** Throws if the asking must stop (asked before every try). */
  checkStopped(): void;
  sleep(ms: number): Promise<void>;
  /** A try failed; `tries` counts them from 1. */
  unreachable(addr: PeerBusAddress, tries: number, err: Error): void;
}

/** Asks the target until it answers, backing off up to RESOLVE_MAX_BACKOFF_MS between tries. */
export async function askUntilAnswered(q: OutcomeQuestion): Promise<{ addr: PeerBusAddress; outcome: OutcomeMsg }> {
  for (let tries = 1; ; tries++) {
    q.checkStopped();
    const addr = q.address();
    try {
      return { addr, outcome: await askOutcome(addr, q.creds, q.msg, RESOLVE_TIMEOUT_MS) };
    } catch (err) {
      q.unreachable(addr, tries, err as Error);
      await q.sleep(Math.min(200 * tries, RESOLVE_MAX_BACKOFF_MS));
    }
  }
}
