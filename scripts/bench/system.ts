// The common face of every system under test, as the round-robin sees it.

/** ms: the operation as the system's caller sees it; nsMs: the part spent on
 * the namespace (peers: ip netns add/del); hostVeth (attach): the name of the
 * container's host-side veth, so the bench can see when it is really gone. */
export interface Timing { ms: number; nsMs?: number; hostVeth?: string }

export interface ProcCount { perAttach: number; perDetach?: number; method: string; spawnMs?: number }

export interface System {
  readonly name: string;
  /** The throwaway namespace the system's bridge and host veths live in (after start). */
  readonly hostNs: string;
  /** Host namespace, daemon or worker, network: untimed. */
  start(): Promise<void>;
  attach(i: number): Promise<Timing>;
  detach(i: number): Promise<Timing>;
  /** Why container i is not attached as PEERS.md defines it (empty: it is). */
  verify(i: number): Promise<string[]>;
  /** Processes per attach, measured the best way the system allows. */
  processes(calibrationIndex: number): Promise<ProcCount>;
  stop(): Promise<void>;
  /** Daemons: their CPU time (ms, all threads, user and sys) summed over the measured attaches and detaches. */
  cpu?(): Record<'attach' | 'detach', { user: number; sys: number; n: number }>;
  /** The round-robin moves on to another system: a daemon's CPU window closes now, so
   *  what it does while idle meanwhile (timers) is nobody's attach. */
  pause?(): void;
}
