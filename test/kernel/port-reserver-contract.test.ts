// The port-reserver contract suite on SocketReserver: real bound sockets in a
// throwaway network namespace (withHostNs moves this thread there; lo is up
// with 127.0.0.1 and ::1), the same cases as the in-memory reserver's.

import t from 'tap';
import { portReserverSuite } from '../lib/port-reserver-suite.js';
import { SocketReserver } from '../../drivers/linux/port-reserve.js';
import { withHostNs } from './_hostns.js';

portReserverSuite(t, (t) => {
  withHostNs(t);
  return new SocketReserver();
});
