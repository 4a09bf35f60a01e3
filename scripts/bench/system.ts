// The common face of every system under test, as the round-robin sees it.

export interface Timing { ms: number; nsMs?: number }

export interface ProcCount { perAttach: number; perDetach?: number; method: string; spawnMs?: number }

export interface System {
  readonly name: string;
  /** Host namespace, daemon or worker, network: untimed. */
  start(): Promise<void>;
  attach(i: number): Promise<Timing>;
  detach(i: number): Promise<Timing>;
  /** Why container i is not attached as PEERS.md defines it (empty: it is). */
  verify(i: number): Promise<string[]>;
  /** Processes per attach, measured the best way the system allows. */
  processes(calibrationIndex: number): Promise<ProcCount>;
  stop(): Promise<void>;
}
