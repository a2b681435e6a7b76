/** A running irisdb-node with an ioredis client connected to it, for integration suites. */
import { Redis } from 'ioredis';
import { startNode, type NodeOptions, type RunningNode } from './node-process.js';

export interface NodeWithClient {
  readonly node: RunningNode;
  readonly redis: Redis;
}

/**
 * Registers before/after hooks in the calling describe(): start a node (with
 * `opts`) and connect ioredis to it; afterwards disconnect and stop the node.
 * The returned object reads them, so use it inside hooks and tests only.
 */
export function useNodeWithClient(opts: NodeOptions = {}): NodeWithClient {
  let node: RunningNode;
  let redis: Redis;
  before(async () => {
    node = await startNode(opts);
    redis = new Redis({ port: node.port, host: '127.0.0.1' });
  });
  after(async () => {
    redis.disconnect();
    await node.stop();
  });
  return {
    get node() {
      return node;
    },
    get redis() {
      return redis;
    },
  };
}
