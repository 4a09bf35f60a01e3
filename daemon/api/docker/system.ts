// /version and /info: what `docker version` and `docker info` print, said
// honestly — lnetd is the server, it runs no containers and holds no images;
// its network drivers are the ones it has.

import os from 'node:os';
import { MAX_API_VERSION, MIN_API_VERSION } from './versions.js';

export interface ServerInfo {
  version: string;          // lnetd's version
  drivers: string[];        // network drivers
  networks: number;
  started: Date;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
export const goArch = (): string => ARCH[process.arch] ?? process.arch;

export function versionBody(s: ServerInfo) {
  const details = { ApiVersion: MAX_API_VERSION, MinAPIVersion: MIN_API_VERSION, Arch: goArch(), Os: 'linux', KernelVersion: os.release(), NodeVersion: process.version };
  return {
    Platform: { Name: `lnetd ${s.version} (network API only)` },
    Components: [{ Name: 'lnetd', Version: s.version, Details: details }],
    Version: s.version,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: os.release(),
    BuildTime: s.started.toISOString(),
  };
}

export function infoBody(s: ServerInfo) {
  return {
    ID: '',
    Containers: 0, ContainersRunning: 0, ContainersPaused: 0, ContainersStopped: 0, Images: 0,
    Driver: '', DriverStatus: [],
    Plugins: { Volume: [], Network: s.drivers, Authorization: null, Log: [] },
    MemoryLimit: false, SwapLimit: false, CpuCfsPeriod: false, CpuCfsQuota: false, CPUShares: false, CPUSet: false, PidsLimit: false,
    IPv4Forwarding: true, Debug: false, NFd: 0, OomKillDisable: false, NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: '', CgroupDriver: '', CgroupVersion: '', NEventsListener: 0,
    KernelVersion: os.release(), OperatingSystem: 'lnetd (network API only)', OSVersion: '', OSType: 'linux', Architecture: os.machine(),
    IndexServerAddress: '', RegistryConfig: null,
    NCPU: os.cpus().length, MemTotal: os.totalmem(),
    GenericResources: null, DockerRootDir: '', HttpProxy: '', HttpsProxy: '', NoProxy: '',
    Name: 'lnetd', Labels: [`lnetd.networks=${s.networks}`], ExperimentalBuild: false,
    ServerVersion: s.version,
    Runtimes: {}, DefaultRuntime: '',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true, Isolation: '', InitBinary: '',
    ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
    SecurityOptions: [], CDISpecDirs: [],
    Warnings: ['lnetd serves the Docker network API only: containers, images and volumes are not served'],
  };
}
