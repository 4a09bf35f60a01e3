// Fault injection for crash-safety tests: LNETD_FAULT=join:after-veth makes
// the daemon kill itself (SIGKILL, no clean-up, like a power cut for our
// process) when it reaches that step. The crash test walks every step below.

/** Every named step, in the order each operation reaches them. Publish,
 *  attach and detach of a service run createEndpoint, join and leave; Docker's
 *  connect and disconnect are operations of their own (the driver's join and
 *  leave steps run inside them too). */
export const FAULT_STEPS = [
  'createNetwork:after-intent', 'createNetwork:after-bridge', 'createNetwork:after-addr',
  'createNetwork:after-firewall', 'createNetwork:after-driver',
  'deleteNetwork:after-intent', 'deleteNetwork:after-firewall', 'deleteNetwork:after-bridge', 'deleteNetwork:after-driver',
  'createEndpoint:after-intent', 'createEndpoint:after-driver',
  'deleteEndpoint:after-intent', 'deleteEndpoint:after-driver',
  'join:after-intent', 'join:after-netns', 'join:after-veth', 'join:after-setup',
  'join:after-portmap', 'join:after-driver', 'join:after-files',
  'leave:after-intent', 'leave:after-portmap', 'leave:after-veth', 'leave:after-driver', 'leave:after-netns',
  'connect:after-intent', 'connect:after-endpoint', 'connect:after-netns', 'connect:after-join',
  'disconnect:after-intent', 'disconnect:after-leave', 'disconnect:after-netns', 'disconnect:after-endpoint',
] as const;

export type FaultStep = (typeof FAULT_STEPS)[number];

export class FaultError extends Error {}

/** The hook for LNETD_FAULT, or undefined when unset. A step name that does
 *  not exist is refused, so a typo can't make a crash test pass vacuously. */
export function faultFromEnv(env: NodeJS.ProcessEnv): ((step: string) => void) | undefined {
  const want = env.LNETD_FAULT;
  if (!want) return undefined;
  if (!(FAULT_STEPS as readonly string[]).includes(want)) {
    throw new FaultError(`LNETD_FAULT=${want} is not a fault step; known steps: ${FAULT_STEPS.join(', ')}`);
  }
  return (step: string) => {
    if (step === want) process.kill(process.pid, 'SIGKILL');
  };
}
