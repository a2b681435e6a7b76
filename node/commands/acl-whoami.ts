/**
 * ACL WHOAMI. IrisDB has one user, `default` (requirepass is its password),
 * so every connection that may run commands is `default`.
 */
import { bulk } from '../resp/reply.js';
import type { CommandSpec } from './types.js';
import { defineCommand } from './meta.js';

export const aclCommand: CommandSpec = defineCommand('acl', undefined, [
  defineCommand('acl|whoami', () => bulk('default')),
]);
