/**
 * The cluster's Services (docs/architecture.md §5): a headless one that gives every pod a
 * stable DNS identity (ready or not: a node that is catching up must still
 * be reachable by its peers), and a client Service over every node (cluster
 * clients follow MOVED from whichever node they reach). Pure.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { IrisCluster } from '../iris-cluster.js';
import { PORTS, clientServiceName, clusterLabels, clusterSelector, headlessServiceName } from '../names.js';
import { ownerReference } from './owner.js';

export function headlessService(cr: IrisCluster): V1Service {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: headlessServiceName(cluster), namespace: cr.metadata.namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)] },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: clusterSelector(cluster),
      ports: [
        { name: 'resp', port: PORTS.resp, targetPort: 'resp' },
        { name: 'http', port: PORTS.http, targetPort: 'http' },
        { name: 'bus', port: PORTS.bus, targetPort: 'bus' },
      ],
    },
  };
}

export function clientService(cr: IrisCluster): V1Service {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: clientServiceName(cluster), namespace: cr.metadata.namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)] },
    spec: {
      type: 'ClusterIP',
      selector: clusterSelector(cluster),
      ports: [
        { name: 'resp', port: PORTS.resp, targetPort: 'resp' },
        { name: 'http', port: PORTS.http, targetPort: 'http' },
      ],
    },
  };
}
