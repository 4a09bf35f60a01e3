// The version handshake of the Docker Engine API. Every route answers with
// and without a `/v1.NN` prefix; a version outside [MIN, MAX] is a 400 in
// dockerd's words. 1.44 is the floor because below it the CLI sends
// CheckDuplicate and reads fields lnetd never fills; 1.50 is what the docker
// CLI 28 speaks, so it negotiates no lower.

export const MIN_API_VERSION = '1.44';
export const MAX_API_VERSION = '1.50';

const PREFIX_RE = /^\/v(\d+(?:\.\d+)?)(?=\/)/;

/** Compare dotted versions numerically ("1.9" < "1.10"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export interface Versioned { version: string; path: string }

/** Split `/v1.50/networks` into the version and the path without it. */
export function splitVersion(path: string): Versioned {
  const m = PREFIX_RE.exec(path);
  if (!m) return { version: MAX_API_VERSION, path };
  return { version: m[1], path: path.slice(m[0].length) };
}

/** dockerd's message for a version it does not serve, or undefined when served. */
export function unsupported(version: string): string | undefined {
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    return `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`;
  }
  if (compareVersions(version, MAX_API_VERSION) > 0) {
    return `client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`;
  }
  return undefined;
}
