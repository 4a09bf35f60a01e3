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
