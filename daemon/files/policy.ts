// Where lnetd may write a file a request names (a runtime's hosts and
// resolv.conf). lnetd runs as root, so a path is only taken when it is inside
// a directory the operator allowed (`--files-dirs`) and outside lnetd's own
// state; the writer (write.ts) then opens it without following any symlink,
// so the path checked here is the file written.

import { dirname, normalize } from 'node:path';
import { BadRequest } from '../../errors/index.js';

/** The usual runtime locations of per-container files (Docker, podman/CRI-O, lnetd's own). */
export const DEFAULT_FILES_DIRS: readonly string[] = ['/var/lib/docker/containers', '/var/lib/containers', '/run/containers', '/run/lnetd/files'];

export interface FilePolicy {
  /** Directories (trees) request paths may be in. */
  allowed: readonly string[];
  /** lnetd's own trees (data dir, netns dir): never. */
  ownDirs: readonly string[];
  /** Directories holding lnetd's own files (the socket's, the run dir with its locks): their direct entries, never. */
  ownFlatDirs: readonly string[];
}

export function filePolicy(opts: { filesDirs?: readonly string[]; dataDir?: string; netnsDir: string; socket?: string; runDir?: string }): FilePolicy {
  return {
    allowed: (opts.filesDirs ?? DEFAULT_FILES_DIRS).map(trim),
    ownDirs: [opts.dataDir, opts.netnsDir].filter((d): d is string => !!d).map(trim),
    ownFlatDirs: [opts.socket && dirname(normalize(opts.socket)), opts.runDir].filter((d): d is string => !!d).map(trim),
  };
}

const trim = (d: string): string => (d.length > 1 ? normalize(d).replace(/\/+$/, '') : d);
const inside = (p: string, dir: string): boolean => dir === '/' || p.startsWith(`${dir}/`);

/** The rule a path breaks, or undefined when lnetd may write it. */
export function pathRule(path: string, policy: FilePolicy): string | undefined {
  const p = normalize(path);
  if (!p.startsWith('/') || p !== path.replace(/\/{2,}/g, '/') || p.endsWith('/')) return 'must be an absolute file path without "." or ".." parts';
  for (const d of policy.ownDirs) if (p === d || inside(p, d)) return `is inside lnetd's own directory ${d}`;
  for (const d of policy.ownFlatDirs) if (dirname(p) === d) return `is in ${d}, beside lnetd's socket or run files`;
  if (!policy.allowed.some((d) => inside(p, d))) return `is not inside an allowed directory (--files-dirs: ${policy.allowed.join(', ') || 'none'})`;
  return undefined;
}

/** 400 naming the field and the rule, before anything is written. */
export function checkFilePath(field: string, path: string, policy: FilePolicy): void {
  const rule = pathRule(path, policy);
  if (rule) throw new BadRequest(`${field} ${JSON.stringify(path.slice(0, 200))} ${rule}`, 'INVALID_PATH');
}
