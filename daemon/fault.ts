// Fault injection for crash-safety tests: LNETD_FAULT=join:after-netns makes
// the daemon kill itself (SIGKILL, no clean-up) when it reaches that step.

export function faultFromEnv(env: NodeJS.ProcessEnv): ((step: string) => void) | undefined {
  const want = env.LNETD_FAULT;
  if (!want) return undefined;
  return (step: string) => {
    if (step === want) process.kill(process.pid, 'SIGKILL');
  };
}
