// Undo and teardown bookkeeping for the bridge driver: creation undoes what it
// already did when a later step fails; teardown tries every step and reports
// all failures, never stopping at the first.

import { LnetdError } from '../../errors/index.js';

type Step = () => Promise<unknown>;

const text = (e: unknown): string => String((e as Error)?.message ?? e);

/** Steps to reverse a half-done creation, run last-first. */
export class Undo {
  private readonly steps: Step[] = [];

  push(step: Step): void {
    this.steps.push(step);
  }

  /** Run every step (reverse order), then rethrow err with any undo failures noted. */
  async fail(err: unknown): Promise<never> {
    const failed: unknown[] = [];
    for (const step of this.steps.reverse()) {
      try { await step(); } catch (e) { failed.push(e); }
    }
    this.steps.length = 0;
    if (failed.length && err instanceof Error) err.message += ` (undo also failed: ${failed.map(text).join('; ')})`;
    throw err;
  }
}

/** Run every teardown step; throw one error naming all failures (code of the first). */
export async function teardown(what: string, steps: Step[]): Promise<void> {
  const failed: unknown[] = [];
  for (const step of steps) {
    try { await step(); } catch (e) { failed.push(e); }
  }
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1) {
    const err = new Error(`${what}: ${failed.map(text).join('; ')}`) as NodeJS.ErrnoException;
    err.code = failed.map((e) => (e as NodeJS.ErrnoException)?.code).find(Boolean);
    err.cause = failed;
    throw err;
  }
}

/** Add what we were doing to a system error, keeping its message (which already
 *  says which kernel step failed) and errno code; typed errors (409, 400 …) pass unchanged. */
export function context(what: string, err: unknown): unknown {
  if (err instanceof LnetdError) return err;
  const e = err as NodeJS.ErrnoException;
  const out = new Error(`${what}: ${text(err)}`) as NodeJS.ErrnoException;
  out.code = e?.code;
  out.cause = err;
  return out;
}
