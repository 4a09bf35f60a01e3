// The typed domain events: one per change a commit makes, derived from the
// batch itself (event-derive.ts), so no operation can commit without them.

/** The network an event is about. */
export interface EventNetwork { id: string; name: string; driver: string }

/** The endpoint an event is about, with what DNS and service discovery need. */
export interface EventEndpoint {
  id: string;
  name: string;
  ipv4?: string;          // CIDR, e.g. 172.18.0.2/16
  ipv6?: string;
  mac?: string;
  aliases?: string[];     // DNS names besides the endpoint's name, when the record has them
  service: boolean;       // published through /services
}

/** The container (sandbox) side of a join or leave. */
export interface EventContainer {
  id: string;
  sandboxKey: string;     // netns path
  ifname: string;         // interface inside the sandbox (eth0 …)
  hostName?: string;
}

interface Base {
  seq: number;            // monotonic across restarts; gaps only where a commit failed
  time: string;           // RFC 3339 (ISO, ms) when it was committed
}

export type LnetdEvent = Base & (
  | { type: 'network'; action: 'create' | 'delete'; network: EventNetwork }
  | { type: 'endpoint'; action: 'create' | 'delete'; network: EventNetwork; endpoint: EventEndpoint }
  | { type: 'container'; action: 'join' | 'leave'; network: EventNetwork; endpoint: EventEndpoint; container: EventContainer }
);

/** An event before the log numbers it. */
export type EventBody = LnetdEvent extends infer E ? (E extends LnetdEvent ? Omit<E, 'seq' | 'time'> : never) : never;

export type EventType = LnetdEvent['type'];
export type EventAction = LnetdEvent['action'];
export const EVENT_TYPES: readonly EventType[] = ['network', 'endpoint', 'container'];
export const EVENT_ACTIONS: readonly EventAction[] = ['create', 'delete', 'join', 'leave'];
