// The event log: every committed change as a typed event (event-types.ts),
// numbered, kept in the store and fanned out to subscribers.
//
// In-process subscription (DNS, the Docker API's /events, metrics …):
//
//   const sub = controller.events.subscribe(fromSeq, (e) => { ... });
//   sub.close();
//
// - `fromSeq` is inclusive: every kept event with seq >= fromSeq is delivered
//   first (synchronously, before subscribe returns), then each new one as it
//   commits, in seq order, exactly once. `undefined` means "only new ones".
//   A fromSeq older than the oldest kept event (when older ones were dropped)
//   throws Gone (code SINCE_TOO_OLD) naming the oldest kept.
// - To build a view and then follow changes without a gap, read the
//   controller's queries and subscribe(controller.events.lastSeq + 1, fn) in
//   the same tick: commits apply to the index and publish in one tick.
// - An event is published only after its batch is durable and the index
//   (query methods) already shows the change.
// - Callbacks run inline in the commit's tick: keep them short; one that
//   throws is logged and stays subscribed.
//
// Durability: the events go into the same store batch as the records they
// describe (Controller.commit). Each new event's batch also deletes the one
// `max` places before it, so the store keeps the last `max` (default 10,000)
// and `since` works across restarts.

import { Gone } from '../../errors/index.js';
import type { Store } from '../../store/store.js';
import type { BatchOp } from '../../store/store.js';
import type { EventBody, LnetdEvent } from './event-types.js';

export type { LnetdEvent } from './event-types.js';

export const DEFAULT_EVENTS_MAX = 10_000;

interface Log { error(o: object, msg?: string): void }

export interface Subscription { close(): void }

/** Seq numbers of reservations whose batch has not settled yet. */
interface Pending { events: LnetdEvent[]; ops: BatchOp[]; settled?: boolean; ok?: boolean }

const keyOf = (seq: number) => String(seq).padStart(16, '0');

export class EventLog {
  /** The kept events, oldest first, in a ring of max slots: once full, each new
   *  event takes the oldest one's slot (no O(max) shift of an array per event). */
  private readonly ring: Array<LnetdEvent | undefined> = [];
  private start = 0;
  private count = 0;
  private readonly subs = new Set<(e: LnetdEvent) => void>();
  private readonly pending: Pending[] = [];
  private nextSeq = 1;
  private published = 0;

  constructor(private readonly store: Store, private readonly log: Log, readonly max = DEFAULT_EVENTS_MAX) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`events max must be a positive integer, not ${max}`);
  }

  /** Read the kept events (in seq order) and continue numbering after the last. */
  async load(): Promise<void> {
    const all = await this.store.entries<LnetdEvent>('events');
    const extra = all.length - this.max;
    if (extra > 0) await this.store.batch(all.slice(0, extra).map(([key]) => ({ type: 'del', kind: 'events', key }) as BatchOp));
    for (const [, e] of all.slice(Math.max(0, extra))) this.keep(e);
    const last = this.at(this.count - 1)?.seq ?? 0;
    this.nextSeq = last + 1;
    this.published = last;
  }

  /** The newest published seq (0 before the first event). */
  get lastSeq(): number { return this.published; }

  /** The oldest kept seq; lastSeq + 1 when none is kept. */
  get firstSeq(): number { return this.at(0)?.seq ?? this.published + 1; }

  /** How many events the log holds in memory (at most max). */
  get size(): number { return this.count; }

  /** The i-th kept event, oldest first. */
  private at(i: number): LnetdEvent | undefined {
    return i >= 0 && i < this.count ? this.ring[(this.start + i) % this.max] : undefined;
  }

  /** The kept events from the i-th on, oldest first. */
  private from(i: number): LnetdEvent[] {
    const out: LnetdEvent[] = [];
    for (let k = Math.max(0, i); k < this.count; k++) out.push(this.at(k)!);
    return out;
  }

  /** Keep e as the newest; past max, the oldest goes. */
  private keep(e: LnetdEvent): void {
    if (this.count < this.max) {
      this.ring[(this.start + this.count) % this.max] = e;
      this.count++;
    } else {
      this.ring[this.start] = e;
      this.start = (this.start + 1) % this.max;
    }
  }

  /** Number the events of one commit and return the store ops that keep them. */
  prepare(bodies: EventBody[]): Pending {
    const time = new Date().toISOString();
    const events: LnetdEvent[] = [];
    const ops: BatchOp[] = [];
    for (const b of bodies) {
      const e = { seq: this.nextSeq++, time, ...b } as LnetdEvent;
      events.push(e);
      ops.push({ type: 'put', kind: 'events', key: keyOf(e.seq), value: e });
      if (e.seq > this.max) ops.push({ type: 'del', kind: 'events', key: keyOf(e.seq - this.max) });
    }
    const p: Pending = { events, ops };
    if (events.length) this.pending.push(p);
    return p;
  }

  /** The batch of `p` was written (ok) or failed: publish, in seq order, all that is settled. */
  settle(p: Pending, ok: boolean): void {
    p.settled = true;
    p.ok = ok;
    while (this.pending[0]?.settled) {
      const head = this.pending.shift()!;
      if (head.ok) for (const e of head.events) this.publish(e);
    }
  }

  /** See the header comment. */
  subscribe(fromSeq: number | undefined, fn: (e: LnetdEvent) => void): Subscription {
    if (fromSeq !== undefined) for (const e of this.replay(fromSeq)) fn(e);
    this.subs.add(fn);
    return { close: () => { this.subs.delete(fn); } };
  }

  /** Kept events with seq >= fromSeq; Gone when older ones it asks for were dropped. */
  replay(fromSeq: number): LnetdEvent[] {
    const first = this.firstSeq;
    if (fromSeq < first && first > 1) {
      throw new Gone(`events before seq ${first} (${this.at(0)?.time ?? 'now'}) are no longer kept; the oldest kept is seq ${first}`);
    }
    if (fromSeq <= first) return this.from(0);
    let i = 0;
    while (i < this.count && this.at(i)!.seq < fromSeq) i++;
    return this.from(i);
  }

  /** The first kept seq committed at or after `time` (ms since the epoch); Gone when
   *  events older than the oldest kept were dropped and the time is before it. */
  seqAtTime(ms: number): number {
    const oldest = this.at(0);
    if (oldest && oldest.seq > 1 && ms < Date.parse(oldest.time)) {
      throw new Gone(`events before ${oldest.time} are no longer kept; the oldest kept is seq ${oldest.seq} at ${oldest.time}`);
    }
    for (let i = 0; i < this.count; i++) {
      const e = this.at(i)!;
      if (Date.parse(e.time) >= ms) return e.seq;
    }
    return this.published + 1;
  }

  private publish(e: LnetdEvent): void {
    this.keep(e);
    this.published = e.seq;
    for (const fn of this.subs) {
      try { fn(e); } catch (err) { this.log.error({ err, seq: e.seq }, 'event subscriber failed'); }
    }
  }
}
