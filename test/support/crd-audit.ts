/**
 * The audit of every field of the IrisCluster and IrisBackup CRDs (issue #14
 * item 3): no field may be accepted and ignored. Each leaf of each schema is
 * here, either honoured (the operator file that uses it and the unit test
 * that shows it, both naming `token`), rejected at admission by a CEL rule of
 * a gate below, status the operator writes, or Kubernetes' own. Read by
 * test/unit/operator-crd-fields.test.ts (the table matches the schemas and
 * the rules exist) and test/e2e/iriscluster-crd.test.ts (the API server
 * refuses every gate's examples with its message).
 */

export type FieldAudit =
  /** The operator uses the field: `by` (a source file) and `test` (a unit test) both mention `token`. */
  | { readonly kind: 'honoured'; readonly by: string; readonly test: string; readonly token: string }
  /** Refused at admission by the CEL rule of GATES[gate]. */
  | { readonly kind: 'rejected'; readonly gate: string }
  /** Written by the operator through the status subresource (`by` mentions `token`), or by nothing yet (by null, with why). */
  | { readonly kind: 'status'; readonly by: string | null; readonly token: string }
  /** apiVersion, kind and metadata: the API server's own. */
  | { readonly kind: 'api' };

export type CrdKind = 'IrisCluster' | 'IrisBackup';

export interface Gate {
  readonly kind: CrdKind;
  /** Specs the API server must refuse, each with the gate's message. */
  readonly examples: ReadonlyArray<Record<string, unknown>>;
  /** The start of the rule's message. */
  readonly message: string;
}

/** The parts of the CRDs no operator honours yet, and how admission refuses them. */
export const GATES: Readonly<Record<string, Gate>> = {
  'spec.monitoring': {
    kind: 'IrisCluster',
    examples: [{ monitoring: { enabled: true } }, { monitoring: { enabled: true, serviceMonitor: true } }],
    message: 'spec.monitoring is not supported yet',
  },
};

const POD_TEMPLATE = 'operator/kube/build/pod-template.ts';
const POD_TEMPLATE_TEST = 'test/unit/operator-kube-pod-template.test.ts';
const SPEC = 'operator/kube/iris-cluster.ts';
const SPEC_TEST = 'test/unit/operator-kube-spec.test.ts';
const STATUS_VIEW = 'operator/kube/status-view.ts';
const BACKUP_STEP = 'operator/kube/backup/backup-step.ts';
const BACKUP_PLAN = 'operator/kube/backup/backup-plan.ts';
const BACKUP_DESTINATION = 'operator/kube/backup/destination.ts';
const BACKUP_SCHEDULE = 'operator/kube/backup/schedule-spec.ts';
const BACKUP_TEST = 'test/unit/operator-kube-backup.test.ts';
const BACKUP_BOOTSTRAP = 'operator/kube/backup/bootstrap-source.ts';
const BOOTSTRAP_DESTINATION_TEST = 'test/unit/operator-kube-bootstrap-destination.test.ts';
const SECURITY_TEST = 'test/unit/operator-kube-security.test.ts';

const honoured = (by: string, test: string, token: string): FieldAudit => ({ kind: 'honoured', by, test, token });
const rejected = (gate: string): FieldAudit => ({ kind: 'rejected', gate });
const status = (token: string, by: string | null = STATUS_VIEW): FieldAudit => ({ kind: 'status', by, token });
const API: FieldAudit = { kind: 'api' };

