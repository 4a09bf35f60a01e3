// The null driver: a container gets a namespace of its own holding only `lo`
// (the controller makes the sandbox on the first join).

import { PlainDriver } from '../plain.js';

export class NullDriver extends PlainDriver {
  readonly type = 'null';
  readonly sandbox = 'own';
  protected readonly internal = true;
}
