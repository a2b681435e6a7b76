/**
 * Whether the apply path should try a key's INSERT before looking it up
 * (issue #19). An upsert is either a lookup then an INSERT or UPDATE, or an
 * `INSERT … ON CONFLICT (key) DO NOTHING` first, with the lookup and UPDATE
 * only when the key was there. The second saves a B-tree seek per new key
 * (a bulk import, a replica applying one) and costs one per overwrite, so
 * it is chosen from what recent upserts found: a saturating count moved up
 * by each new key and down by each existing one. Pure: no I/O.
 */
export class InsertFirstEstimate {
  /** Recent new keys minus recent overwrites, within ±limit. */
  private score: number;

  constructor(private readonly limit = 16) {
    this.score = -limit;
  }

  /** True when recent upserts mostly created their key. */
  get insertFirst(): boolean {
    return this.score > 0;
  }

  /** An upsert found its key absent (true) or present (false). */
  record(created: boolean): void {
    if (created) {
      if (this.score < this.limit) this.score++;
    } else if (this.score > -this.limit) {
      this.score--;
    }
  }
}
