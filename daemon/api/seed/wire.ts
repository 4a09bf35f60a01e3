// The wire format: controller views to the seed's snake_case JSON. The seed's
// fields come first and exactly as shown; extra fields follow.

import type { EndpointBrief, EndpointView, NetworkView, PortBinding, SubnetRecord } from '../../controller/types.js';

const binding = (p: PortBinding) => ({ proto: p.proto, port: p.port, host_ip: p.hostIp, host_port: p.hostPort, host_port_end: p.hostPortEnd });
const ipamConfig = (s: SubnetRecord) => ({ subnet: s.subnet, gateway: s.gateway, ...(s.ipRange ? { ip_range: s.ipRange } : {}), aux_addresses: s.aux });

export function endpointBrief(e: EndpointBrief) {
  return { id: e.id, name: e.name, network: e.networkName };
}

export function endpoint(e: EndpointView) {
  return {
    ...endpointBrief(e),
    network_id: e.networkId,
    exposed_ports: e.exposedPorts,
    port_mapping: e.portMapping.map(binding),
    ipv4_address: e.ipv4 ?? '',
    ipv6_address: e.ipv6 ?? '',
    mac_address: e.mac ?? '',
    container_id: e.container ?? '',
    sandbox_key: e.sandboxKey ?? '',
    interface_name: e.ifname ?? '',
    created: e.created,
    addresses: [e.ipv4, e.ipv6, ...(e.extraAddresses ?? [])].filter(Boolean),
    ...(e.routeMetric !== undefined ? { route_metric: e.routeMetric } : {}),
    ...(e.noAddress ? { ipam: 'none' } : {}),
    ...(e.reservePorts === false ? { reserve_ports: false } : {}),
    labels: e.labels ?? {},
  };
}

export function network(n: NetworkView) {
  return {
    name: n.name,
    id: n.id,
    type: n.type,
    endpoints: n.endpoints.map(endpointBrief),
    created: n.created,
    predefined: n.predefined,
    internal: n.internal,
    enable_ipv6: n.enableIpv6,
    options: n.options,
    ipam: { config: [n.ipv4, n.ipv6].filter((s): s is SubnetRecord => !!s).map(ipamConfig) },
    ...(n.type === 'bridge' && !n.ipv4 ? { enable_ipv4: false } : {}),
    labels: n.labels ?? {},
  };
}
