// netavark's command line as podman 4.x calls it:
//   netavark [--config DIR] [--rootless=BOOL] [--aardvark-binary=PATH] [-f FILE] setup|teardown NETNS
//   netavark version | --version
// Flags take "--flag value" or "--flag=value". Anything else is refused with a
// message naming it, so a newer podman passing something we don't know fails loudly.

export type Command =
  | { kind: 'setup' | 'teardown'; netns: string; config?: string; rootless: boolean; file?: string }
  | { kind: 'version' }
  | { kind: 'version-text' };

export class UsageError extends Error {}

const VALUE_FLAGS = new Set(['--config', '--aardvark-binary', '--file', '-f', '--firewall-driver', '--plugin-directory', '--dns-port']);
const BOOL_FLAGS = new Set(['--rootless', '--no-plugin']);

function parseBool(flag: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`${flag} must be true or false, not ${JSON.stringify(v.slice(0, 40))}`);
}

export function parseArgs(argv: string[]): Command {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--version' || a === '-V') return { kind: 'version-text' };
    if (!a.startsWith('-') || a === '-') { positional.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS.has(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name === '-f' ? '--file' : name, v);
    } else if (BOOL_FLAGS.has(name)) {
      // "--rootless=false", "--rootless false" or a bare "--rootless"
      if (eq > 0) flags.set(name, String(parseBool(name, a.slice(eq + 1))));
      else if (argv[i + 1] === 'true' || argv[i + 1] === 'false') flags.set(name, argv[++i]);
      else flags.set(name, 'true');
    } else {
      throw new UsageError(`unknown option ${JSON.stringify(a.slice(0, 60))}`);
    }
  }
  const [cmd, netns, ...rest] = positional;
  if (cmd === 'version' && netns === undefined) return { kind: 'version' };
  if (cmd !== 'setup' && cmd !== 'teardown') {
    throw new UsageError(cmd === undefined ? 'a command is required: setup, teardown or version' : `unsupported command ${JSON.stringify(cmd.slice(0, 40))}: lnetd-netavark knows setup, teardown and version`);
  }
  if (!netns) throw new UsageError(`${cmd} needs the path of the container's network namespace`);
  if (rest.length) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0].slice(0, 60))}`);
  if (!netns.startsWith('/') || netns.includes('\0')) throw new UsageError(`the network namespace must be an absolute path, not ${JSON.stringify(netns.slice(0, 80))}`);
  const file = flags.get('--file');
  return { kind: cmd, netns, config: flags.get('--config'), rootless: flags.get('--rootless') === 'true', ...(file && file !== '-' ? { file } : {}) };
}
