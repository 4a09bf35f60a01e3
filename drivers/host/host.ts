// The host driver: containers share the daemon's own network namespace. The
// controller answers the default sandbox key (<netns dir>/default, bound to
// that namespace at start-up); there is nothing to plumb.

import type { Driver, NetworkSettings } from '../driver.js';
import { normaliseOptions } from '../options.js';

export class HostDriver implements Driver {
  readonly type = 'host';

  validateNetwork(raw: Record<string, unknown>): NetworkSettings {
    return { options: normaliseOptions(raw), internal: false, enableIpv6: false, needsIpam: false };
  }

  async createNetwork(): Promise<Record<string, unknown>> {
    return {};
  }

  async deleteNetwork(): Promise<void> {}

  async createEndpoint(): Promise<Record<string, unknown>> {
    return {};
  }

  async deleteEndpoint(): Promise<void> {}

  async join(): Promise<void> {}

  async leave(): Promise<void> {}
}
