/**
 * Metadata (COMMAND INFO/DOCS, ACL categories) of IrisDB's own commands,
 * which Redis does not have; merged into COMMAND_META (meta.ts).
 */
import type { CommandMeta } from './meta.js';

export const IRIS_META: Readonly<Record<string, CommandMeta>> = {
  'iris.consistency': {
    arity: -1, flags: ['noscript', 'loading', 'stale', 'fast'], keys: [0, 0, 0], acl: ['fast', 'connection'], tips: [], keySpec: null,
    summary: "Sets or returns the connection's read consistency: strong (the primary confirms it still leads before each read is answered), default, or eventual (as READONLY)",
    since: '0.1.0', group: 'connection', complexity: 'O(1)',
  },
};
