/**
 * An ACL user and the ACL SETUSER rule language (Redis 7.0's root selector):
 * on/off, >pass, <pass, #hash, !hash, nopass, resetpass, +@cat, -@cat,
 * +cmd, -cmd, +cmd|sub, allcommands/nocommands, ~pattern, %R~/%W~/%RW~,
 * allkeys, resetkeys, &pattern, allchannels, resetchannels, reset. Pure:
 * rules are applied to plain data against a command catalogue.
 */
import { createHash } from 'node:crypto';
import { ACL_CATEGORIES, type CommandCatalog } from './catalog.js';

export interface KeyPattern {
  readonly pattern: string;
  readonly read: boolean;
  readonly write: boolean;
}

export interface AclUser {
  readonly name: string;
  enabled: boolean;
  nopass: boolean;
  /** SHA-256 hex digests, in the order added. */
  passwords: string[];
  /** Full names of the commands the user may run. */
  allowed: Set<string>;
  /** +@all / allcommands: commands added later are allowed too (and the rules describe as "+@all"). */
  allCommands: boolean;
  /** Command rules after the last +@all/-@all, as written (Redis 7.2's description). */
  commandRules: string[];
  allKeys: boolean;
  keys: KeyPattern[];
  allChannels: boolean;
  channels: string[];
  /** Set by reset / (skip-)sanitize-payload; shown in the flags as Redis does. */
  sanitizePayload: 'sanitize-payload' | 'skip-sanitize-payload' | null;
}

/** A rule Redis refuses, with its reason (the text after "modifier '…': "). */
export class AclRuleError extends Error {
  constructor(readonly rule: string, readonly reason: string) {
    super(`Error in ACL SETUSER modifier '${rule}': ${reason}`);
    this.name = 'AclRuleError';
  }
}

const SYNTAX = 'Syntax error';
const UNKNOWN = 'Unknown command or category name in ACL';

export function sha256Hex(password: Buffer | string): string {
  return createHash('sha256').update(password).digest('hex');
}

/** A new user as ACL SETUSER creates it: off, no passwords, no commands, no keys, no channels (acl-pubsub-default resetchannels). */
export function newUser(name: string): AclUser {
  return {
    name, enabled: false, nopass: false, passwords: [], allowed: new Set(), allCommands: false, commandRules: [],
    allKeys: false, keys: [], allChannels: false, channels: [], sanitizePayload: null,
  };
}

export function cloneUser(u: AclUser): AclUser {
  return { ...u, passwords: [...u.passwords], allowed: new Set(u.allowed), commandRules: [...u.commandRules], keys: [...u.keys], channels: [...u.channels] };
}

/** Redis's "default" user with no ACL configured: on, every command, key and channel; nopass unless `password` is set. */
export function defaultUser(catalog: CommandCatalog, password: string): AclUser {
  const u = newUser('default');
  for (const r of ['on', '~*', '&*', '+@all', password === '' ? 'nopass' : `>${password}`]) applyRule(u, r, catalog);
  return u;
}

function commandsOfCategory(catalog: CommandCatalog, cat: string): string[] {
  return catalog.all().filter((c) => c.categories.includes(cat)).map((c) => c.fullname);
}

function setCommand(u: AclUser, catalog: CommandCatalog, fullname: string, allow: boolean): void {
  const cmd = catalog.get(fullname)!;
  for (const n of [fullname, ...cmd.subcommands]) {
    if (allow) u.allowed.add(n);
    else u.allowed.delete(n);
  }
}

/** 7.2's bookkeeping: a later +cmd/-cmd replaces an earlier rule for the same command. */
function recordCommandRule(u: AclUser, rule: string, isCategory: boolean): void {
  if (!isCategory) {
    const name = rule.slice(1);
    u.commandRules = u.commandRules.filter((r) => r.slice(1) !== name);
  }
  u.commandRules.push(rule);
}

function applyCommandRule(u: AclUser, rule: string, catalog: CommandCatalog): void {
  const allow = rule[0] === '+';
  const body = rule.slice(1).toLowerCase();
  if (body === '@all') {
    for (const c of catalog.all()) {
      if (allow) u.allowed.add(c.fullname);
      else u.allowed.delete(c.fullname);
    }
    u.allCommands = allow;
    u.commandRules = [];
    return;
  }
  if (body.startsWith('@')) {
    const cat = body.slice(1);
    if (!ACL_CATEGORIES.includes(cat)) throw new AclRuleError(rule, UNKNOWN);
    for (const n of commandsOfCategory(catalog, cat)) {
      if (allow) u.allowed.add(n);
      else u.allowed.delete(n);
    }
    recordCommandRule(u, (allow ? '+@' : '-@') + cat, true);
    return;
  }
  const cmd = catalog.get(body);
  if (cmd === undefined) throw new AclRuleError(rule, UNKNOWN);
  setCommand(u, catalog, body, allow);
  recordCommandRule(u, (allow ? '+' : '-') + body, false);
}

const KEY_AFTER_ALL = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const CHANNEL_AFTER_ALL = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";

