// rtnlBatch(nsFd, datagram, lastSeq): in the network namespace behind nsFd, one sendmsg of a datagram of rtnetlink
// requests (encoded in JavaScript by the netlink package) and the reads until
// the kernel has answered the last one, all on a libuv pool thread. The
// kernel does a request's work inside sendmsg (creating a veth pair is
// ~0.5-1 ms, longer while another namespace holds RTNL), so on the main
// thread it would stall every other request the daemon is serving.
//
// The thread enters the namespace behind nsFd only to open the socket (a
// netlink socket stays bound to the namespace it was made in) and goes home
// at once. Always an explicit fd, also for the daemon's own namespace: pool
// threads need not share the main thread's namespace (tests move only the
// main thread into a throwaway one), and a request must never land in
// whatever namespace a pool thread happens to be in. Resolves with the
// [seq, errno] of every error or ACK message read (errno 0: ACK).
//
// keep (4th argument, the daemon's own namespace): the pool thread keeps its
// socket there for the next batch instead of making one per batch (an open,
// two setns, a socket and two closes each time), one per thread, checked
// against the namespace's nsfs identity before every use. Never for a
// sandbox: a socket holds its namespace alive, and a left container's
// namespace must be reaped (and its veth with it) when its mount goes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include "rtnl.h"

#define MAX_ANSWERS 64

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int ns_fd;
  bool keep;
  uint32_t last_seq;
  size_t len;
  char *data;
  int err;
  const char *what;
  size_t n;
  uint32_t seq[MAX_ANSWERS];
  int32_t code[MAX_ANSWERS];
} batch_t;

static int open_socket(batch_t *job) {
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) { job->what = "open own netns"; return -1; }
  if (setns(job->ns_fd, CLONE_NEWNET) != 0) { job->what = "setns"; int e = errno; close(home); errno = e; return -1; }
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  int e = errno;
  if (setns(home, CLONE_NEWNET) != 0) { e = errno; if (s >= 0) close(s); s = -1; job->what = "setns home"; }
  close(home);
  if (s < 0 && !job->what) job->what = "netlink socket";
  errno = e;
  if (s >= 0) {
    int one = 1;  // errors answer without a copy of the request
    setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  }
  return s;
}

// This pool thread's socket in a kept namespace (a thread runs one job at a time).
static __thread int kept_sock = -1;
static __thread dev_t kept_dev;
static __thread ino_t kept_ino;

static void drop_kept(void) {
  if (kept_sock >= 0) close(kept_sock);
  kept_sock = -1;
}

static int job_socket(batch_t *job) {
  if (!job->keep) return open_socket(job);
  struct stat st;
  if (fstat(job->ns_fd, &st) != 0) { job->what = "fstat netns"; return -1; }
  if (kept_sock >= 0 && st.st_dev == kept_dev && st.st_ino == kept_ino) return kept_sock;
  drop_kept();
  int s = open_socket(job);
  if (s < 0) return -1;
  kept_sock = s;
  kept_dev = st.st_dev;
  kept_ino = st.st_ino;
  return s;
}

static void done_socket(batch_t *job, int s, bool failed) {
  if (!job->keep) { close(s); return; }
  // after a failed send or read the socket may hold answers nobody reads: start afresh
  if (failed) drop_kept();
}

static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_t *job = data;
  int s = job_socket(job);
  if (s < 0) { job->err = errno; return; }
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(s, job->data, job->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    job->err = errno; job->what = "sendmsg"; done_socket(job, s, true); return;
  }
  char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      job->err = errno; job->what = "recv"; break;
    }
    int done = 0;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      if (job->n < MAX_ANSWERS) {
        job->seq[job->n] = h->nlmsg_seq;
        job->code[job->n] = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
        job->n++;
      }
      if (h->nlmsg_seq == job->last_seq) done = 1;
    }
    if (done) break;
  }
  done_socket(job, s, job->err != 0);
}

static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_t *job = data;
  if (status == napi_ok && !job->err) {
    napi_value list;
    napi_create_array_with_length(env, job->n, &list);
    for (size_t i = 0; i < job->n; i++) {
      napi_value pair, seq, code;
      napi_create_array_with_length(env, 2, &pair);
      napi_create_uint32(env, job->seq[i], &seq);
      napi_create_int32(env, job->code[i], &code);
      napi_set_element(env, pair, 0, seq);
      napi_set_element(env, pair, 1, code);
      napi_set_element(env, list, i, pair);
    }
    napi_resolve_deferred(env, job->deferred, list);
  } else {
    int err = job->err ? job->err : EIO;
    char msg[256];
    snprintf(msg, sizeof msg, "rtnetlink %s: %s", job->what ? job->what : "batch", strerror(err));
    napi_value text, error, errnum;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &error);
    napi_create_int32(env, err, &errnum);
    napi_set_named_property(env, error, "errno", errnum);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free(job->data);
  free(job);
}

napi_value rtnl_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t ns_fd;
  uint32_t last_seq;
  void *bytes;
  size_t len;
  bool is_buffer = false;
  if (argc >= 3) napi_is_buffer(env, argv[1], &is_buffer);
  if (argc < 3 || napi_get_value_int32(env, argv[0], &ns_fd) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &bytes, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &last_seq) != napi_ok ||
      len == 0 || ns_fd < 0) {
    napi_throw_type_error(env, NULL, "rtnlBatch(nsFd, datagram, lastSeq) needs a namespace fd, a non-empty Buffer and a sequence number");
    return NULL;
  }
  batch_t *job = calloc(1, sizeof *job);
  char *copy = malloc(len);
  if (!job || !copy) { free(job); free(copy); napi_throw_error(env, NULL, "rtnlBatch: out of memory"); return NULL; }
  // a copy: the caller's Buffer may be collected or reused while the pool thread sends
  memcpy(copy, bytes, len);
  job->data = copy;
  job->len = len;
  job->ns_fd = ns_fd;
  job->last_seq = last_seq;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &job->keep);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "lnetd:rtnlBatch", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, batch_execute, batch_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
