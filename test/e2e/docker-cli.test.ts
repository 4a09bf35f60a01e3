// The real docker CLI (28, client only) drives lnetd: DOCKER_HOST points at
// the Docker API socket of a daemon in a throwaway host namespace. Networks
// are made, listed with every filter, inspected with --format templates,
// containers connected with --ip and --alias really reach each other (ping
// between their namespaces), and rm, prune, events, version and info answer
// as dockerd would. Everything is removed afterwards, also on failure.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon } from '../lib/daemon.js';
import { missingTool } from './_runtime.js';

t.setTimeout(240_000);

// two container ids sharing their first 12 characters: both must work
const C1 = 'e2e0c0ffee00' + 'a'.repeat(52);
const C2 = 'e2e0c0ffee00' + 'b'.repeat(52);

interface Out { status: number | null; stdout: string; stderr: string }

const skip = process.getuid?.() !== 0 ? 'needs root' : missingTool(['docker']) ? 'the docker CLI is not installed' : false;

t.test('the docker CLI against lnetd', { skip }, async (t) => {
  const d = new TestDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const config = mkdtempSync(join(tmpdir(), 'lnetd-docker-config-'));
  t.teardown(() => rmSync(config, { recursive: true, force: true }));
  // the CLI's own settings in a tmp dir: no context, no credentials of this machine's user
  const env = { PATH: process.env.PATH, HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `unix://${d.dockerSocket}` };
  const docker = (...args: string[]): Out => {
    const r = spawnSync('docker', args, { env, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
  };
  const ok = (...args: string[]): string => {
    const r = docker(...args);
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const started = Math.floor(Date.now() / 1000) - 1;

  t.test('version and info', async (t) => {
    t.equal(ok('version', '--format', '{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}'), '1.50 1.44 linux');
    t.equal(ok('info', '--format', '{{.Containers}} {{.Images}} {{.Name}} {{.OSType}}'), '0 0 lnetd linux');
    t.match(ok('info'), /Network: null host bridge/, 'docker info prints without error, with our drivers');
  });

  let idA = '';
  t.test('network create with every flag', async (t) => {
    idA = ok('network', 'create', '--subnet', '10.77.0.0/24', '--gateway', '10.77.0.1', '--ip-range', '10.77.0.128/25',
      '--ipv6', '--subnet', 'fd77::/64', '--label', 'team=blue', '--label', 'tier', '-o', 'com.docker.network.bridge.enable_icc=true', 'e2e-a');
    t.match(idA, /^[0-9a-f]{64}$/);
    ok('network', 'create', '--internal', '--label', 'team=red', 'e2e-b');
    const dup = docker('network', 'create', 'e2e-b');
    t.equal(dup.status, 1);
    t.match(dup.stderr, 'network with name e2e-b already exists');
    t.match(docker('network', 'create', '-d', 'host', 'h').stderr, 'only one instance of "host" network is allowed');
  });

  t.test('ls with every filter', async (t) => {
    const names = (...f: string[]) => ok('network', 'ls', ...f, '--format', '{{.Name}}').split('\n').filter(Boolean).sort();
    t.same(names(), ['bridge', 'e2e-a', 'e2e-b', 'host', 'none']);
    t.same(names('--filter', 'name=e2e'), ['e2e-a', 'e2e-b'], 'name: a substring matches');
    t.same(names('--filter', 'label=team=blue'), ['e2e-a']);
    t.same(names('--filter', 'label=team'), ['e2e-a', 'e2e-b']);
    t.same(names('--filter', 'label=tier', '--filter', 'label=team=blue'), ['e2e-a'], 'labels: all must match');
    t.same(names('--filter', 'driver=null'), ['none']);
    t.same(names('--filter', 'type=builtin'), ['bridge', 'host', 'none']);
    t.same(names('--filter', 'type=custom'), ['e2e-a', 'e2e-b']);
    t.same(names('--filter', 'scope=local', '--filter', 'name=^e2e-b$'), ['e2e-b']);
    t.same(names('--filter', `id=${idA.slice(0, 10)}`), ['e2e-a']);
    t.same(names('--filter', 'dangling=true'), ['e2e-a', 'e2e-b']);
    t.match(docker('network', 'ls', '--filter', 'colour=red').stderr, "invalid filter 'colour'");
    t.match(ok('network', 'ls', '--no-trunc'), idA, 'the default table');
  });

  t.test('inspect and --format templates', async (t) => {
    t.equal(ok('network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}},{{.Gateway}},{{.IPRange}} {{end}}', 'e2e-a'), '10.77.0.0/24,10.77.0.1,10.77.0.128/25 fd77::/64,fd77::1,');
    t.equal(ok('network', 'inspect', '--format', '{{.Internal}} {{.EnableIPv6}} {{.Labels.team}} {{index .Options "com.docker.network.bridge.enable_icc"}}', 'e2e-b', 'e2e-a'), 'true false red \nfalse true blue true');
    const full = JSON.parse(ok('network', 'inspect', idA.slice(0, 12)))[0];
    t.equal(full.Name, 'e2e-a', 'by id prefix');
    t.match(full.Created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const none = docker('network', 'inspect', 'nope');
    t.equal(none.status, 1);
    t.match(none.stderr, /network nope not found/);
  });

  t.test('connect --ip --alias: the containers reach each other', async (t) => {
    ok('network', 'connect', '--ip', '10.77.0.130', '--alias', 'web', '--alias', 'www', 'e2e-a', C1);
    ok('network', 'connect', 'e2e-a', C2);
    const containers = JSON.parse(ok('network', 'inspect', '--format', '{{json .Containers}}', 'e2e-a'));
    t.equal(containers[C1].IPv4Address, '10.77.0.130/24', 'the address asked for');
    const ip2 = containers[C2].IPv4Address.split('/')[0];
    const ip2v6 = containers[C2].IPv6Address.split('/')[0];
    t.match(ip2, /^10\.77\.0\.(1[2-9][0-9]|2[0-5][0-9])$/, 'from the --ip-range');
    t.match(ip2v6, /^fd77::/);
    // one set of objects: the seed API sees the sandboxes Docker's connect made
    const eps = (await d.req('GET', '/networks/e2e-a/endpoints')).json as Array<{ container_id: string; sandbox_key: string }>;
    const key = (c: string) => eps.find((e) => e.container_id === c)!.sandbox_key;
    t.not(key(C1), key(C2), 'ids sharing 12 characters get sandboxes of their own');
    const ping = (from: string, to: string, v6 = false) =>
      spawnSync('nsenter', [`--net=${from}`, 'ping', ...(v6 ? ['-6'] : []), '-c', '1', '-W', '2', to], { encoding: 'utf8' }).status;
    t.equal(ping(key(C1), ip2), 0, 'c1 pings c2 over IPv4');
    t.equal(ping(key(C2), '10.77.0.130'), 0, 'c2 pings c1 at the address asked for');
    t.equal(ping(key(C1), ip2v6, true), 0, 'and over IPv6');
    t.match(docker('network', 'connect', 'e2e-a', C1).stderr, `endpoint with name ${C1} already exists in network e2e-a`);
    t.match(docker('network', 'connect', 'nope', C1).stderr, 'network nope not found');
  });

  t.test('rm: in use, predefined, unknown', async (t) => {
    const busy = docker('network', 'rm', 'e2e-a');
    t.equal(busy.status, 1);
    t.match(busy.stderr, /error while removing network: network e2e-a has active endpoints \(name:"e2e0c0ffee00a+" id:"[0-9a-f]{12}"/);
    t.match(docker('network', 'rm', 'bridge').stderr, 'bridge is a pre-defined network and cannot be removed');
    t.match(docker('network', 'rm', 'nope').stderr, 'network nope not found');
  });

  t.test('disconnect: the sandbox goes with its last network', async (t) => {
    const eps = (await d.req('GET', '/networks/e2e-a/endpoints')).json as Array<{ container_id: string; sandbox_key: string }>;
    const key2 = eps.find((e) => e.container_id === C2)!.sandbox_key;
    ok('network', 'disconnect', 'e2e-a', C2);
    t.notOk(existsSync(key2), 'c2 has no namespace any more');
    t.match(docker('network', 'disconnect', 'e2e-a', C2).stderr, `container ${C2} is not connected to network e2e-a`);
    ok('network', 'disconnect', '--force', 'e2e-a', C1);
    t.equal(ok('network', 'inspect', '--format', '{{len .Containers}}', 'e2e-a'), '0');
  });

  t.test('prune and rm', async (t) => {
    t.equal(ok('network', 'prune', '--force', '--filter', 'label=team=red'), 'Deleted Networks:\ne2e-b');
    t.equal(ok('network', 'prune', '--force', '--filter', 'until=1h'), '', 'nothing an hour old');
    t.equal(ok('network', 'rm', 'e2e-a'), 'e2e-a');
    t.same(ok('network', 'ls', '--format', '{{.Name}}').split('\n').sort(), ['bridge', 'host', 'none']);
    t.equal(d.exec(['ip', '-br', 'link', 'show', 'type', 'bridge']).stdout.split('\n').filter((l) => l.startsWith('lnet-')).length, 1, 'only the predefined bridge network\'s bridge is left');
  });

  t.test('events --since into the past, --until in the past returns at once', async (t) => {
    const until = String(Math.floor(Date.now() / 1000) + 1);
    await new Promise((r) => setTimeout(r, 1100));
    const t0 = Date.now();
    const out = ok('events', '--since', String(started), '--until', until, '--filter', 'type=network', '--filter', 'network=e2e-a', '--filter', 'network=e2e-b', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes "container"}}');
    t.ok(Date.now() - t0 < 5000, 'answered at once');
    t.same(out.split('\n').map((l) => l.trim()), [
      'create e2e-a', 'create e2e-b', `connect e2e-a ${C1}`, `connect e2e-a ${C2}`, `disconnect e2e-a ${C2}`, `disconnect e2e-a ${C1}`, 'destroy e2e-b', 'destroy e2e-a',
    ], 'every network event, in order, as dockerd words them');
    const only = ok('events', '--since', String(started), '--until', until, '--filter', 'event=connect', '--filter', `container=${C2}`, '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}');
    t.equal(only, `network connect ${idA}`, 'filters on event and container');
  });
});
