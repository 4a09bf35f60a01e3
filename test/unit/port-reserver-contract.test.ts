// The port-reserver contract suite on the in-memory reserver; the kernel tier
// runs the same cases on real sockets (test/kernel/port-reserver-contract).

import t from 'tap';
import { portReserverSuite } from '../lib/port-reserver-suite.js';
import { MemoryReserver } from '../lib/fake-ports.js';

portReserverSuite(t, () => new MemoryReserver());
