/**
 * A container's environment, the way the kubelet builds it: envFrom first,
 * then env in order, each value expanded against the variables defined
 * before it ($(VAR), $$ for a literal $; unknown references stay as they
 * are), downward-API fieldRef / resourceFieldRef values, ConfigMap and
 * Secret keys. Pure: the caller fetches the ConfigMaps and Secrets.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface EnvContext {
  podIP: string;
  hostIP: string;
  /** ConfigMap name → data; Secret name → decoded data. Missing means not found. */
  configMaps: ReadonlyMap<string, Record<string, string>>;
  secrets: ReadonlyMap<string, Record<string, string>>;
}

export interface ResolvedEnv {
  env: Record<string, string>;
  /** Problems that keep the container from starting (CreateContainerConfigError). */
  errors: string[];
}

/** Expands $(VAR) references as Kubernetes does; `$$` is an escaped `$`. */
export function expand(input: string, vars: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const nx = input[i + 1];
    if (nx === '$') {
      out += '$';
      i++;
    } else if (nx === '(') {
      const end = input.indexOf(')', i + 2);
      if (end < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, end);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : input.slice(i, end + 1);
      i = end;
    } else {
      out += ch;
    }
  }
  return out;
}

/** metadata.labels['a'] style paths. */
function mapField(path: string, prefix: string, map: Record<string, string> | undefined): string | undefined {
  if (!path.startsWith(`${prefix}['`) || !path.endsWith("']")) return undefined;
  return map?.[path.slice(prefix.length + 2, -2)] ?? '';
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}="${map![k]}"`).join('\n');
}

export function fieldRefValue(pod: V1Pod, fieldPath: string, ctx: Pick<EnvContext, 'podIP' | 'hostIP'>): string | undefined {
  const md = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name': return md.name ?? '';
    case 'metadata.namespace': return md.namespace ?? 'default';
    case 'metadata.uid': return md.uid ?? '';
    case 'metadata.labels': return formatMap(md.labels);
    case 'metadata.annotations': return formatMap(md.annotations);
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? 'default';
    case 'status.hostIP': case 'status.hostIPs': return ctx.hostIP;
    case 'status.podIP': case 'status.podIPs': return ctx.podIP;
    default:
      return mapField(fieldPath, 'metadata.labels', md.labels) ?? mapField(fieldPath, 'metadata.annotations', md.annotations);
  }
}

const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A resource quantity ("500m", "1Gi", "2") as a number; undefined when malformed. */
export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (m === null || !(m[2]! in SUFFIX)) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n * SUFFIX[m[2]!]! : undefined;
}

/** resourceFieldRef: limits fall back to the node's allocatable, as in the kubelet. */
function resourceValue(container: V1Container, resource: string, divisor: string | number | undefined, nodeAllocatable: Record<string, number>): string | undefined {
  const [kind, name] = resource.split('.') as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || name === undefined) return undefined;
  const set = (kind === 'limits' ? container.resources?.limits : container.resources?.requests) as Record<string, string | number> | undefined;
  const raw = set?.[name];
  const value = raw !== undefined ? parseQuantity(raw) : kind === 'limits' ? nodeAllocatable[name] : 0;
  const div = parseQuantity(divisor ?? 1);
  if (value === undefined || div === undefined || div <= 0) return undefined;
  return String(Math.ceil(value / div));
}

export const NODE_ALLOCATABLE: Record<string, number> = { cpu: 2, memory: 8 * 2 ** 30, 'ephemeral-storage': 20 * 2 ** 30 };

export function resolveEnv(pod: V1Pod, container: V1Container, ctx: EnvContext): ResolvedEnv {
  const env: Record<string, string> = {};
  const errors: string[] = [];
  for (const src of container.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    if (src.configMapRef !== undefined) {
      const data = ctx.configMaps.get(src.configMapRef.name ?? '');
      if (data === undefined && src.configMapRef.optional !== true) errors.push(`configmap "${src.configMapRef.name}" not found`);
      for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
    }
    if (src.secretRef !== undefined) {
      const data = ctx.secrets.get(src.secretRef.name ?? '');
      if (data === undefined && src.secretRef.optional !== true) errors.push(`secret "${src.secretRef.name}" not found`);
      for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
    }
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      env[e.name] = expand(e.value ?? '', env);
      continue;
    }
    const vf = e.valueFrom;
    let value: string | undefined;
    if (vf.fieldRef !== undefined) {
      value = fieldRefValue(pod, vf.fieldRef.fieldPath, ctx);
      if (value === undefined) errors.push(`env ${e.name}: unsupported fieldRef ${vf.fieldRef.fieldPath}`);
    } else if (vf.resourceFieldRef !== undefined) {
      value = resourceValue(container, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor as string | undefined, NODE_ALLOCATABLE);
      if (value === undefined) errors.push(`env ${e.name}: unsupported resourceFieldRef ${vf.resourceFieldRef.resource}`);
    } else if (vf.configMapKeyRef !== undefined) {
      const ref = vf.configMapKeyRef;
      value = ctx.configMaps.get(ref.name ?? '')?.[ref.key];
      if (value === undefined && ref.optional !== true) errors.push(`env ${e.name}: key ${ref.key} of configmap "${ref.name}" not found`);
    } else if (vf.secretKeyRef !== undefined) {
      const ref = vf.secretKeyRef;
      value = ctx.secrets.get(ref.name ?? '')?.[ref.key];
      if (value === undefined && ref.optional !== true) errors.push(`env ${e.name}: key ${ref.key} of secret "${ref.name}" not found`);
    }
    if (value !== undefined) env[e.name] = value;
  }
  return { env, errors };
}

/** The ConfigMaps and Secrets a container's environment refers to. */
export function envReferences(container: V1Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const src of container.envFrom ?? []) {
    if (src.configMapRef?.name !== undefined) configMaps.add(src.configMapRef.name);
    if (src.secretRef?.name !== undefined) secrets.add(src.secretRef.name);
  }
  for (const e of container.env ?? []) {
    const n1 = e.valueFrom?.configMapKeyRef?.name;
    if (n1 !== undefined) configMaps.add(n1);
    const n2 = e.valueFrom?.secretKeyRef?.name;
    if (n2 !== undefined) secrets.add(n2);
  }
  return { configMaps, secrets };
}
