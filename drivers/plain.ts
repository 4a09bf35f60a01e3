// Drivers whose networks have no kernel objects of their own: the controller
// makes (or picks) the sandbox and there is nothing to plumb, nothing to own.
// null and host differ only in their type and in where the sandbox is.

import type { Driver, DriverScope, JoinedState, NetworkSettings, OwnedObject } from './driver.js';
import { normaliseOptions } from './options.js';

export abstract class PlainDriver implements Driver {
  abstract readonly type: string;
  abstract readonly sandbox: 'own' | 'host';
  readonly scope: DriverScope = 'local';
  readonly faultSteps: readonly string[] = [];
  /** Endpoints are records only: no journal intent for their create and delete. */
  readonly endpointKernelWork = false;
  /** null networks reach nothing; host networks are the host's own. */
  protected abstract readonly internal: boolean;

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  validateNetwork(raw: Record<string, unknown>): NetworkSettings {
    return { options: normaliseOptions(raw), internal: this.internal, enableIpv6: false, needsIpam: false };
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

  /** Nothing beyond what the sandbox already has (lo, or the host's own interfaces). */
  joined(): JoinedState {
    return { interfaces: [], routes: [] };
  }

  givesDefaultRoute(): boolean {
    return false;
  }

  async takeDefaultRoute(): Promise<void> {}

  async owned(): Promise<OwnedObject[]> {
    return [];
  }

  implied(): OwnedObject[] {
    return [];
  }

  async removeOwned(): Promise<void> {}
}