/** Every leaf of the IrisCluster schema ("[]": the items of an array). */
export const IRISCLUSTER_FIELDS: Readonly<Record<string, FieldAudit>> = {
  apiVersion: API,
  kind: API,
  'metadata.name': API,
  'spec.shards': honoured(SPEC, SPEC_TEST, 'shards'),
  'spec.replicasPerShard': honoured(SPEC, SPEC_TEST, 'replicasPerShard'),
  'spec.image': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'image'),
  'spec.imagePullPolicy': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'imagePullPolicy'),
  // At creation only: volumes are not resized, so a CEL transition rule refuses a change (e2e: iriscluster-crd.test.ts).
  'spec.storage.size': honoured('operator/kube/build/statefulset.ts', POD_TEMPLATE_TEST, 'size'),
  'spec.storage.storageClassName': honoured('operator/kube/build/statefulset.ts', POD_TEMPLATE_TEST, 'storageClassName'),
  'spec.resources.requests.cpu': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'resources'),
  'spec.resources.requests.memory': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'resources'),
  'spec.resources.limits.cpu': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'resources'),
  'spec.resources.limits.memory': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'resources'),
  'spec.replication.minSyncReplicas': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'minSyncReplicas'),
  'spec.replication.fsync': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'fsync'),
  'spec.replication.ackTimeoutMs': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'ackTimeoutMs'),
  'spec.replication.dataDurability': honoured(SPEC, SPEC_TEST, 'dataDurability'),
  'spec.failover.heartbeatMs': honoured(SPEC, SPEC_TEST, 'heartbeatMs'),
  'spec.failover.failureThreshold': honoured(SPEC, SPEC_TEST, 'failureThreshold'),
  'spec.backup.schedule': honoured(BACKUP_SCHEDULE, BACKUP_TEST, 'schedule'),
  'spec.backup.retention': honoured(BACKUP_SCHEDULE, BACKUP_TEST, 'retention'),
  'spec.backup.archive.enabled': honoured('operator/kube/build/backup-pod-parts.ts', BACKUP_TEST, 'archive'),
  'spec.backup.archive.segmentSeconds': honoured('operator/kube/build/backup-pod-parts.ts', BACKUP_TEST, 'segmentSeconds'),
  'spec.backup.destination.s3.bucket': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'bucket'),
  'spec.backup.destination.s3.prefix': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'prefix'),
  'spec.backup.destination.s3.endpoint': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'endpoint'),
  'spec.backup.destination.s3.region': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'region'),
  'spec.backup.destination.s3.secretRef.name': honoured('operator/kube/build/backup-pod-parts.ts', BACKUP_TEST, 'secretRef'),
  'spec.backup.destination.pvc.claimName': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'claimName'),
  'spec.backup.destination.pvc.path': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'path'),
  'spec.bootstrap.fromBackup.name': honoured(BACKUP_BOOTSTRAP, BACKUP_TEST, 'fromBackup'),
  'spec.bootstrap.fromBackup.pointInTime': honoured(BACKUP_BOOTSTRAP, BACKUP_TEST, 'pointInTime'),
  // A backup no IrisBackup of this namespace took (another namespace's, through S3 or a re-bound claim).
  'spec.bootstrap.fromBackup.backupId': honoured(BACKUP_BOOTSTRAP, BOOTSTRAP_DESTINATION_TEST, 'backupId'),
  'spec.bootstrap.fromBackup.destination.s3.bucket': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'bucket'),
  'spec.bootstrap.fromBackup.destination.s3.prefix': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'prefix'),
  'spec.bootstrap.fromBackup.destination.s3.endpoint': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'endpoint'),
  'spec.bootstrap.fromBackup.destination.s3.region': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'region'),
  'spec.bootstrap.fromBackup.destination.s3.secretRef.name': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'secretRef'),
  'spec.bootstrap.fromBackup.destination.pvc.claimName': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'claimName'),
  'spec.bootstrap.fromBackup.destination.pvc.path': honoured(BACKUP_DESTINATION, BOOTSTRAP_DESTINATION_TEST, 'path'),
  // spec.auth / spec.tls (issue #14): the pods' volumes and flags, and the Secrets the operator writes for them.
  'spec.auth.secretRef.name': honoured('operator/kube/build/auth-secret.ts', SECURITY_TEST, 'secretRef'),
  'spec.auth.secretRef.key': honoured('operator/kube/build/auth-secret.ts', SECURITY_TEST, 'key'),
  'spec.auth.aclSecretRef.name': honoured('operator/kube/build/auth-secret.ts', SECURITY_TEST, 'aclSecretRef'),
  'spec.auth.aclSecretRef.key': honoured('operator/kube/build/auth-secret.ts', SECURITY_TEST, 'aclSecretRef'),
  'spec.tls.enabled': honoured('operator/kube/build/tls-secret.ts', SECURITY_TEST, 'enabled'),
  'spec.tls.secretRef.name': honoured('operator/kube/build/tls-secret.ts', SECURITY_TEST, 'secretRef'),
  // spec.tls.certManager (issue #14): the cert-manager Certificate the operator owns.
  'spec.tls.certManager.issuerRef.name': honoured('operator/kube/build/cert-manager-certificate.ts', 'test/unit/operator-kube-cert-manager.test.ts', 'issuerRef'),
  'spec.tls.certManager.issuerRef.kind': honoured('operator/kube/build/cert-manager-certificate.ts', 'test/unit/operator-kube-cert-manager.test.ts', 'kind'),
  'spec.tls.certManager.issuerRef.group': honoured('operator/kube/build/cert-manager-certificate.ts', 'test/unit/operator-kube-cert-manager.test.ts', 'group'),
  'spec.tls.certManager.duration': honoured('operator/kube/build/cert-manager-certificate.ts', 'test/unit/operator-kube-cert-manager.test.ts', 'duration'),
  'spec.tls.certManager.renewBefore': honoured('operator/kube/build/cert-manager-certificate.ts', 'test/unit/operator-kube-cert-manager.test.ts', 'renewBefore'),
  // spec.encryption (issue #14): the keyring Secret mounted into every node pod (and the restore init container).
  'spec.encryption.keySecretRef.name': honoured('operator/kube/build/encryption-pod-parts.ts', 'test/unit/encryption-kube.test.ts', 'keySecretRef'),
  'spec.encryption.keySecretRef.key': honoured('operator/kube/build/encryption-pod-parts.ts', 'test/unit/encryption-kube.test.ts', 'keySecretRef'),
  'spec.monitoring.enabled': rejected('spec.monitoring'),
  'spec.monitoring.serviceMonitor': rejected('spec.monitoring'),
  'spec.scheduling.nodeSelector': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'nodeSelector'),
  'spec.scheduling.affinity': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'affinity'),
  'spec.scheduling.tolerations': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'tolerations'),
  'spec.scheduling.topologySpreadConstraints': honoured(POD_TEMPLATE, POD_TEMPLATE_TEST, 'topologySpreadConstraints'),
  'spec.paused': honoured('operator/kube/reconcile/pass-plan.ts', SPEC_TEST, 'paused'),
  'status.phase': status('phase'),
  'status.conditions[].type': status('type', 'operator/kube/reconcile/status.ts'),
  'status.conditions[].status': status('status', 'operator/kube/reconcile/status.ts'),
  'status.conditions[].observedGeneration': status('observedGeneration'),
  'status.conditions[].lastTransitionTime': status('lastTransitionTime'),
  'status.conditions[].reason': status('reason'),
  'status.conditions[].message': status('message'),
  'status.observedGeneration': status('observedGeneration'),
  'status.ready': status('ready'),
  'status.readyNodes': status('readyNodes'),
  'status.nodes': status('nodes'),
  'status.shards[].id': status('id'),
  'status.shards[].slots': status('slots'),
  'status.shards[].slotCount': status('slotCount'),
  'status.shards[].primary': status('primary'),
  'status.shards[].primaryUp': status('primaryUp'),
  'status.shards[].targetPrimary': status('targetPrimary'),
  'status.shards[].epoch': status('epoch'),
  'status.shards[].replicas[].name': status('name'),
  'status.shards[].replicas[].lagOps': status('lagOps'),
  'status.shards[].replicas[].lagMs': status('lagMs'),
  'status.shards[].replicas[].link': status('link'),
  'status.shards[].failover': status('failover'),
  'status.migration.operation': status('operation'),
  'status.migration.stage': status('stage'),
  'status.migration.movesDone': status('movesDone'),
  'status.migration.movesTotal': status('movesTotal'),
  'status.migration.slotsDone': status('slotsDone'),
  'status.migration.slotsTotal': status('slotsTotal'),
  'status.migration.keysMoved': status('keysMoved'),
  'status.lastBackup.name': status('lastBackup', BACKUP_STEP),
  'status.lastBackup.id': status('lastBackup', BACKUP_STEP),
  'status.lastBackup.phase': status('lastBackup', BACKUP_STEP),
  'status.lastBackup.time': status('lastBackup', BACKUP_STEP),
  'status.firstRecoverabilityPoint': status('firstRecoverabilityPoint', BACKUP_STEP),
  'status.lastArchivedTime': status('lastArchivedTime', BACKUP_STEP),
  'status.request.annotation': status('annotation', 'operator/kube/reconcile/requests.ts'),
  'status.request.phase': status('phase', 'operator/kube/reconcile/requests.ts'),
  'status.request.message': status('message', 'operator/kube/reconcile/requests.ts'),
  'status.request.operation': status('operation', 'operator/kube/reconcile/requests.ts'),
  'status.request.time': status('time', 'operator/kube/reconcile/requests.ts'),
  'status.tls.certificateNotAfter': status('certificateNotAfter', 'operator/kube/reconcile/tls-status.ts'),
  'status.tls.caNotAfter': status('caNotAfter', 'operator/kube/reconcile/tls-status.ts'),
  'status.tls.caRotation.phase': status('phase', 'operator/kube/reconcile/tls-status.ts'),
  'status.tls.caRotation.message': status('message', 'operator/kube/reconcile/tls-status.ts'),
  'status.tls.caRotation.reason': status('reason', 'operator/kube/reconcile/tls-status.ts'),
  'status.tls.caRotation.lastTransitionTime': status('lastTransitionTime', 'operator/kube/reconcile/tls-status.ts'),
  'status.controllerState': status('controllerState', 'operator/kube/state-store.ts'),
};

