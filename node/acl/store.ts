/**
 * The node's ACL users: authentication, ACL SETUSER/DELUSER, the aclfile
 * (ACL LOAD/SAVE) and the log. The "default" user is Redis's: with no
 * aclfile entry for it, it is on with every permission and requirePass as
 * its password (nopass when requirePass is empty). File I/O is injected.
 */
import { timingSafeEqual } from 'node:crypto';
import type { CommandCatalog } from './catalog.js';
import { parseAclFile, formatAclFile } from './aclfile.js';
import { applyRules, defaultUser, newUser, sha256Hex, type AclUser } from './user.js';
import { AclLog } from './log.js';
import { PatternMatchers } from './check.js';

export interface AclFileIo {
  read(path: string): string;
  /** Replaces the file atomically, readable by its owner only. */
  write(path: string, text: string): void;
}

export interface AclStoreOptions {
  readonly requirePass: string;
  /** Empty: no aclfile (ACL LOAD/SAVE refuse, as Redis does). */
  readonly aclfile: string;
  readonly logMaxLen: number;
  readonly io: AclFileIo;
}

export class AclError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AclError';
  }
}

function digestEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export class AclStore {
  private users = new Map<string, AclUser>();
  readonly log: AclLog;
  /** The compiled key and channel patterns every permission check of this store's users uses. */
  readonly matchers = new PatternMatchers();
  /** Bumped on every change: caches (the HTTP side) compare it. */
  version = 0;

  constructor(readonly catalog: CommandCatalog, private readonly opts: AclStoreOptions) {
    this.log = new AclLog(opts.logMaxLen);
    this.users.set('default', defaultUser(catalog, opts.requirePass));
    if (opts.aclfile !== '') this.load();
  }

  get aclfile(): string {
    return this.opts.aclfile;
  }

  get(name: string): AclUser | undefined {
    return this.users.get(name);
  }

  /** Users sorted by name (ACL USERS / LIST order). */
  all(): AclUser[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A fresh connection is authenticated as "default" when that user is on and needs no password. */
  defaultOpen(): boolean {
    const d = this.users.get('default');
    return d !== undefined && d.enabled && d.nopass;
  }

  /** The user `name` authenticated by `password`, or null (unknown, off, or wrong password). */
  authenticate(name: string, password: Buffer): AclUser | null {
    const u = this.users.get(name);
    const hash = sha256Hex(password);
    let ok = false;
    // Every stored digest is compared, so the time does not say which one matched.
    for (const p of u?.passwords ?? []) if (digestEqual(p, hash)) ok = true;
    if (u === undefined || !u.enabled) return null;
    return u.nopass || ok ? u : null;
  }

  /** ACL SETUSER: creates the user if needed; all rules apply or none (AclRuleError). */
  setUser(name: string, rules: readonly string[]): void {
    const current = this.users.get(name) ?? newUser(name);
    this.users.set(name, applyRules(current, rules, this.catalog));
    this.version++;
  }

  /** ACL DELUSER: how many existed; "default" cannot be removed. */
  delUsers(names: readonly string[]): number {
    if (names.includes('default')) throw new AclError("ERR The 'default' user cannot be removed");
    let n = 0;
    for (const name of names) if (this.users.delete(name)) n++;
    if (n > 0) this.version++;
    return n;
  }

  /** ACL LOAD: replaces every user with the file's; returns the names that are gone or changed (their clients must go). */
  load(): string[] {
    if (this.opts.aclfile === '') throw new AclError('ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.');
    const loaded = parseAclFile(this.opts.io.read(this.opts.aclfile), this.catalog);
    if (!loaded.has('default')) loaded.set('default', defaultUser(this.catalog, this.opts.requirePass));
    const changed: string[] = [];
    for (const [name, u] of this.users) {
      const next = loaded.get(name);
      if (next === undefined || formatAclFile([next]) !== formatAclFile([u])) changed.push(name);
    }
    this.users = loaded;
    this.version++;
    return changed;
  }

  /** ACL SAVE. */
  save(): void {
    if (this.opts.aclfile === '') throw new AclError('ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.');
    this.opts.io.write(this.opts.aclfile, formatAclFile(this.all()));
  }
}
