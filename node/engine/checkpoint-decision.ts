/**
 * What the checkpointer does after a worker pass (checkpointer.ts). Pure.
 *
 * A pass that leaves the WAL above restartFrames is normally followed at
 * once by another pass, or by a short catch-up on the engine's thread, so
 * that the log can start over. But while a long read transaction (a
 * backup's snapshot) pins the WAL, no pass can copy past that reader's
 * mark: the checkpointed count stays where it was, and passing again at
 * once only burns a core and fsyncs for nothing while clients are served.
 * Then the next pass waits for the normal interval.
 */
export type AfterPass = 'idle' | 'catch-up' | 'again';

export interface PassResult {
  /** Frames in the WAL. */
  readonly frames: number;
  /** Of those, copied into the database file. */
  readonly checkpointed: number;
}

export function afterPass(
  pass: PassResult,
  /** The previous pass's result (null: none yet). */
  previous: PassResult | null,
  /** Writes committed since this pass began. */
  writesSincePass: number,
  opts: { readonly restartFrames: number; readonly catchUpMaxWrites: number },
): AfterPass {
  if (pass.frames <= opts.restartFrames) return 'idle';
  // The same WAL (it did not restart: no fewer frames) and not one more frame copied: a reader pins it.
  const stuck = previous !== null && pass.frames >= previous.frames && pass.checkpointed <= previous.checkpointed && pass.checkpointed < pass.frames;
  if (stuck) return 'idle';
  // Catch up on the engine's thread only if little is left to copy (a short stall); otherwise another pass at once.
  return writesSincePass <= opts.catchUpMaxWrites ? 'catch-up' : 'again';
}
