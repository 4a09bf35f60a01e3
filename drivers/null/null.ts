// The null driver: a container gets a namespace with only `lo` (the
// controller makes the sandbox). Nothing to create on the host.

import type { Driver, NetworkSettings } from '../driver.js';
import { normaliseOptions } from '../options.js';

export class NullDriver implements Driver {
  readonly type = 'null';

  validateNetwork(raw: Record<string, unknown>): NetworkSettings {
    return { options: normaliseOptions(raw), internal: true, enableIpv6: false, needsIpam: false };
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
