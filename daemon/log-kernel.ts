// Kernel and firewall steps in the log: one decorator around the Kernel
// (drivers/linux/kernel.ts) and Firewall (drivers/linux/firewall.ts)
// interfaces, so every link, address, route, namespace and nftables change
// any driver makes is logged without a log call at any call site.
//
// - debug: each change (link create/delete/move, addresses, routes, sysctls,
//   namespace make/mount/unmount, nft transactions) with its arguments and
//   how long it took; a failed step with its error.
// - trace: reads (link and address dumps, lookups, sysctl reads) and handle
//   releases, which come by the hundred at start-up.
// Below debug the objects are returned unwrapped: nothing is added on the
// hot path.

import type { Kernel } from '../drivers/linux/kernel.js';

export interface StepLogger {
  debug(o: object, msg?: string): void;
  trace(o: object, msg?: string): void;
  isLevelEnabled(level: string): boolean;
}

/** Kernel methods that change nothing: logged at trace. */
const KERNEL_READS = new Set<string>(['links', 'link', 'addresses', 'routes', 'readSysctl', 'isNetns', 'netnsInode', 'releaseNetns']);

const MAX_ARGS = 600;

const compact = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

/** The arguments as one short string for the message. */
export function describeArgs(args: readonly unknown[]): string {
  const s = args.filter((a) => a !== undefined).map(compact).join(' ');
  return s.length > MAX_ARGS ? `${s.slice(0, MAX_ARGS)}… (${s.length} chars)` : s;
}

interface Options {
  /** The component named in each line: kernel, firewall, dns firewall. */
  component: string;
  /** Methods logged at trace instead of debug. */
  trace?: ReadonlySet<string>;
  /** Shorter arguments for methods whose arguments are big (a whole restore). */
  summary?: Record<string, (args: unknown[]) => string>;
}

/** Wrap every method of target: one log line per call, after it settled. */
export function logged<T extends object>(target: T, log: StepLogger, opts: Options): T {
  if (!log.isLevelEnabled('debug')) return target;
  const traceOn = log.isLevelEnabled('trace');
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'constructor') return v;
      const atTrace = opts.trace?.has(prop) ?? false;
      if (atTrace && !traceOn) return v.bind(t);
      let fn = wrapped.get(prop);
      if (fn) return fn;
      const emit = atTrace ? log.trace.bind(log) : log.debug.bind(log);
      fn = (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const ms = () => Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3;
        const what = `${opts.component} ${prop}${args.length ? ` ${opts.summary?.[prop]?.(args) ?? describeArgs(args)}` : ''}`;
        const ok = (r: unknown) => { emit({ component: opts.component, op: prop, ms: ms() }, what); return r; };
        const fail = (err: unknown) => { emit({ component: opts.component, op: prop, ms: ms(), err }, `${what} failed`); throw err; };
        let r: unknown;
        try {
          r = (v as (...a: unknown[]) => unknown).apply(t, args);
        } catch (err) {
          return fail(err);
        }
        if (r && typeof (r as Promise<unknown>).then === 'function') return (r as Promise<unknown>).then(ok, fail);
        return ok(r);
      };
      wrapped.set(prop, fn);
      return fn;
    },
  });
}

export function loggedKernel<K extends Kernel>(kernel: K, log: StepLogger): K {
  return logged(kernel, log, { component: 'kernel', trace: KERNEL_READS });
}

const count = (n: unknown, what: string) => `${Array.isArray(n) ? n.length : 0} ${what}`;

/** The firewall (or the DNS table's): every nft transaction at debug. */
export function loggedFirewall<F extends object>(fw: F, log: StepLogger, component = 'firewall'): F {
  return logged(fw, log, {
    component,
    summary: { restore: (a) => `${count(a[0], 'networks')}, ${count(a[1], 'port maps')}` },
  });
}
