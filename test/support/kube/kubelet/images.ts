/**
 * What "running an image" means for the test kubelet: the project's images
 * map to its built entry points, run with this machine's node. Container
 * command/args follow Docker + Kubernetes rules: `command` replaces the
 * image's entrypoint, `args` replace its default arguments. A command that
 * names one of the image's binaries (by name or path, e.g. `irisdb-node` or
 * `/usr/local/bin/irisdb-node`) runs that entry point.
 *
 * Any other image runs its `command` as a host command (enough for test pods
 * like `busybox` with `sh -c ...`); without a command it cannot start.
 */
import path from 'node:path';
import type { V1Container } from '@kubernetes/client-node';

export interface ImageEntry {
  /** Matches the image reference without registry or tag, e.g. "irisdb/node". */
  repository: string;
  entrypoint: string[];
  /** Default arguments (Docker CMD). */
  cmd: string[];
  /** Executables of the image that a pod's `command` may name. */
  binaries: Record<string, string[]>;
  /** The host directory holding the image's files: it stays visible in the container even under a volume mounted over a parent (an emptyDir on /tmp). */
  root?: string;
}

export function defaultImageTable(repoRoot: string, nodeBinary: string): ImageEntry[] {
  const storageNode = [nodeBinary, path.join(repoRoot, 'dist/node/main.js')];
  // The operator's entry point (issue 7); the image is usable once it is built.
  const operator = [nodeBinary, path.join(repoRoot, 'dist/operator/main.js')];
  return [
    { repository: 'irisdb/node', entrypoint: storageNode, cmd: [], binaries: { 'irisdb-node': storageNode, node: [nodeBinary] }, root: repoRoot },
    { repository: 'irisdb/operator', entrypoint: operator, cmd: [], binaries: { 'irisdb-operator': operator, node: [nodeBinary] }, root: repoRoot },
  ];
}

/** "registry.example:5000/irisdb/node:1.2@sha256:..." → "irisdb/node". */
export function imageRepository(image: string): string {
  let ref = image.split('@')[0] ?? '';
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  const parts = ref.split('/');
  // A first component with a dot or port, or "localhost", is a registry host.
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) parts.shift();
  if (parts.length === 2 && parts[0] === 'library') parts.shift();
  return parts.join('/');
}

export type ResolvedCommand = { argv: string[] } | { error: string };

export function resolveCommand(container: Pick<V1Container, 'image' | 'command' | 'args'>, table: readonly ImageEntry[]): ResolvedCommand {
  const image = container.image ?? '';
  const repo = imageRepository(image);
  const entry = table.find((e) => e.repository === repo);
  const command = container.command ?? [];
  const args = container.args;
  if (entry === undefined) {
    if (command.length === 0) return { error: `image ${image} is not in the test kubelet's image table and the container has no command` };
    return { argv: [...command, ...(args ?? [])] };
  }
  if (command.length === 0) return { argv: [...entry.entrypoint, ...(args ?? entry.cmd)] };
  const bin = entry.binaries[path.basename(command[0]!)];
  const head = bin ?? [command[0]!];
  return { argv: [...head, ...command.slice(1), ...(args ?? [])] };
}
