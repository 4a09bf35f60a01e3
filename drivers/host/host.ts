// The host driver: containers share the daemon's own network namespace. The
// controller answers the default sandbox key (<netns dir>/default, bound to
// that namespace at start-up) for every join on a host network.

import { PlainDriver } from '../plain.js';

export class HostDriver extends PlainDriver {
  readonly type = 'host';
  readonly sandbox = 'host';
  protected readonly internal = false;
}
