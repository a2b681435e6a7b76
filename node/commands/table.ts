/** The command table: every family's CommandSpec list merged, looked up case-insensitively. */
import type { CommandSpec, CommandTable } from './types.js';
import { stringCommands } from './strings.js';
import { rangeCommands } from './strings-range.js';
import { renameCommands } from './keys-rename.js';
import { bitCommands } from './bits.js';
import { bitopCommands } from './bitop.js';
import { lcsCommands } from './lcs.js';
import { keyCommands } from './keys.js';
import { connectionCommands } from './connection.js';
import { serverCommands } from './server.js';
import { clusterCommands } from './cluster.js';
import { transactionCommands } from './transactions.js';
import { roleCommands } from './role.js';
import { slowlogCommand } from './slowlog.js';
import { latencyCommand } from './latency.js';
import { pubsubCommands } from './pubsub.js';
import { bitfieldCommands } from './bitfield.js';
import { dumpCommands } from './dump.js';
import { objectCommand } from './object.js';
import { memoryCommand } from './memory.js';
import { functionCommand, scriptCommand } from './scripting-flush.js';
import { aclCommand } from './acl-whoami.js';
import { readConsistencyCommands } from './read-consistency-command.js';

export function createCommandTable(): CommandTable {
  const specs: CommandSpec[] = [
    ...stringCommands, ...rangeCommands, ...keyCommands, ...renameCommands, ...bitCommands, ...bitopCommands, ...lcsCommands, ...connectionCommands,
    ...serverCommands, ...clusterCommands, ...transactionCommands, ...roleCommands,
    slowlogCommand, latencyCommand,
    ...pubsubCommands,
    ...bitfieldCommands, ...dumpCommands, objectCommand, memoryCommand, functionCommand, scriptCommand, aclCommand,
    ...readConsistencyCommands,
  ];
  const byName = new Map<string, CommandSpec>();
  for (const spec of specs) {
    if (byName.has(spec.name)) throw new Error(`command '${spec.name}' defined twice`);
    byName.set(spec.name, spec);
  }
  return {
    lookup: (name) => byName.get(name) ?? byName.get(name.toLowerCase()),
    all: () => specs,
  };
}
