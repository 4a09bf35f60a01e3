// rtnlBatches([[nsFd, datagram, lastSeq, keep], ...]): up to MAX_PARTS
// datagrams of rtnetlink requests (encoded in JavaScript by the netlink
// package), each sent with one sendmsg in the network namespace behind its
// nsFd and read until the kernel has answered its last request, one after
// the other on the same libuv pool thread (a join's veth in the daemon's
// namespace, then the sandbox's side of it: one trip to the pool and back).
// The kernel does a request's work inside sendmsg (creating a veth pair is
// ~0.5-1 ms, longer while another namespace holds RTNL), so on the main
// thread it would stall every other request the daemon is serving. The parts
// after one whose answers hold an error are not sent. Resolves with, for each
// part sent, the [seq, errno] of every error or ACK message read (errno 0: ACK).
//
// The thread enters the namespace behind nsFd only to open the socket (a
// netlink socket stays bound to the namespace it was made in) and goes home
// at once. Always an explicit fd, also for the daemon's own namespace: pool
// threads need not share the main thread's namespace (tests move only the
// main thread into a throwaway one), and a request must never land in
// whatever namespace a pool thread happens to be in.
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
#define MAX_PARTS 4

typedef struct {
  int ns_fd;
  bool keep;
  uint32_t last_seq;
  size_t len;
  char *data;
  size_t n;
  uint32_t seq[MAX_ANSWERS];
  int32_t code[MAX_ANSWERS];
} part_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  size_t nparts;
  size_t ran;         // parts sent and answered
  int err;
  const char *what;
  part_t part[MAX_PARTS];
} batch_t;

static int open_socket(batch_t *job, part_t *p) {
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) { job->what = "open own netns"; return -1; }
  if (setns(p->ns_fd, CLONE_NEWNET) != 0) { job->what = "setns"; int e = errno; close(home); errno = e; return -1; }
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

static int part_socket(batch_t *job, part_t *p) {
  if (!p->keep) return open_socket(job, p);
  struct stat st;
  if (fstat(p->ns_fd, &st) != 0) { job->what = "fstat netns"; return -1; }
  if (kept_sock >= 0 && st.st_dev == kept_dev && st.st_ino == kept_ino) return kept_sock;
  drop_kept();
  int s = open_socket(job, p);
  if (s < 0) return -1;
  kept_sock = s;
  kept_dev = st.st_dev;
  kept_ino = st.st_ino;
  return s;
}

static void done_socket(part_t *p, int s, bool failed) {
  if (!p->keep) { close(s); return; }
  // after a failed send or read the socket may hold answers nobody reads: start afresh
  if (failed) drop_kept();
}

// One part: send its datagram, read answers up to its last request's. 0, or -1 with job->err set.
static int run_part(batch_t *job, part_t *p) {
  int s = part_socket(job, p);
  if (s < 0) { job->err = errno; return -1; }
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(s, p->data, p->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    job->err = errno; job->what = "sendmsg"; done_socket(p, s, true); return -1;
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
      if (p->n < MAX_ANSWERS) {
        p->seq[p->n] = h->nlmsg_seq;
        p->code[p->n] = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
        p->n++;
      }
      if (h->nlmsg_seq == p->last_seq) done = 1;
    }
    if (done) break;
  }
  done_socket(p, s, job->err != 0);
  return job->err ? -1 : 0;
}

static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_t *job = data;
  for (size_t i = 0; i < job->nparts; i++) {
    part_t *p = &job->part[i];
    if (run_part(job, p) != 0) return;
    job->ran = i + 1;
    // a refused request: what follows builds on it, so it is not sent
    for (size_t k = 0; k < p->n; k++) if (p->code[k]) return;
  }
}

static napi_value answers(napi_env env, part_t *p) {
  napi_value list;
  napi_create_array_with_length(env, p->n, &list);
  for (size_t i = 0; i < p->n; i++) {
    napi_value pair, seq, code;
    napi_create_array_with_length(env, 2, &pair);
    napi_create_uint32(env, p->seq[i], &seq);
    napi_create_int32(env, p->code[i], &code);
    napi_set_element(env, pair, 0, seq);
    napi_set_element(env, pair, 1, code);
    napi_set_element(env, list, i, pair);
  }
  return list;
}

static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_t *job = data;
  if (status == napi_ok && !job->err) {
    napi_value out;
    napi_create_array_with_length(env, job->ran, &out);
    for (size_t i = 0; i < job->ran; i++) napi_set_element(env, out, i, answers(env, &job->part[i]));
    napi_resolve_deferred(env, job->deferred, out);
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
  for (size_t i = 0; i < job->nparts; i++) free(job->part[i].data);
  free(job);
}

// Read one part's (nsFd, datagram, lastSeq[, keep]) from argv; a copy of the
// datagram: the caller's Buffer may be collected or reused while the pool thread sends.
static bool read_part(napi_env env, size_t argc, napi_value *argv, part_t *p) {
  int32_t ns_fd;
  void *bytes;
  size_t len;
  bool is_buffer = false;
  if (argc >= 3) napi_is_buffer(env, argv[1], &is_buffer);
  if (argc < 3 || napi_get_value_int32(env, argv[0], &ns_fd) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &bytes, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &p->last_seq) != napi_ok ||
      len == 0 || ns_fd < 0) return false;
  p->data = malloc(len);
  if (!p->data) return false;
  memcpy(p->data, bytes, len);
  p->len = len;
  p->ns_fd = ns_fd;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &p->keep);
  return true;
}

static napi_value queue(napi_env env, batch_t *job) {
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "lnetd:rtnlBatches", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, batch_execute, batch_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static void free_job(batch_t *job) {
  for (size_t i = 0; i < MAX_PARTS; i++) free(job->part[i].data);
  free(job);
}

napi_value rtnl_batches(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value list;
  napi_get_cb_info(env, info, &argc, &list, NULL, NULL);
  bool is_array = false;
  uint32_t count = 0;
  if (argc >= 1) napi_is_array(env, list, &is_array);
  if (is_array) napi_get_array_length(env, list, &count);
  if (!is_array || count == 0 || count > MAX_PARTS) {
    napi_throw_type_error(env, NULL, "rtnlBatches(parts) needs an array of 1 to 4 [nsFd, datagram, lastSeq, keep] parts");
    return NULL;
  }
  batch_t *job = calloc(1, sizeof *job);
  if (!job) { napi_throw_error(env, NULL, "rtnlBatches: out of memory"); return NULL; }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item, argv[4];
    bool ok = napi_get_element(env, list, i, &item) == napi_ok;
    uint32_t n = 0;
    bool arr = false;
    if (ok) napi_is_array(env, item, &arr);
    if (arr) napi_get_array_length(env, item, &n);
    if (!arr || n < 3 || n > 4) ok = false;
    for (uint32_t k = 0; ok && k < n; k++) ok = napi_get_element(env, item, k, &argv[k]) == napi_ok;
    if (!ok || !read_part(env, n, argv, &job->part[i])) {
      free_job(job);
      napi_throw_type_error(env, NULL, "rtnlBatches: each part is [nsFd, datagram (a non-empty Buffer), lastSeq, keep?]");
      return NULL;
    }
  }
  job->nparts = count;
  return queue(env, job);
}
