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
#include <sys/mount.h>
#include <node_api.h>

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

// unmount(path): lazy unmount, so a namespace still in use by a process stays
// alive for that process while the path is released.
static napi_value un_mount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_string(env, argv[0], path, sizeof path)) {
    napi_throw_type_error(env, NULL, "unmount(path) needs a path");
    return NULL;
  }
  if (umount2(path, MNT_DETACH) != 0) return throw_errno(env, "umount", errno);
  return NULL;
}

// mountTmpfs(path): a small tmpfs on the netns directory, shared so that mount
// namespaces made later (a runtime's) see the namespaces bound inside it. On
// disk file systems creating each mount-point file costs 0.3-1.3 ms here.
static napi_value mount_tmpfs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_string(env, argv[0], path, sizeof path)) {
    napi_throw_type_error(env, NULL, "mountTmpfs(path) needs a path");
    return NULL;
  }
  if (mount("lnetd-netns", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0) return throw_errno(env, "mount tmpfs", errno);
  if (mount(NULL, path, NULL, MS_SHARED, NULL) != 0) {
    int err = errno;
    umount2(path, MNT_DETACH);
    return throw_errno(env, "mount --make-shared", err);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"unshareNet", NULL, unshare_net, NULL, NULL, NULL, napi_default, NULL},
    {"setns", NULL, set_ns, NULL, NULL, NULL, napi_default, NULL},
    {"bindMount", NULL, bind_mount, NULL, NULL, NULL, napi_default, NULL},
    {"unmount", NULL, un_mount, NULL, NULL, NULL, napi_default, NULL},
    {"mountTmpfs", NULL, mount_tmpfs, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
