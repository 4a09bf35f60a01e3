// The one rule for a bridge name lnetd accepts, shared by the bridge driver
// (checked when the request is validated, before any kernel call) and the
// firewall layer (checked again before a name reaches an nft script): what
// the kernel takes as an interface name (1-15 bytes, no '/', ':' or
// whitespace, not '.' or '..') narrowed to letters, digits, '_', '.' and '-',
// starting with a letter or digit, so nothing in it is nft syntax.

export const BRIDGE_NAME_MAX = 15;  // IFNAMSIZ - 1
const BRIDGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export function validBridgeName(name: unknown): boolean {
  return typeof name === 'string' && BRIDGE_NAME.test(name);
}

export const BRIDGE_NAME_RULE = `1-${BRIDGE_NAME_MAX} letters, digits, '_', '.' or '-', starting with a letter or digit`;