function addKeyPattern(u: AclUser, rule: string): void {
  if (rule === '~*') {
    u.allKeys = true;
    u.keys = [];
    return;
  }
  // As Redis: a pattern after allkeys is refused before the pattern itself is parsed.
  if (u.allKeys) throw new AclRuleError(rule, KEY_AFTER_ALL);
  let read = true;
  let write = true;
  let pattern: string;
  if (rule[0] === '%') {
    const tilde = rule.indexOf('~');
    if (tilde < 2) throw new AclRuleError(rule, SYNTAX);
    read = false;
    write = false;
    for (const ch of rule.slice(1, tilde).toUpperCase()) {
      if (ch === 'R' && !read) read = true;
      else if (ch === 'W' && !write) write = true;
      else throw new AclRuleError(rule, SYNTAX);
    }
    pattern = rule.slice(tilde + 1);
  } else {
    pattern = rule.slice(1);
  }
  // Only "~*" (and allkeys) mean every key; "%RW~*" is an ordinary pattern, as in Redis 7.0.
  const i = u.keys.findIndex((k) => k.pattern === pattern);
  if (i >= 0) {
    const k = u.keys[i]!;
    u.keys[i] = { pattern, read: k.read || read, write: k.write || write };
  } else {
    u.keys.push({ pattern, read, write });
  }
}

function addPassword(u: AclUser, hash: string): void {
  if (!u.passwords.includes(hash)) u.passwords.push(hash);
  u.nopass = false;
}

function removePassword(u: AclUser, rule: string, hash: string): void {
  const i = u.passwords.indexOf(hash);
  if (i < 0) throw new AclRuleError(rule, 'The password you are trying to remove from the user does not exist');
  u.passwords.splice(i, 1);
}

const HASH_RE = /^[0-9a-f]{64}$/;
const BAD_HASH = 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters';

/** Applies one ACL SETUSER rule to `u` in place; throws AclRuleError as redis-server refuses it. */
export function applyRule(u: AclUser, rule: string, catalog: CommandCatalog): void {
  const lower = rule.toLowerCase();
  switch (lower) {
    case 'on': u.enabled = true; return;
    case 'off': u.enabled = false; return;
    case 'nopass': u.nopass = true; u.passwords = []; return;
    case 'resetpass': u.nopass = false; u.passwords = []; return;
    case 'allkeys': u.allKeys = true; u.keys = []; return;
    case 'resetkeys': u.allKeys = false; u.keys = []; return;
    case 'allchannels': u.allChannels = true; u.channels = []; return;
    case 'resetchannels': u.allChannels = false; u.channels = []; return;
    case 'allcommands': applyCommandRule(u, '+@all', catalog); return;
    case 'nocommands': applyCommandRule(u, '-@all', catalog); return;
    // IrisDB has no RESTORE payload sanitising choice to make; the flag is kept for ACL LIST/GETUSER.
    case 'sanitize-payload': u.sanitizePayload = 'sanitize-payload'; return;
    case 'skip-sanitize-payload': u.sanitizePayload = 'skip-sanitize-payload'; return;
    case 'reset':
      for (const r of ['resetpass', 'resetkeys', 'resetchannels', 'off', '-@all', 'sanitize-payload']) applyRule(u, r, catalog);
      return;
    default: break;
  }
  const c = rule[0];
  if (c === '>') { addPassword(u, sha256Hex(Buffer.from(rule.slice(1), 'utf8'))); return; }
  if (c === '<') { removePassword(u, rule, sha256Hex(Buffer.from(rule.slice(1), 'utf8'))); return; }
  if (c === '#' || c === '!') {
    const hash = rule.slice(1);
    if (!HASH_RE.test(hash)) throw new AclRuleError(rule, BAD_HASH);
    if (c === '#') addPassword(u, hash);
    else removePassword(u, rule, hash);
    return;
  }
  if (c === '~' || c === '%') { addKeyPattern(u, rule); return; }
  if (c === '&') {
    const p = rule.slice(1);
    if (p === '*') { u.allChannels = true; u.channels = []; return; }
    if (u.allChannels) throw new AclRuleError(rule, CHANNEL_AFTER_ALL);
    if (!u.channels.includes(p)) u.channels.push(p);
    return;
  }
  if ((c === '+' || c === '-') && rule.length > 1) { applyCommandRule(u, rule, catalog); return; }
  throw new AclRuleError(rule, SYNTAX);
}

/** Applies a rule list atomically: `u` is unchanged if any rule is refused. Returns the updated copy. */
export function applyRules(u: AclUser, rules: readonly string[], catalog: CommandCatalog): AclUser {
  const copy = cloneUser(u);
  for (const r of rules) applyRule(copy, r, catalog);
  return copy;
}

export function describeKeys(u: AclUser): string {
  if (u.allKeys) return '~*';
  // "%RW~*" stays so: written as "~*" (as Redis does) it would read back as allkeys and refuse the patterns after it.
  return u.keys.map((k) => (k.read && k.write ? (k.pattern === '*' ? '%RW~' : '~') : k.read ? '%R~' : '%W~') + k.pattern).join(' ');
}

export function describeChannels(u: AclUser): string {
  if (u.allChannels) return '&*';
  return ['resetchannels', ...u.channels.map((c) => '&' + c)].join(' ');
}

export function describeCommands(u: AclUser): string {
  return [u.allCommands ? '+@all' : '-@all', ...u.commandRules].join(' ');
}

/** GETUSER's flags, in Redis's order: on/off, nopass, (skip-)sanitize-payload. */
export function userFlags(u: AclUser): string[] {
  const flags = [u.enabled ? 'on' : 'off'];
  if (u.nopass) flags.push('nopass');
  if (u.sanitizePayload !== null) flags.push(u.sanitizePayload);
  return flags;
}

/** ACL LIST's line (and the aclfile's): "user alice on #… ~k:* resetchannels -@all +get". */
export function describeUser(u: AclUser): string {
  const parts = ['user', u.name, u.enabled ? 'on' : 'off'];
  parts.push(...userFlags(u).slice(1));
  for (const p of u.passwords) parts.push('#' + p);
  const keys = describeKeys(u);
  if (keys !== '') parts.push(keys);
  parts.push(describeChannels(u), describeCommands(u));
  return parts.join(' ');
}
