// IPAM: subnets for networks and addresses for endpoints. Pure logic on
// strings and records; the controller persists what these functions return.

export { overlaps, contains, macFromIpv4, parseCidr, parseAddr } from './addr.js';
export type { Family, Cidr } from './addr.js';
export { parseDefaultPools, pickSubnet, DEFAULT_POOLS_V4, DEFAULT_POOLS_V6 } from './pools.js';
export type { IpamPool, PickedSubnet } from './pools.js';
export { validateIpamRequest } from './validate.js';
export type { IpamRequest } from './validate.js';
export { allocate, allocationCidr } from './allocate.js';
export type { Allocation } from './allocate.js';
