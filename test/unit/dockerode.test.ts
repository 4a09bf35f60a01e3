// dockerode (the Node Docker SDK) as a second real client of the Docker API,
// against the daemon in-process on the fake kernel: the calls an SDK user
// makes for networks, and the errors it surfaces.

import t from 'tap';
import Docker from 'dockerode';
import { InProc } from '../lib/inproc.js';

t.test('dockerode manages networks on lnetd', async (t) => {
  const p = await new InProc().start();
  t.teardown(() => p.close());
  const docker = new Docker({ socketPath: p.dockerSocket });

  t.equal(String(await docker.ping()), 'OK');
  const version = await docker.version();
  t.equal(version.ApiVersion, '1.50');
  t.equal((await docker.info()).Containers, 0);

  const made = await docker.createNetwork({
    Name: 'sdk', Driver: 'bridge', EnableIPv6: true, Labels: { app: 'sdk' }, Options: { 'com.docker.network.driver.mtu': '1400' },
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.61.0.0/24', Gateway: '10.61.0.1' }, { Subnet: 'fd61::/64' }] },
  });
  t.match(made.id, /^[0-9a-f]{64}$/);
  const listed = await docker.listNetworks({ filters: { label: ['app=sdk'] } });
  t.same(listed.map((n) => n.Name), ['sdk'], 'filters as dockerode encodes them');
  const info = await docker.getNetwork('sdk').inspect();
  t.same(info.IPAM?.Config?.map((c) => c.Subnet), ['10.61.0.0/24', 'fd61::/64']);
  t.equal(info.Options?.['com.docker.network.driver.mtu'], '1400');

  const CID = '5d' + 'e'.repeat(62);
  await docker.getNetwork('sdk').connect({ Container: CID, EndpointConfig: { IPAMConfig: { IPv4Address: '10.61.0.9' }, Aliases: ['api', 'api.sdk'] } });
  const joined = await docker.getNetwork(made.id).inspect();
  t.equal(joined.Containers?.[CID]?.IPv4Address, '10.61.0.9/24');
  const ep = p.c.listEndpoints('sdk').find((e) => e.container === CID)!;
  t.same(ep.aliases, ['api', 'api.sdk'], 'the aliases are kept on the endpoint record (the DNS resolver reads them)');
  t.ok(p.c.inspectSandbox(CID).key.endsWith(CID), 'a container lnetd never saw gets its sandbox, as a seed join does');

  await t.rejects(docker.getNetwork('sdk').remove(), { statusCode: 403, message: /has active endpoints/ }, 'rm in use: 403');
  await t.rejects(docker.getNetwork('bridge').remove(), { statusCode: 403, message: /bridge is a pre-defined network and cannot be removed/ });
  await t.rejects(docker.getNetwork('nope').inspect(), { statusCode: 404, message: /network nope not found/ });
  await t.rejects(docker.createNetwork({ Name: 'sdk' }), { statusCode: 409, message: /network with name sdk already exists/ });

  await docker.getNetwork('sdk').disconnect({ Container: CID, Force: false });
  t.equal(Object.keys((await docker.getNetwork('sdk').inspect()).Containers ?? { x: 1 }).length, 0);
  t.throws(() => p.c.inspectSandbox(CID), 'the sandbox went with its last network');
  await docker.createNetwork({ Name: 'spare', Labels: { spare: '1' } });
  const pruned = await docker.pruneNetworks({ filters: { label: ['spare'] } });
  t.same(pruned.NetworksDeleted, ['spare']);
  await docker.getNetwork('sdk').remove();
  t.same((await docker.listNetworks()).map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
});
