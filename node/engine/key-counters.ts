/**
 * The apply path's key counters (keys, keys with an expiry, keys deleted as
 * expired) kept in memory, so INFO, DBSIZE and the metrics never COUNT(*)
 * the table. A rolled-back turn or atomically() block puts them back to a
 * mark taken at its start. meta.key_count follows the committed key count.
 */
import type { PriorRow } from './row-upsert.js';

export interface CounterMark {
  readonly keys: number;
  readonly expiring: number;
  readonly expired: number;
}

export class KeyCounters {
  private keysValue: number;
  private expiringValue: number;
  private expiredValue = 0;
  /** meta.key_count as committed. */
  private stored: number;
  // The turn's start, in fields rather than a CounterMark: a turn begins on every write batch.
  private keysAtBegin = 0;
  private expiringAtBegin = 0;
  private expiredAtBegin = 0;

  constructor(keys: number, expiring: number) {
    this.keysValue = keys;
    this.expiringValue = expiring;
    this.stored = keys;
  }

  get keys(): number {
    return this.keysValue;
  }

  get expiring(): number {
    return this.expiringValue;
  }

  /** Keys deleted because they had expired, since open. */
  get expired(): number {
    return this.expiredValue;
  }

  mark(): CounterMark {
    return { keys: this.keysValue, expiring: this.expiringValue, expired: this.expiredValue };
  }

  restore(m: CounterMark): void {
    this.keysValue = m.keys;
    this.expiringValue = m.expiring;
    this.expiredValue = m.expired;
  }

  turnBegan(): void {
    this.keysAtBegin = this.keysValue;
    this.expiringAtBegin = this.expiringValue;
    this.expiredAtBegin = this.expiredValue;
  }

  turnRolledBack(): void {
    this.keysValue = this.keysAtBegin;
    this.expiringValue = this.expiringAtBegin;
    this.expiredValue = this.expiredAtBegin;
  }

  /** meta.key_count as the last committed turn left it. */
  get storedKeyCount(): number {
    return this.stored;
  }

  /** The key count meta.key_count must take before the turn commits, or null if it has not changed. */
  keyCountToStore(): number | null {
    return this.keysValue !== this.stored ? this.keysValue : null;
  }

  committed(): void {
    this.stored = this.keysValue;
  }

  /** A row was inserted or replaced (what it was: PriorRow) with this expiry. */
  upserted(prior: PriorRow, expiresAt: number | null): void {
    if (prior === 'absent') this.keysValue++;
    else if (prior === 'expiring') this.expiringValue--;
    if (expiresAt !== null) this.expiringValue++;
  }

  removed(hadExpiry: boolean): void {
    this.keysValue--;
    if (hadExpiry) this.expiringValue--;
  }

  /** A removed key had expired (lazily on access or by the active cycle). */
  expiredOne(): void {
    this.expiredValue++;
  }

  expiryChanged(old: number | null, next: number | null): void {
    if (old !== null) this.expiringValue--;
    if (next !== null) this.expiringValue++;
  }

  clearedAll(): void {
    this.keysValue = 0;
    this.expiringValue = 0;
  }
}
