/**
 * Redis's aclfile format: one `user <name> <rule>...` line per user, blank
 * lines and lines starting with '#' ignored. Parsing is all-or-nothing, as
 * Redis's ACL LOAD: an error names the line and nothing is replaced.
 */
import type { CommandCatalog } from './catalog.js';
import { AclRuleError, applyRules, describeUser, newUser, type AclUser } from './user.js';

export class AclFileError extends Error {
  constructor(readonly line: number, message: string) {
    super(`/aclfile:${line}: ${message}`);
    this.name = 'AclFileError';
  }
}

const NAME_RE = /^[^\s]+$/;

export function parseAclFile(text: string, catalog: CommandCatalog): Map<string, AclUser> {
  const users = new Map<string, AclUser>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    if (words[0] !== 'user' || words.length < 2 || !NAME_RE.test(words[1]!)) {
      throw new AclFileError(i + 1, 'should start with user keyword followed by the username');
    }
    const name = words[1]!;
    if (users.has(name)) throw new AclFileError(i + 1, `Duplicate user '${name}' found`);
    try {
      users.set(name, applyRules(newUser(name), words.slice(2), catalog));
    } catch (err) {
      if (err instanceof AclRuleError) throw new AclFileError(i + 1, err.message);
      throw err;
    }
  }
  return users;
}

export function formatAclFile(users: Iterable<AclUser>): string {
  return [...users].map((u) => describeUser(u) + '\n').join('');
}
