import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, loadConfig } from '../../daemon/config.js';

const dir = mkdtempSync(join(tmpdir(), 'lnetd-cfg-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'config.json');
writeFileSync(file, JSON.stringify({ socket: '/f/s.sock', data_dir: '/f/data', netns_dir: '/f/ns', log_level: 'debug' }));

t.test('embedded defaults when nothing is given', async (t) => {
  const c = loadConfig([], { LNETD_CONFIG: undefined });
  t.equal(c.socket, DEFAULTS.socket);
  t.equal(c.dataDir, DEFAULTS.dataDir);
  t.equal(c.netnsDir, DEFAULTS.netnsDir);
  t.equal(c.tcp, undefined, 'TCP off by default');
});

t.test('file < env < flags', async (t) => {
  const c = loadConfig(['--config', file, '--socket', '/flag/s.sock'], { LNETD_SOCKET: '/env/s.sock', LNETD_DATA_DIR: '/env/data' });
  t.equal(c.socket, '/flag/s.sock', 'flag wins');
  t.equal(c.dataDir, '/env/data', 'env beats file');
  t.equal(c.netnsDir, '/f/ns', 'file beats default');
  t.equal(c.logLevel, 'debug');
  t.equal(loadConfig(['--socket=/eq/s.sock'], {}).socket, '/eq/s.sock', '--flag=value form');
});

t.test('the Docker API has a socket and a TCP port of its own', async (t) => {
  t.equal(loadConfig([], {}).dockerSocket, '/run/lnetd/docker.sock', 'default');
  t.equal(loadConfig(['--socket', '/t/x/seed.sock'], {}).dockerSocket, '/t/x/docker.sock', 'unless named: beside the seed API socket');
  t.equal(loadConfig([], { LNETD_DOCKER_SOCKET: '/env/d.sock' }).dockerSocket, '/env/d.sock', 'environment');
  t.equal(loadConfig(['--docker-socket', '/flag/d.sock'], { LNETD_DOCKER_SOCKET: '/env/d.sock' }).dockerSocket, '/flag/d.sock', 'flag wins');
  writeFileSync(join(dir, 'docker.json'), JSON.stringify({ docker_socket: '/file/d.sock', docker_tcp: '127.0.0.1:2376' }));
  const f = loadConfig(['--config', join(dir, 'docker.json')], {});
  t.same([f.dockerSocket, f.dockerTcp], ['/file/d.sock', { host: '127.0.0.1', port: 2376 }], 'config file');
  t.throws(() => loadConfig(['--docker-socket', 'rel.sock'], {}), /--docker-socket.*absolute/);
  t.throws(() => loadConfig(['--docker-tcp', '0.0.0.0:2375'], {}), /loopback/, 'the same rules as the seed API');
  t.throws(() => loadConfig(['--socket', '/x.sock', '--docker-socket', '/x.sock'], {}), /socket of its own/);
  t.throws(() => loadConfig(['--tcp', '127.0.0.1:2375', '--docker-tcp', '127.0.0.1:2375'], {}), /port of its own/);
});

t.test('bad values are refused, naming the setting', async (t) => {
  t.throws(() => loadConfig(['--socket', 'relative.sock'], {}), ConfigError);
  t.throws(() => loadConfig(['--log-level', 'loud'], {}), /--log-level.*loud/);
  t.throws(() => loadConfig(['--tcp', '0.0.0.0:2375'], {}), /loopback/);
  t.throws(() => loadConfig(['--tcp', '10.1.2.3:2375'], {}), /loopback/);
  t.throws(() => loadConfig(['--tcp', 'nonsense'], {}), /HOST:PORT/);
  t.throws(() => loadConfig(['--bogus', 'x'], {}), /unknown flag --bogus/);
  t.throws(() => loadConfig(['--config', join(dir, 'missing.json')], {}), /missing\.json/);
  writeFileSync(join(dir, 'bad.json'), '{"colour": "red"}');
  t.throws(() => loadConfig(['--config', join(dir, 'bad.json')], {}), /unknown key colour/);
  t.same(loadConfig(['--tcp', '127.0.0.1:2375'], {}).tcp, { host: '127.0.0.1', port: 2375 });
  t.same(loadConfig(['--tcp', '[::1]:2375'], {}).tcp, { host: '::1', port: 2375 });
});

t.test('address pools: lnetd spec or daemon.json form, family checked, named by source', async (t) => {
  t.same(loadConfig(['--default-address-pools', '10.10.0.0/16:24'], {}).defaultAddressPools, [{ base: '10.10.0.0/16', size: 24 }]);
  t.same(loadConfig(['--default-address-pools', '[{"base":"10.10.0.0/16","size":24}]'], {}).defaultAddressPools, [{ base: '10.10.0.0/16', size: 24 }], "Docker's form as JSON text in a flag");
  writeFileSync(join(dir, 'pools.json'), JSON.stringify({ default_address_pools: [{ base: '10.20.0.0/16', size: 24 }, { base: '10.30.0.0/16', size: 26 }], default_address_pools_v6: [{ base: 'fd00:1::/48', size: 64 }] }));
  const c = loadConfig(['--config', join(dir, 'pools.json')], {});
  t.same(c.defaultAddressPools, [{ base: '10.20.0.0/16', size: 24 }, { base: '10.30.0.0/16', size: 26 }], "daemon.json's [{base,size}] in the config file");
  t.same(c.defaultAddressPools6, [{ base: 'fd00:1::/48', size: 64 }]);
  t.throws(() => loadConfig(['--default-address-pools', '10.0.0.0/8'], {}), /^--default-address-pools: .*10\.0\.0\.0\/8/, 'a pool without a size names the flag');
  t.throws(() => loadConfig([], { LNETD_DEFAULT_ADDRESS_POOLS_V6: '10.0.0.0/8:24' }), /^LNETD_DEFAULT_ADDRESS_POOLS_V6: 10\.0\.0\.0\/8 is an IPv4 pool/, 'an IPv4 pool is not a v6 pool');
  t.throws(() => loadConfig(['--default-address-pools', 'fd00::/48:64'], {}), /^--default-address-pools: fd00::\/48 is an IPv6 pool/, 'nor the reverse');
  writeFileSync(join(dir, 'badpool.json'), JSON.stringify({ default_address_pools: [{ base: '10.20.0.0/16' }] }));
  t.throws(() => loadConfig(['--config', join(dir, 'badpool.json')], {}), /config file .*badpool\.json: default_address_pools: item 1 must be/, 'names the config key and item');
  t.throws(() => loadConfig(['--default-address-pools', '[{"base":'], {}), /^--default-address-pools: not valid JSON/);
});

t.test('numbers are numbers, and every setting is named the way it was given', async (t) => {
  t.equal(loadConfig([], { LNETD_NETNS_POOL: '0' }).netnsPool, 0);
  t.equal(loadConfig(['--netns-pool', '8'], {}).netnsPool, 8);
  t.throws(() => loadConfig([], { LNETD_NETNS_POOL: 'abc' }), /^LNETD_NETNS_POOL: "abc" must be a whole number from 0 to 64/, 'LNETD_NETNS_POOL=abc is refused, not 0');
  t.throws(() => loadConfig([], { LNETD_NETNS_POOL: '-1' }), /LNETD_NETNS_POOL/);
  t.throws(() => loadConfig(['--store-reopen-ms', '1.5'], {}), /^--store-reopen-ms/);
  writeFileSync(join(dir, 'num.json'), JSON.stringify({ netns_pool: 2, forward_drop: 'sometimes' }));
  t.throws(() => loadConfig(['--config', join(dir, 'num.json')], {}), /config file .*num\.json: forward_drop: "sometimes" is not one of auto, on, off/);
  t.equal(loadConfig(['--config', join(dir, 'num.json'), '--forward-drop', 'off'], {}).netnsPool, 2, 'a number in the file');
  t.throws(() => loadConfig(['--run-dir', 'run'], {}), /^--run-dir: "run" must be an absolute path/);
  t.throws(() => loadConfig([], { LNETD_SOCKET: 'x.sock' }), /^LNETD_SOCKET:/);
  writeFileSync(join(dir, 'type.json'), JSON.stringify({ socket: 5 }));
  t.throws(() => loadConfig(['--config', join(dir, 'type.json')], {}), /config file .*type\.json: socket: must be a string/);
});