/** Every leaf of the IrisBackup schema (operator/kube/backup/, issue #15). */
export const IRISBACKUP_FIELDS: Readonly<Record<string, FieldAudit>> = {
  apiVersion: API,
  kind: API,
  metadata: API,
  'spec.cluster': honoured(BACKUP_STEP, BACKUP_TEST, 'cluster'),
  'spec.maxBytesPerSecond': honoured(BACKUP_STEP, 'test/e2e/backup-kube.test.ts', 'maxBytesPerSecond'),
  'spec.destination.s3.bucket': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'bucket'),
  'spec.destination.s3.prefix': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'prefix'),
  'spec.destination.s3.endpoint': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'endpoint'),
  'spec.destination.s3.region': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'region'),
  'spec.destination.s3.secretRef.name': honoured(BACKUP_STEP, BACKUP_TEST, 'secretRef'),
  'spec.destination.pvc.claimName': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'claimName'),
  'spec.destination.pvc.path': honoured(BACKUP_DESTINATION, BACKUP_TEST, 'path'),
  'status.phase': status('phase', BACKUP_PLAN),
  'status.backupId': status('backupId', BACKUP_PLAN),
  'status.destination': status('destination', BACKUP_PLAN),
  'status.shardsDone': status('shardsDone', BACKUP_PLAN),
  'status.shardsTotal': status('shardsTotal', BACKUP_PLAN),
  'status.shards': status('shards', BACKUP_PLAN),
  'status.startTime': status('startTime', BACKUP_PLAN),
  'status.completionTime': status('completionTime', BACKUP_PLAN),
  'status.message': status('message', BACKUP_PLAN),
  'status.bytes': status('bytes', BACKUP_PLAN),
  'status.keys': status('keys', BACKUP_PLAN),
};
