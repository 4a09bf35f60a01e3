// nsutil: the few syscalls Node has no binding for, used by drivers/linux to
// work inside network namespaces without starting a process per operation.
// Every call is synchronous on the calling (main) thread: setns() changes the
// namespace of that thread only, so the daemon enters a namespace, opens a
// netlink socket there (a socket stays bound to the namespace it was created
// in) and returns, all before any other JavaScript can run.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>
#include <node_api.h>
#include "rtnl.h"

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_string_utf8(env, err == ENOENT ? "ENOENT" : err == EINVAL ? "EINVAL" : err == EBUSY ? "EBUSY" : err == EPERM ? "EPERM" : "ENATIVE", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_value errnum;
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t got;
  if (napi_get_value_string_utf8(env, v, buf, len, &got) != napi_ok) return -1;
  return got < len - 1 ? 0 : -1;
}

// unshareNet(): move the calling thread into a fresh network namespace.
static napi_value unshare_net(napi_env env, napi_callback_info info) {
  (void)info;
  if (unshare(CLONE_NEWNET) != 0) return throw_errno(env, "unshare(CLONE_NEWNET)", errno);
  return NULL;
}

// setns(fd): move the calling thread into the network namespace behind fd.
static napi_value set_ns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "setns(fd) needs a file descriptor");
    return NULL;
  }
  if (setns(fd, CLONE_NEWNET) != 0) return throw_errno(env, "setns", errno);
  return NULL;
}

// bindMount(src, dst): bind-mount src on dst (a netns file on its path).
static napi_value bind_mount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char src[4096], dst[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || get_string(env, argv[0], src, sizeof src) || get_string(env, argv[1], dst, sizeof dst)) {
    napi_throw_type_error(env, NULL, "bindMount(src, dst) needs two paths");
    return NULL;
  }
  if (mount(src, dst, "none", MS_BIND, NULL) != 0) return throw_errno(env, "mount --bind", errno);
  return NULL;
}

// The single path argument of a call, into buf; false (with a TypeError
// thrown) when there is none.
static int path_arg(napi_env env, napi_callback_info info, char *buf, size_t len, const char *usage) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_string(env, argv[0], buf, len)) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

// unmount(path): lazy unmount, so a namespace still in use by a process stays
// alive for that process while the path is released.
static napi_value un_mount(napi_env env, napi_callback_info info) {
  char path[4096];
  if (!path_arg(env, info, path, sizeof path, "unmount(path) needs a path")) return NULL;
  if (umount2(path, MNT_DETACH) != 0) return throw_errno(env, "umount", errno);
  return NULL;
}

// unmountNoFollow(path): lazy unmount that refuses to follow a symlink at
// path (UMOUNT_NOFOLLOW), so a link planted in the netns dir under a key's
// name can't make lnetd unmount whatever it points at.
static napi_value un_mount_nofollow(napi_env env, napi_callback_info info) {
  char path[4096];
  if (!path_arg(env, info, path, sizeof path, "unmountNoFollow(path) needs a path")) return NULL;
  if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) return throw_errno(env, "umount", errno);
  return NULL;
}

// openDirNoSymlinks(path): an O_PATH fd on the directory at path, resolved by
// openat2 with RESOLVE_NO_SYMLINKS: no component of the path, not even the
// last, may be a symlink (nor a /proc magic link). lnetd writes a runtime's
// hosts and resolv.conf inside it through /proc/self/fd/N, so the directory
// written into is exactly the one the path names, whatever is planted later.
static napi_value open_dir_nosymlinks(napi_env env, napi_callback_info info) {
  char path[4096];
  if (!path_arg(env, info, path, sizeof path, "openDirNoSymlinks(path) needs a path")) return NULL;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0) return throw_errno(env, "openat2", errno);
  napi_value out;
  napi_create_int32(env, (int32_t)fd, &out);
  return out;
}

// mountTmpfs(path): a small tmpfs on the netns directory, shared so that mount
// namespaces made later (a runtime's) see the namespaces bound inside it. On
// disk file systems creating each mount-point file costs 0.3-1.3 ms here.
static napi_value mount_tmpfs(napi_env env, napi_callback_info info) {
  char path[4096];
  if (!path_arg(env, info, path, sizeof path, "mountTmpfs(path) needs a path")) return NULL;
  if (mount("lnetd-netns", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0) return throw_errno(env, "mount tmpfs", errno);
  if (mount(NULL, path, NULL, MS_SHARED, NULL) != 0) {
    int err = errno;
    umount2(path, MNT_DETACH);
    return throw_errno(env, "mount --make-shared", err);
  }
  return NULL;
}

// makeNetns(): a promise of an fd on a fresh network namespace with lo up,
// made on a libuv pool thread so the kernel's ~0.6 ms for unshare() (and
// the loopback's bring-up) runs beside the main thread instead of on it. The
// pool thread goes home to its own namespace before it returns; nothing else
// it runs depends on the namespace.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int err;
  const char *what;
} make_ns_t;

// lo up in the calling thread's namespace (SIOCSIFFLAGS: one syscall, no netlink socket).
static int lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq r;
  memset(&r, 0, sizeof r);
  strcpy(r.ifr_name, "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &r);
  if (rc == 0) { r.ifr_flags |= IFF_UP; rc = ioctl(s, SIOCSIFFLAGS, &r); }
  int err = errno;
  close(s);
  errno = err;
  return rc;
}

