/**
 * The small interface between the platform-free controller and where nodes
 * run: child processes on loopback (local/) or StatefulSet pods (Kubernetes).
 * A node is known by its name; its address may change every time it starts.
 */
import type { ControllerState } from '../core/state.js';

export interface NodeEndpoint {
  /** Address clients and peers use (the pod IP, or 127.0.0.1). */
  readonly host: string;
  /** RESP port. */
  readonly port: number;
  /** RESP TLS port of a node serving plain and TLS side by side (`port` is then the plain one). */
  readonly tlsPort?: number;
  readonly busPort: number;
  /** Base URL of the node's HTTP API, e.g. http://127.0.0.1:8000 */
  readonly httpUrl: string;
}

export interface PlatformNode {
  readonly name: string;
  readonly shard: string;
  /** Known once the platform has placed the node (local: at once; Kubernetes: once the pod has an IP). */
  readonly endpoint: NodeEndpoint | null;
  /** The process (pod) exists and has not exited; it may still be starting. */
  readonly running: boolean;
  /** Times the platform restarted it after it exited. */
  readonly restarts: number;
  /** When its process last exited (ms since the epoch), or null. */
  readonly lastExitAt: number | null;
}

export interface Platform {
  /** Makes node `name` of shard `shard` exist and run (created, or restarted if it exited); resolves once it is placed. */
  ensureNode(name: string, shard: string): Promise<NodeEndpoint>;
  /** Stops the node gracefully and starts it again on the same data (Kubernetes: deletes the pod). */
  restartNode(name: string): Promise<void>;
  /** Stops the node (gracefully, then forcibly) and deletes it with its data. */
  deleteNode(name: string): Promise<void>;
  /** What the platform knows of every node it manages now. */
  nodes(): readonly PlatformNode[];
  /** Called as soon as the platform sees a node's process exit (faster than missed heartbeats). */
  onNodeExit(listener: (name: string) => void): void;
}

/** Where the controller keeps its state: written before it acts, read back on restart. */
export interface StateStore {
  load(): Promise<ControllerState | null>;
  save(state: ControllerState): Promise<void>;
}
