/** Asserts that `run` throws an instance of `type` whose message matches `pattern` (label: what was run). */
import { expect } from 'chai';

export function expectThrown(run: () => unknown, type: abstract new (...args: never[]) => Error, pattern: RegExp, label: string): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught, label).to.be.instanceOf(type);
  expect((caught as Error).message, label).to.match(pattern);
}
