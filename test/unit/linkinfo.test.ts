// Byte-level checks of the IFLA_LINKINFO / address codecs (little-endian host,
// as on every machine lnetd runs on; the expected bytes are what iproute2 sends).

import t from 'tap';
import { endianness } from 'node:os';
import {
  bridgeLinkinfo, bridgePortLinkinfo, bridgePortProtinfo, bufferToIp, bufferToMac, decodeHairpin, decodeLinkKind,
  encodeAttrs, IFLA_INFO_DATA, IFLA_INFO_KIND, ifinfomsg, ipToBuffer, macToBuffer, parseAttrs, parseCidr, str, u32, vethLinkinfo,
} from '../../drivers/linux/linkinfo.js';

const hex = (b: Buffer): string => b.toString('hex').replace(/(..)/g, '$1 ').trim();

if (endianness() !== 'LE') t.plan(0, 'expected bytes are written for a little-endian host');

t.test('bridge kind, padded to 4 bytes', async (t) => {
  t.equal(hex(bridgeLinkinfo()), '0b 00 01 00 62 72 69 64 67 65 00 00');
  // optional IFLA_INFO_DATA, nested flag set
  const withData = bridgeLinkinfo([{ type: 1, data: u32(1500) }]);
  t.equal(hex(withData.subarray(12)), '0c 00 02 80 08 00 01 00 dc 05 00 00');
});

t.test('veth with peer ifinfomsg, name, MAC, MTU and netns fd', async (t) => {
  const b = vethLinkinfo({ name: 'eth0', mac: '02:42:0a:00:00:02', mtu: 1400, nsFd: 7 });
  const expected = [
    '09 00 01 00 76 65 74 68 00 00 00 00',            // IFLA_INFO_KIND "veth\0"
    '40 00 02 80',                                    // IFLA_INFO_DATA, 64 bytes, nested
    '3c 00 01 80',                                    // VETH_INFO_PEER, 60 bytes, nested
    '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00', // struct ifinfomsg (all zero)
    '09 00 03 00 65 74 68 30 00 00 00 00',            // IFLA_IFNAME "eth0\0"
    '0a 00 01 00 02 42 0a 00 00 02 00 00',            // IFLA_ADDRESS
    '08 00 04 00 78 05 00 00',                        // IFLA_MTU 1400
    '08 00 1c 00 07 00 00 00',                        // IFLA_NET_NS_FD 7
  ].join(' ');
  t.equal(hex(b), expected);
  t.equal(b.length, 76);
  // a minimal peer: name only
  t.equal(hex(vethLinkinfo({ name: 'p' }).subarray(12)), '20 00 02 80 1c 00 01 80 ' + '00 '.repeat(16) + '06 00 03 00 70 00 00 00');
});

t.test('bridge-port hairpin, as slave data and as AF_BRIDGE protinfo', async (t) => {
  t.equal(hex(bridgePortLinkinfo({ hairpin: true })), '0b 00 04 00 62 72 69 64 67 65 00 00 0c 00 05 80 05 00 04 00 01 00 00 00');
  t.equal(hex(bridgePortLinkinfo({ hairpin: false }).subarray(-4)), '00 00 00 00');
  t.equal(hex(bridgePortProtinfo({ hairpin: true })), '0c 00 0c 80 05 00 04 00 01 00 00 00');
});

t.test('decode kind and hairpin from a dump', async (t) => {
  const dumped = encodeAttrs([
    { type: IFLA_INFO_KIND, data: Buffer.from('veth') },  // the kernel sends no NUL here
    { type: 4, data: str('bridge') },
    { type: 5, nested: true, data: [{ type: 1, data: Buffer.from([3]) }, { type: 4, data: Buffer.from([1]) }] },
  ]);
  t.equal(decodeLinkKind(dumped), 'veth');
  t.equal(decodeHairpin(dumped), true);
  t.equal(decodeLinkKind(bridgeLinkinfo()), 'bridge');
  t.equal(decodeLinkKind(undefined), undefined);
  t.equal(decodeHairpin(bridgeLinkinfo()), undefined);
  t.equal(decodeLinkKind(encodeAttrs([{ type: IFLA_INFO_DATA, data: Buffer.alloc(4) }])), undefined);
  t.throws(() => parseAttrs(Buffer.from([0x10, 0, 1, 0, 0])), RangeError, 'length past the end');
});

t.test('ifinfomsg', async (t) => {
  t.equal(hex(ifinfomsg({ index: 3, flags: 1, change: 1 })), '00 00 00 00 03 00 00 00 01 00 00 00 01 00 00 00');
});

t.test('MAC', async (t) => {
  t.equal(hex(macToBuffer('02:42:AC:11:00:02')), '02 42 ac 11 00 02');
  t.equal(bufferToMac(Buffer.from([2, 0x42, 0xac, 0x11, 0, 2])), '02:42:ac:11:00:02');
  t.equal(bufferToMac(undefined), '');
  for (const bad of ['02:42:ac:11:00', '02:42:ac:11:00:0g', '0242ac110002', '']) {
    t.throws(() => macToBuffer(bad), { code: 'EINVAL' }, bad);
  }
});

t.test('IP addresses', async (t) => {
  t.equal(hex(ipToBuffer('10.0.0.2')), '0a 00 00 02');
  t.equal(hex(ipToBuffer('fd00::1')), 'fd 00 ' + '00 '.repeat(13) + '01');
  t.equal(hex(ipToBuffer('::ffff:1.2.3.4').subarray(10)), 'ff ff 01 02 03 04');
  const roundTrip: [string, string][] = [
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'], ['::', '::'], ['::1', '::1'], ['fe80::42:aff:fe00:2', 'fe80::42:aff:fe00:2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['FD00:A::', 'fd00:a::'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['172.18.0.1', '172.18.0.1'],
  ];
  for (const [input, canon] of roundTrip) t.equal(bufferToIp(ipToBuffer(input)), canon, input);
  for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'fd00::g', 'x', '', '1:2:3:4:5:6:7::8']) {
    t.throws(() => ipToBuffer(bad), { code: 'EINVAL' }, bad);
  }
});

t.test('CIDR', async (t) => {
  t.same(parseCidr('10.1.2.3/16'), { family: 4, addr: Buffer.from([10, 1, 2, 3]), prefix: 16 });
  t.equal(parseCidr('fd00::2/64').family, 6);
  t.equal(parseCidr('fd00::2').prefix, 128);
  t.equal(parseCidr('0.0.0.0/0').prefix, 0);
  for (const bad of ['10.0.0.1/33', 'fd00::/129', '10.0.0.1/', '10.0.0.1/x', '10.0.0.1/8/8', '/8']) {
    t.throws(() => parseCidr(bad), { code: 'EINVAL' }, bad);
  }
});
