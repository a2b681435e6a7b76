/**
 * Every setting of irisdb-node in one table: its flag, its IRIS_* variable,
 * type, default, limits and help text. Loading, validation and --help are all
 * driven from this table, so a setting cannot exist in one place and not another.
 */

export type SettingType = 'int' | 'string' | 'enum' | 'bool' | 'bytes';

export interface SettingDef {
  /** camelCase key in NodeConfig and in the config file. */
  readonly key: keyof NodeConfig;
  readonly type: SettingType;
  readonly default: string | number | boolean;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** Flag spelling when it is not the kebab-case of the key. */
  readonly flag?: string;
  /** Variable name when it is not IRIS_ + the snake case of the key. */
  readonly env?: string;
}

export interface NodeConfig {
  port: number;
  httpPort: number;
  busPort: number;
  tlsPort: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsCaCertFile: string;
  tlsAuthClients: 'yes' | 'no' | 'optional';
  tlsHttp: boolean;
  tlsCluster: boolean;
  tlsProtocols: string;
  tlsCiphers: string;
  tlsCiphersuites: string;
  tlsPreferServerCiphers: boolean;
  bind: string;
  announceHost: string;
  announcePort: number;
  nodeName: string;
  clusterEnabled: boolean;
  dataDir: string;
  configFile: string;
  fsync: 'always' | 'batch';
  checkpoints: 'worker' | 'inline';
  writeJournal: boolean;
  journalCommitMs: number;
  journalCommitTurns: number;
  journalCommitBytes: number;
  journalCommitTargetMs: number;
  journalCommitTargetDense: boolean;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  requirePass: string;
  adminToken: string;
  httpAllowedHosts: string;
  metricsRequirePass: boolean;
  authTimeoutMs: number;
  aclfile: string;
  aclfileCheckMs: number;
  acllogMaxLen: number;
  auditLogFile: string;
  auditWrites: boolean;
  maxMultiCommands: number;
  maxMultiBytes: number;
  maxClients: number;
  maxBulkBytes: number;
  maxArgs: number;
  maxInlineBytes: number;
  maxQueryBufferBytes: number;
  maxOutputBufferBytes: number;
  partialFrameTimeoutMs: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxBatchOps: number;
  maxHttpBodyBytes: number;
  httpForwardTimeoutMs: number;
  changeFeedMaxStreams: number;
  changeFeedPageEvents: number;
  changeFeedKeepaliveMs: number;
  maxScanLimit: number;
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  latencyMonitorThreshold: number;
  notifyKeyspaceEvents: string;
  pubsubOutputBufferHardBytes: number;
  pubsubOutputBufferSoftBytes: number;
  pubsubOutputBufferSoftSeconds: number;
  pubsubPeerBacklogBytes: number;
  compression: 'none' | 'zlib' | 'brotli';
  compressionThresholdBytes: number;
  encryptionKeyFile: string;
  encryptionKeyFileCheckMs: number;
  reencryptBatchKeys: number;
  reencryptVacuumMaxBytes: number;
  readCacheEntries: number;
  readCacheBytes: number;
  readCacheAbsentKeys: boolean;
  sqlitePageSize: '512' | '1024' | '2048' | '4096' | '8192' | '16384' | '32768' | '65536';
  sqliteMmapBytes: number;
  sqliteCacheBytes: number;
  activeExpiryIntervalMs: number;
  activeExpiryMaxKeys: number;
  activeExpiryMaxMs: number;
  shutdownTimeoutMs: number;
  role: 'primary' | 'replica';
  replicaOf: string;
  epoch: number;
  replicas: string;
  minSyncReplicas: number;
  ackTimeoutMs: number;
  replBacklogOps: number;
  archiveDestination: string;
  archiveSegmentSeconds: number;
  archiveSegmentBytes: number;
  backupVolume: string;
  backupVolumeMaxObjectBytes: number;
  s3CredentialsDir: string;
  restoreFrom: string;
  restoreBackupId: string;
  restorePointInTime: string;
  restoreShard: string;
  restoreNode: string;
  backupNice: number;
  backupCpuPercent: number;
  digestIntervalMs: number;
  digestSliceMs: number;
  replicaApplySliceMs: number;
  replicaLoadSliceRows: number;
  walWaitBytes: number;
  importSliceMs: number;
  /** TEST ONLY: see its help text. */
  testMigrationFenceHoldMs: number;
  otelExporterOtlpEndpoint: string;
  otelServiceName: string;
  otelTracesSamplerArg: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const SETTINGS: readonly SettingDef[] = [
  { key: 'port', type: 'int', default: 6379, min: 0, max: 65535, help: 'RESP (Redis protocol) port; 0 picks a free port, or, with tlsPort set, means no plain-text RESP port (as Redis)' },
  { key: 'httpPort', type: 'int', default: 8080, min: 0, max: 65535, help: 'HTTP port: KV API, /admin, /metrics, /healthz, /readyz; 0 picks a free port' },
  { key: 'busPort', type: 'int', default: 16379, min: 0, max: 65535, help: 'cluster bus port (replication and slot migration)' },
  // TLS (docs/security.md): Redis's tls-* names; the files are re-read when they change.
  { key: 'tlsPort', type: 'int', default: 0, min: 0, max: 65535, help: 'RESP over TLS (TLS 1.2/1.3) on this port, as Redis\'s tls-port (0: no TLS port); with --port 0 the node serves RESP over TLS only' },
  { key: 'tlsCertFile', type: 'string', default: '', help: 'server certificate (PEM, may include the chain) for tlsPort and tlsHttp; re-read when it changes on disk' },
  { key: 'tlsKeyFile', type: 'string', default: '', help: 'private key (PEM) of tlsCertFile; re-read when it changes on disk' },
  { key: 'tlsCaCertFile', type: 'string', default: '', help: 'CA certificate(s) (PEM) client certificates are verified against (tlsAuthClients)' },
  { key: 'tlsAuthClients', type: 'enum', default: 'no', values: ['yes', 'no', 'optional'], help: 'client certificates (mutual TLS): yes = required and verified against tlsCaCertFile, optional = verified if presented, no = not asked for (Redis\'s default is yes)' },
  { key: 'tlsHttp', type: 'bool', default: false, help: 'yes: the HTTP port (KV API, /admin, /metrics, probes) serves HTTPS only, with the tlsPort certificate and tlsAuthClients' },
  { key: 'tlsCluster', type: 'bool', default: false, help: 'yes: the cluster bus (replication, slot migration, Pub/Sub and change-feed links between nodes) uses mutual TLS with tlsCertFile/tlsKeyFile, peers verified against tlsCaCertFile; every node of a cluster must agree (Redis\'s tls-cluster and tls-replication in one)' },
  { key: 'tlsProtocols', type: 'string', default: 'TLSv1.2 TLSv1.3', help: 'TLS versions every TLS listener accepts, space-separated (TLSv1.2, TLSv1.3), as Redis\'s tls-protocols' },
  { key: 'tlsCiphers', type: 'string', default: '', help: 'TLS 1.2 cipher list in OpenSSL syntax (ECDHE-ECDSA-AES256-GCM-SHA384:...), as Redis\'s tls-ciphers; empty: Node\'s default' },
  { key: 'tlsCiphersuites', type: 'string', default: '', help: 'TLS 1.3 cipher suites, colon-separated (TLS_AES_256_GCM_SHA384:...), as Redis\'s tls-ciphersuites; empty: Node\'s default' },
  { key: 'tlsPreferServerCiphers', type: 'bool', default: false, help: 'yes: the server\'s cipher order wins over the client\'s, as Redis\'s tls-prefer-server-ciphers' },
  { key: 'bind', type: 'string', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 in a pod)' },
  { key: 'announceHost', type: 'string', default: '', help: 'address clients are told to use (CLUSTER SLOTS, MOVED); default: the bind address' },
  { key: 'announcePort', type: 'int', default: 0, min: 0, max: 65535, help: 'RESP port clients are told to use; 0 = the listening port' },
  { key: 'nodeName', type: 'string', default: '', help: 'stable node identity (the pod name); default: the host name' },
  { key: 'clusterEnabled', type: 'bool', default: false, help: 'yes: a cluster member (the control plane sets it): until the control plane pushes a cluster map the node serves no keys (CLUSTERDOWN, HTTP 503) and /readyz is 503; no: standalone until a map is pushed' },
  { key: 'dataDir', type: 'string', default: './data', help: 'directory holding the SQLite database; locked by the node using it (irisdb.lock)' },
  { key: 'configFile', type: 'string', default: '', flag: '--config', env: 'IRIS_CONFIG', help: 'JSON file with any of these settings (flags and IRIS_* variables override it)' },
  { key: 'fsync', type: 'enum', default: 'always', values: ['always', 'batch'], help: 'always: every acknowledged write is fsynced (survives power loss); batch: fsync at checkpoints (survives a process crash)' },
  { key: 'checkpoints', type: 'enum', default: 'worker', values: ['worker', 'inline'], help: 'where WAL checkpoints run: worker (a background thread, keeps the event loop free) or inline (on the main thread)' },
  // Write journal (issue #16, docs/architecture.md "Write journal"): acknowledged from an append-only journal, SQLite committed in batches; the default write path.
  { key: 'writeJournal', type: 'bool', default: true, help: 'yes (default): a write is acknowledged once its turn is in the append-only write journal (DATA_DIR/journal, fdatasynced by group commit with fsync always) and SQLite commits in batches across turns without a sync on the event loop; no: one SQLite transaction and WAL fsync per turn (a journal left by a crash is replayed into SQLite at start, then removed)' },
  { key: 'journalCommitMs', type: 'int', default: 1000, min: 1, max: 60000, help: 'with writeJournal: longest time writes stay in the open SQLite batch before it commits (the journal holds them meanwhile; a crash replays them at start); longer: fewer whole pages rewritten per SET (docs/benchmarks.md, Write journal)' },
  { key: 'journalCommitTurns', type: 'int', default: 10000, min: 1, max: 10000000, help: 'with writeJournal: the SQLite batch commits after this many write turns' },
  { key: 'journalCommitTargetMs', type: 'int', default: 0, min: 0, max: 10000, help: 'with writeJournal: a sparse SQLite batch (writes that, at their rate, stay few against the database pages: background expiry, moderate write rates on large keyspaces) also commits once its COMMIT, which runs on the event loop, is estimated from earlier batches to take this long; cutting such a batch rewrites few pages; dense batches (write floods, imports) still end by journalCommitMs; at 1M keys it halves the typical commit of a background expiry but not the longest stall, which SQLite\'s backstop checkpoint inside a COMMIT makes (docs/benchmarks.md, Event-loop stalls) (0: off)' },
  { key: 'journalCommitTargetDense', type: 'bool', default: false, help: 'with journalCommitTargetMs: cut dense batches too; shorter stalls under a write flood on a large keyspace, but more pages rewritten per write: at 1M keys ~20 % fewer SETs a second and a ~25 % slower import (docs/benchmarks.md, Event-loop stalls)' },
  { key: 'journalCommitBytes', type: 'bytes', default: 64 * MiB, min: 1024, max: 16 * 1024 * MiB, help: 'with writeJournal: the SQLite batch commits after this many journal bytes (bounds the replay at start)' },
  { key: 'logLevel', type: 'enum', default: 'info', values: ['error', 'warn', 'info', 'debug'], help: 'log level (JSON logs on stderr)' },
  { key: 'requirePass', type: 'string', default: '', help: 'password clients must AUTH with (empty: no authentication)' },
  { key: 'adminToken', type: 'string', default: '', help: 'bearer token for the /admin API (empty: admin API disabled), and the cluster secret bus peers prove they know (never sent on the bus; empty: the bus refuses every peer)' },
  { key: 'httpAllowedHosts', type: 'string', default: '*.svc,*.svc.cluster.local', help: 'Host names HTTP requests may name besides IP addresses, localhost, announceHost and nodeName (DNS-rebinding guard): comma-separated names, *.suffix, or * for any' },
  { key: 'metricsRequirePass', type: 'bool', default: false, help: 'with requirePass, /metrics also needs the password (as the KV API does)' },
  { key: 'authTimeoutMs', type: 'int', default: 10000, min: 0, max: 3600000, help: 'with requirePass, a RESP or HTTP connection that has not authenticated this long after connecting (RESP: or after RESET) is closed (0: never)' },
  { key: 'aclfile', type: 'string', default: '', help: 'Redis aclfile with the ACL users (user <name> <rules>...); the default user keeps requirePass unless the file defines it; ACL LOAD/SAVE read and write it; in a cluster every node reads the same file' },
  { key: 'aclfileCheckMs', type: 'int', default: 1000, min: 0, max: 3600000, help: 'how often the aclfile is checked for changes and reloaded (a file that does not parse is logged and ignored; 0: only at start and ACL LOAD)' },
  { key: 'acllogMaxLen', type: 'int', default: 128, min: 0, max: 1000000, help: "most ACL LOG entries kept (denials and failed authentications); Redis's acllog-max-len" },
  { key: 'auditLogFile', type: 'string', default: '', help: 'hash-chained audit log (JSON lines, mode 0600; docs/security.md "Audit log"): authentications, ACL changes, FLUSHALL/FLUSHDB, CONFIG SET, admin actions; a restart continues the chain (empty: no audit log)' },
  { key: 'auditWrites', type: 'bool', default: false, help: 'yes: the audit log also records every write command (name, first key, user, address; never values) and every HTTP API write (PUT/DELETE /v1/kv, batch, import: key names, status; never values): one record, a SHA-256 and a write() per write' },
  { key: 'maxClients', type: 'int', default: 10000, min: 1, max: 1000000, help: 'maximum simultaneous RESP connections' },
  { key: 'maxBulkBytes', type: 'bytes', default: 64 * MiB, min: 1, max: 512 * MiB, help: 'largest bulk string a RESP request may declare' },
  { key: 'maxArgs', type: 'int', default: 100000, min: 1, max: 10000000, help: 'most arguments in one RESP command' },
  { key: 'maxInlineBytes', type: 'bytes', default: 64 * KiB, min: 16, max: 16 * MiB, help: 'longest inline (telnet-style) command line' },
  { key: 'maxQueryBufferBytes', type: 'bytes', default: 128 * MiB, min: 1 * KiB, max: 2048 * MiB, help: 'most unparsed input held for one client before it is disconnected' },
  { key: 'maxOutputBufferBytes', type: 'bytes', default: 256 * MiB, min: 1 * KiB, max: 4096 * MiB, help: 'most unsent reply bytes held for one client before it is disconnected' },
  { key: 'maxMultiCommands', type: 'int', default: 100000, min: 1, max: 100000000, help: 'most commands queued in one MULTI; one more aborts the transaction (EXEC answers EXECABORT)' },
  { key: 'maxMultiBytes', type: 'bytes', default: 64 * MiB, min: 1 * KiB, max: 4096 * MiB, help: 'most argument bytes queued in one MULTI; more aborts the transaction (EXEC answers EXECABORT)' },
  { key: 'partialFrameTimeoutMs', type: 'int', default: 30000, min: 100, max: 3600000, help: 'a client that leaves a request incomplete this long is disconnected (slowloris guard)' },
  { key: 'maxKeyBytes', type: 'bytes', default: 64 * KiB, min: 1, max: 64 * MiB, help: 'largest key' },
  { key: 'maxValueBytes', type: 'bytes', default: 64 * MiB, min: 1, max: 512 * MiB, help: 'largest value' },
  { key: 'maxBatchOps', type: 'int', default: 1000, min: 1, max: 1000000, help: 'most operations in one HTTP /v1/kv:batch request' },
  { key: 'maxHttpBodyBytes', type: 'bytes', default: 16 * MiB, min: 1 * KiB, max: 1024 * MiB, help: 'largest HTTP request body' },
  { key: 'httpForwardTimeoutMs', type: 'int', default: 10000, min: 100, max: 600000, help: 'an HTTP /v1 request this node forwards to the slot\'s primary (or a scan page from another shard) fails with 504 after this long' },
  { key: 'changeFeedMaxStreams', type: 'int', default: 64, min: 1, max: 100000, help: 'most GET /v1/changes streams this node serves at once; one more gets 429 too_many_streams' },
  { key: 'changeFeedPageEvents', type: 'int', default: 1000, min: 1, max: 1000000, help: 'most change events a /v1/changes stream writes before it yields to other work (then waits for the socket to drain)' },
  { key: 'changeFeedKeepaliveMs', type: 'int', default: 15000, min: 100, max: 3600000, help: 'an idle /v1/changes stream gets an SSE comment this often, so proxies keep it open' },
  { key: 'maxScanLimit', type: 'int', default: 10000, min: 1, max: 1000000, help: 'largest page of /v1/scan and SCAN COUNT honoured' },
  { key: 'slowlogLogSlowerThan', type: 'int', default: 10000, min: -1, max: 2147483647, help: 'commands that run at least this many microseconds enter the slow log (0: every command, -1: none); Redis\'s slowlog-log-slower-than, also CONFIG SET' },
  { key: 'slowlogMaxLen', type: 'int', default: 128, min: 0, max: 1000000, help: 'most slow log entries kept (the oldest go first); Redis\'s slowlog-max-len, also CONFIG SET' },
  { key: 'latencyMonitorThreshold', type: 'int', default: 0, min: 0, max: 86400000, help: 'commands that run at least this many milliseconds are LATENCY events (0: monitor off); Redis\'s latency-monitor-threshold, also CONFIG SET' },
  { key: 'notifyKeyspaceEvents', type: 'string', default: '', help: 'keyspace notifications: Redis\'s notify-keyspace-events letters (K E g $ x n A ...; empty: off), also CONFIG SET' },
  { key: 'pubsubOutputBufferHardBytes', type: 'bytes', default: 32 * MiB, min: 0, max: 4096 * MiB, help: 'a Pub/Sub subscriber with this many unsent bytes is disconnected at once (0: no hard limit); Redis\'s client-output-buffer-limit pubsub hard limit, also CONFIG SET' },
  { key: 'pubsubOutputBufferSoftBytes', type: 'bytes', default: 8 * MiB, min: 0, max: 4096 * MiB, help: 'a Pub/Sub subscriber over this many unsent bytes for longer than pubsubOutputBufferSoftSeconds is disconnected (0: no soft limit); also CONFIG SET' },
  { key: 'pubsubPeerBacklogBytes', type: 'bytes', default: 8 * MiB, min: 64 * KiB, max: 1024 * MiB, help: 'most PUBLISH/SPUBLISH bytes waiting for one peer node on the cluster bus; more are dropped and counted (best-effort delivery, as Redis)' },
  { key: 'pubsubOutputBufferSoftSeconds', type: 'int', default: 60, min: 0, max: 86400, help: 'how long a Pub/Sub subscriber may stay over the soft output-buffer limit; also CONFIG SET' },
  { key: 'compression', type: 'enum', default: 'zlib', values: ['none', 'zlib', 'brotli'], help: 'compression for values above the threshold' },
  { key: 'compressionThresholdBytes', type: 'bytes', default: 1 * KiB, min: 0, max: 512 * MiB, help: 'values at least this large are stored compressed' },
  // Encryption at rest (docs/security.md): values, the replication log and archive/backup objects.
  { key: 'encryptionKeyFile', type: 'string', default: '', help: 'encryption at rest: keyring file, one "<key-id> <base64 32-byte key>" a line, the last line the active key; values, replication log batches and archive segments are stored AES-256-GCM encrypted (keys are not); every node of a cluster reads the same keys; empty: off' },
  { key: 'encryptionKeyFileCheckMs', type: 'int', default: 1000, min: 0, max: 3600000, help: 'how often the encryption keyring file is checked for changes and reloaded (a file that does not parse is logged and the loaded keys kept; 0: only at start)' },
  { key: 'reencryptBatchKeys', type: 'int', default: 200, min: 1, max: 100000, help: 'rows one re-encrypt step rewrites in one short transaction (irisctl re-encrypt); smaller: shorter event-loop pauses' },
  { key: 'reencryptVacuumMaxBytes', type: 'bytes', default: 64 * MiB, min: 0, max: 1024 * 1024 * MiB, help: 'irisctl re-encrypt ends with a VACUUM (no old plaintext left in free pages) for databases up to this size; it pauses the node for its duration (about 1.3 s per 100 MiB), keep it below heartbeatMs x failureThreshold on primaries; 0: never' },
  { key: 'readCacheEntries', type: 'int', default: 100000, min: 0, max: 100000000, help: 'values kept in an in-memory LRU in front of SQLite: those read, and those written by SET-like commands while there is room (write-through; a write never evicts, and unread written values go first) (0: no cache)' },
  { key: 'readCacheBytes', type: 'bytes', default: 64 * MiB, min: 0, max: 64 * 1024 * MiB, help: 'most bytes of values the read cache holds' },
  { key: 'readCacheAbsentKeys', type: 'bool', default: true, help: 'yes (default): the read cache also remembers keys found not to exist (negative entries, each counted in readCacheEntries and in readCacheBytes as its key plus ~96 bytes), so a repeated GET of a missing key skips SQLite; every write path invalidates them as it does cached values; no: absent keys are looked up in SQLite every time' },
  { key: 'sqlitePageSize', type: 'enum', default: '4096', values: ['512', '1024', '2048', '4096', '8192', '16384', '32768', '65536'], help: 'SQLite page size of a NEW database file (an existing one keeps its own): every write puts at least one page into the WAL (docs/benchmarks.md, Storage knobs)' },
  { key: 'sqliteMmapBytes', type: 'bytes', default: 0, min: 0, max: 1024 * 1024 * MiB, help: 'bytes of the database file SQLite reads through mmap (0: off)' },
  { key: 'sqliteCacheBytes', type: 'bytes', default: 0, min: 0, max: 64 * 1024 * MiB, help: "SQLite's page cache of the node's connection, at least 1 MiB; 0 (default): a quarter of the container's memory limit (cgroup), or a sixteenth of the machine's memory without one, from 32 MiB to 1 GiB (INFO memory irisdb_sqlite_cache_bytes shows the size in use)" },
  { key: 'activeExpiryIntervalMs', type: 'int', default: 100, min: 1, max: 60000, help: 'how often the background cycle reclaims expired keys' },
  { key: 'activeExpiryMaxKeys', type: 'int', default: 500, min: 1, max: 1000000, help: 'most expired keys one cycle deletes' },
  { key: 'activeExpiryMaxMs', type: 'int', default: 5, min: 1, max: 1000, help: 'longest one expiry cycle may run' },
  { key: 'role', type: 'enum', default: 'primary', values: ['primary', 'replica'], help: 'replication role on first start (afterwards the role kept in the data directory, or set through /admin, wins unless --epoch is higher)' },
  { key: 'replicaOf', type: 'string', default: '', help: 'the primary to replicate from, as name@host:busPort (with --role replica)' },
  { key: 'epoch', type: 'int', default: 0, min: 0, max: 2147483647, help: 'shard epoch the role flags belong to; a node never goes back to an older epoch' },
  { key: 'replicas', type: 'string', default: '', help: 'comma-separated names of the replicas a primary waits for (minSyncReplicas counts only these)' },
  { key: 'minSyncReplicas', type: 'int', default: 1, min: 0, max: 16, help: 'replicas that must durably apply a write before it is acknowledged (capped at the number of declared replicas; 0 = asynchronous)' },
  { key: 'ackTimeoutMs', type: 'int', default: 2000, min: 10, max: 600000, help: 'a write not acknowledged by minSyncReplicas replicas in this time fails with NOREPLICAS (it may or may not survive a failover)' },
  { key: 'replBacklogOps', type: 'int', default: 1000000, min: 100, max: 1000000000, help: 'operations kept in the replication log for partial resyncs (older ones need a full resync)' },
  { key: 'archiveDestination', type: 'string', default: '', help: 'continuous log archiving: file:///path or s3://bucket/prefix (credentials from AWS_* variables) the primary stores its replication log in, as segments; empty: off (docs/backup.md)' },
  { key: 'archiveSegmentSeconds', type: 'int', default: 60, min: 1, max: 3600, help: 'a log archive segment is closed and stored at the latest this many seconds after its oldest write' },
  { key: 'archiveSegmentBytes', type: 'int', default: 16777216, min: 4096, max: 1073741824, help: 'a log archive segment is closed and stored once it holds this many bytes' },
  { key: 'backupVolume', type: 'string', default: '', help: 'the mount point of a backup volume (a PVC on Kubernetes) whose objects the admin API serves under /admin/backup-volume, so the operator reaches a pvc backup destination it cannot mount; empty: none (docs/backup.md)' },
  { key: 'backupVolumeMaxObjectBytes', type: 'int', default: 67108864, min: 4096, max: 1073741824, help: 'the largest object PUT /admin/backup-volume/object accepts (the operator writes manifests there)' },
  { key: 's3CredentialsDir', type: 'string', default: '', help: 'a directory with files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a mounted Secret), read again when they change, so rotating them needs no restart; wins over the AWS_* variables; empty: those variables (docs/backup.md)' },
  // Restore before a first start (node/bootstrap/restore-at-start.ts): the init container of a Kubernetes cluster with spec.bootstrap.fromBackup.
  { key: 'restoreFrom', type: 'string', default: '', help: 'set: load the data directory from the backup at this file:///path or s3://bucket/prefix (credentials from AWS_* variables), then the archived log, and exit without serving; only into a data directory without a database (docs/backup.md "On Kubernetes")' },
  { key: 'restoreBackupId', type: 'string', default: '', help: 'with --restore-from: the backup to load; empty: the newest complete one' },
  { key: 'restorePointInTime', type: 'string', default: '', help: 'with --restore-from: replay the archived log up to this RFC 3339 time (the backup must have finished by then); empty: all of it' },
  { key: 'restoreShard', type: 'string', default: '', help: 'with --restore-from: i/n, this node holds shard i of a new cluster of n shards (slots split evenly); empty: 0/1' },
  { key: 'restoreNode', type: 'string', default: '', help: 'with --restore-from: only the node of this name loads (its shard\'s first primary; the others exit at once and copy it by full resync); empty: any node' },
  { key: 'backupNice', type: 'int', default: 10, min: 0, max: 19, help: 'nice value of the process (in its own session, so its own CPU group under autogroup) that reads, digests, compresses and stores a backup snapshot (Linux), so clients and replication get the CPU first on a busy machine; 0: the node\'s own priority' },
  { key: 'backupCpuPercent', type: 'int', default: 10, min: 1, max: 100, help: 'CPU budget of a backup\'s snapshot process, in percent of one core: it measures its own CPU time and pauses to stay within it (in a pod\'s cgroup and under autogroup alike, unlike nice), so a backup takes longer and leaves the CPU to clients; 100: no budget (docs/backup.md "CPU budget")' },
  { key: 'digestIntervalMs', type: 'int', default: 3600000, min: 0, max: 604800000, help: 'how often a primary compares per-slot digests with its replicas and re-copies divergent slots (0: only on demand); a digest reads every key (about 3 s of CPU per million keys) in slices of digestSliceMs, so the node keeps serving meanwhile' },
  { key: 'digestSliceMs', type: 'int', default: 10, min: 1, max: 1000, help: 'longest time a digest job (periodic check, digest comparison, a replica answering one) holds the event loop before letting commands run; smaller: lower latency during digests, longer digests' },
  { key: 'replicaApplySliceMs', type: 'int', default: 10, min: 1, max: 1000, help: 'longest time a replica applies streamed log entries in one event-loop turn before letting commands and acknowledgements run (a burst that arrived in one read is applied and committed over several turns); smaller: lower latency on a replica during write bursts, more commits' },
  { key: 'replicaLoadSliceRows', type: 'int', default: 2000, min: 1, max: 100000, help: 'most snapshot rows a replica loads, and commits, in one event-loop turn during a full resync; a 128 KiB frame holds about 1,300 rows of 100 bytes and up to 10,000 of small ones, which are split over turns; smaller: shorter turns and commits on the new replica, more commits and a longer resync' },
  { key: 'walWaitBytes', type: 'bytes', default: 32 * MiB, min: 0, max: 1024 * 1024 * MiB, help: 'once the WAL holds this much, a full resync\'s load waits between slices for the checkpoint worker to copy it, so the next slice starts the log over; otherwise the WAL grows until SQLite checkpoints inside a load commit, on the event loop (40-230 ms each at 1M keys); the event loop stays free while it waits (0: never waits)' },
  { key: 'importSliceMs', type: 'int', default: 100, min: 1, max: 10000, help: 'longest time a primary applies bulk-import rows (PUT /v1/kv:import, irisctl import) in one event-loop turn; the requests of a turn share it, and past it they go on in later turns, each committed on its own, so a large import never holds the node long enough to miss heartbeats; larger: more rows per commit (fewer WAL writes per key), longer pauses for other clients' },
  // Tracing (docs/tracing.md): off unless an endpoint is set here or in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
  { key: 'otelExporterOtlpEndpoint', type: 'string', default: '', help: 'OpenTelemetry tracing: OTLP/HTTP endpoint the node exports spans to (e.g. http://otel-collector:4318; /v1/traces is appended); empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT if set, else tracing is off' },
  { key: 'otelServiceName', type: 'string', default: '', help: 'service.name of the node\'s spans; empty: OTEL_SERVICE_NAME, else irisdb-node' },
  { key: 'otelTracesSamplerArg', type: 'string', default: '', help: 'fraction (0 to 1) of commands and requests without a sampled traceparent that are traced; empty: OTEL_TRACES_SAMPLER_ARG, else 1 (all); a sampled incoming traceparent is always followed' },
  { key: 'shutdownTimeoutMs', type: 'int', default: 10000, min: 0, max: 600000, help: 'how long SIGTERM waits for clients to drain before closing them' },
  // A fault-injection knob for the crash-while-fenced tests, kept in the table so it is parsed and documented like any other.
  { key: 'testMigrationFenceHoldMs', type: 'int', default: 0, min: 0, max: 600000, help: 'TESTS ONLY, never set in production: a slot migration source holds its write fence this long before flipping, so a test can kill it while fenced (0: no hold)' },
];

/** "--http-port" for httpPort. */
export function flagName(def: Pick<SettingDef, 'key' | 'flag'>): string {
  return def.flag ?? '--' + def.key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** "IRIS_HTTP_PORT" for httpPort. */
export function envName(def: Pick<SettingDef, 'key' | 'env'>): string {
  return def.env ?? 'IRIS_' + def.key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}