static void make_ns_execute(napi_env env, void *data) {
  (void)env;
  make_ns_t *job = data;
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) { job->err = errno; job->what = "open own netns"; return; }
  if (unshare(CLONE_NEWNET) != 0) { job->err = errno; job->what = "unshare(CLONE_NEWNET)"; close(home); return; }
  job->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (job->fd < 0) { job->err = errno; job->what = "open new netns"; }
  else if (lo_up() != 0) { job->err = errno; job->what = "set lo up"; close(job->fd); job->fd = -1; }
  if (setns(home, CLONE_NEWNET) != 0) {
    // A pool thread left in a stray namespace would be harmless for file and
    // LevelDB work, but say so rather than hide it.
    if (!job->err) { job->err = errno; job->what = "setns home"; }
    if (job->fd >= 0) { close(job->fd); job->fd = -1; }
  }
  close(home);
}

static void make_ns_complete(napi_env env, napi_status status, void *data) {
  make_ns_t *job = data;
  if (status == napi_ok && !job->err) {
    napi_value fd;
    napi_create_int32(env, job->fd, &fd);
    napi_resolve_deferred(env, job->deferred, fd);
  } else {
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", job->what ? job->what : "makeNetns", strerror(job->err ? job->err : EIO));
    napi_value text, error, errnum;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &error);
    napi_create_int32(env, job->err ? job->err : EIO, &errnum);
    napi_set_named_property(env, error, "errno", errnum);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value make_netns(napi_env env, napi_callback_info info) {
  (void)info;
  make_ns_t *job = calloc(1, sizeof *job);
  if (!job) { napi_throw_error(env, NULL, "makeNetns: out of memory"); return NULL; }
  job->fd = -1;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "lnetd:makeNetns", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, make_ns_execute, make_ns_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

// tryLock(fd): flock(fd, LOCK_EX | LOCK_NB). true when we hold it now, false
// when another open file holds it. The kernel drops the lock when the last fd
// on that open file closes, so a killed daemon never leaves it held.
static napi_value try_lock(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "tryLock(fd) needs a file descriptor");
    return NULL;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) { napi_get_boolean(env, true, &out); return out; }
  if (errno == EWOULDBLOCK) { napi_get_boolean(env, false, &out); return out; }
  return throw_errno(env, "flock", errno);
}

// bindPort(family, proto, addr, port): a socket bound to addr:port and never
// listened on, as the reservation of a published host port: while lnetd holds
// it no other process in the namespace can take the port. addr "" is every
// address of the family. No SO_REUSEADDR: with it, another TCP socket that
// sets it too (as Node's and most servers' do) could still bind and listen
// on the port; without it every other bind of the port fails (the price: a
// port with connections still in TIME_WAIT can't be reserved until they
// expire). IPv6 sockets are IPV6_V6ONLY: the IPv4 side is its own socket.
// Returns the fd (close-on-exec).
static napi_value bind_port(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t family, proto, port;
  char addr[64];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || napi_get_value_int32(env, argv[0], &family) != napi_ok || napi_get_value_int32(env, argv[1], &proto) != napi_ok ||
      get_string(env, argv[2], addr, sizeof addr) || napi_get_value_int32(env, argv[3], &port) != napi_ok ||
      (family != 4 && family != 6) || (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) || port < 1 || port > 65535) {
    napi_throw_type_error(env, NULL, "bindPort(family 4|6, proto 6|17|132, addr, port 1-65535)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (addr[0] && inet_pton(AF_INET, addr, &a->sin_addr) != 1) return throw_errno(env, "bindPort: not an IPv4 address", EINVAL);
    len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr = in6addr_any;
    if (addr[0] && inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return throw_errno(env, "bindPort: not an IPv6 address", EINVAL);
    len = sizeof *a;
  }
  int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
  int s = socket(family == 4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, proto);
  if (s < 0) return throw_errno(env, "socket", errno);
  int on = 1;
  if ((family == 6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) ||
      bind(s, (struct sockaddr *)&ss, len) != 0) {
    int err = errno;
    close(s);
    return throw_errno(env, "bind", err);
  }
  napi_value out;
  napi_create_int32(env, s, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"unshareNet", NULL, unshare_net, NULL, NULL, NULL, napi_default, NULL},
    {"setns", NULL, set_ns, NULL, NULL, NULL, napi_default, NULL},
    {"bindMount", NULL, bind_mount, NULL, NULL, NULL, napi_default, NULL},
    {"unmount", NULL, un_mount, NULL, NULL, NULL, napi_default, NULL},
    {"unmountNoFollow", NULL, un_mount_nofollow, NULL, NULL, NULL, napi_default, NULL},
    {"openDirNoSymlinks", NULL, open_dir_nosymlinks, NULL, NULL, NULL, napi_default, NULL},
    {"mountTmpfs", NULL, mount_tmpfs, NULL, NULL, NULL, napi_default, NULL},
    {"makeNetns", NULL, make_netns, NULL, NULL, NULL, napi_default, NULL},
    {"tryLock", NULL, try_lock, NULL, NULL, NULL, napi_default, NULL},
    {"rtnlBatches", NULL, rtnl_batches, NULL, NULL, NULL, napi_default, NULL},
    {"bindPort", NULL, bind_port, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
