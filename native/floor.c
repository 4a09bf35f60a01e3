// floor: the true floor of one container attach, for `npm run bench`.
//
// One long-lived process doing exactly the kernel work of an attach and a
// detach, nothing else: no HTTP, no store, no process starts. Per attach:
//   1. a network namespace: unshare(CLONE_NEWNET), bind-mounted on a file of
//      a tmpfs, a netlink socket opened inside it, back home with setns();
//   2. one sendmsg on the host socket: the veth pair (peer eth0 created
//      straight in the namespace at ifindex 2, host end on the bridge), then,
//      as a second message in the same datagram, hairpin on the bridge port
//      and no IPv6 link-local (the kernel applies bridge-port settings only
//      to an existing port), then up;
//   3. one sendmsg inside: lo up, eth0 without link-local and up, its
//      address, the default route.
// Only the last message of a datagram asks for an ACK (errors are always
// answered), so each sendmsg costs one recvmsg. Per detach: unmount and
// remove the namespace file; the kernel reaps the namespace and the veth
// with it, off the clock (`floor watch` reports when that really happens).
//
// usage: floor run NETNS_DIR BRIDGE PREFIX16   (stdin: "attach I" | "detach I" | "quit")
//        floor watch                           (prints "del NAME MONOTONIC_NS" per deleted link)
// Replies, one line each: "ok TOTAL_MS NS_MS VETH_MS INSIDE_MS", "ok TOTAL_MS", or "err MESSAGE".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#define PEER_IFINDEX 2   // a fresh namespace has only lo (1), so eth0 can be 2 and nothing needs looking up

static char err_text[512];
static unsigned seq = 1;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int fail(const char *what, int err) {
  snprintf(err_text, sizeof err_text, "%s: %s", what, strerror(err));
  return -1;
}

// ---- building datagrams of several netlink messages ----

typedef struct { char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO))); size_t len; unsigned last_seq; } batch_t;

static struct nlmsghdr *msg_begin(batch_t *b, int type, int flags, const void *body, size_t body_len) {
  struct nlmsghdr *h = (struct nlmsghdr *)(b->buf + b->len);
  memset(h, 0, NLMSG_SPACE(body_len));
  h->nlmsg_len = NLMSG_LENGTH(body_len);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = b->last_seq = seq++;
  memcpy(NLMSG_DATA(h), body, body_len);
  return h;
}

static void msg_end(batch_t *b, struct nlmsghdr *h) { b->len += NLMSG_ALIGN(h->nlmsg_len); }

static struct rtattr *attr(struct nlmsghdr *h, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static struct rtattr *nest(struct nlmsghdr *h, int type) { return attr(h, type, NULL, 0); }
static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)h + h->nlmsg_len - (char *)a; }
static void attr_u32(struct nlmsghdr *h, int type, uint32_t v) { attr(h, type, &v, sizeof v); }
static void attr_u8(struct nlmsghdr *h, int type, uint8_t v) { attr(h, type, &v, sizeof v); }
static void attr_str(struct nlmsghdr *h, int type, const char *s) { attr(h, type, s, strlen(s) + 1); }

// Send the datagram (last message asks for an ACK) and read until that ACK.
static int transact(int sock, batch_t *b, const char *what) {
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  struct iovec iov = { b->buf, b->len };
  struct msghdr m = { .msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1 };
  if (sendmsg(sock, &m, 0) < 0) return fail(what, errno);
  char rbuf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  int first_err = 0;
  for (;;) {
    ssize_t n = recv(sock, rbuf, sizeof rbuf, 0);
    if (n < 0) { if (errno == EINTR) continue; return fail(what, errno); }
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (e && !first_err) first_err = e;
      if (h->nlmsg_seq == b->last_seq) return first_err ? fail(what, first_err) : 0;
    }
  }
}

static int rtnl_socket(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return s;
  int one = 1;
  // only what failed is echoed back, not the whole request
  setsockopt(s, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return s;
}

// ---- one attach, one detach ----

static int host_sock = -1, home_fd = -1, bridge_index = 0;
static const char *netns_dir, *bridge, *prefix16;

static void addr_of(int i, char *out, size_t len) {
  int n = i + 2;  // skip .0 and the gateway .1
  snprintf(out, len, "%s.%d.%d", prefix16, (n >> 8) & 255, n & 255);
}

// The namespace: its file on the tmpfs, unshare, bind mount, its socket, home.
static int make_netns(const char *path, int *ns_fd, int *ns_sock) {
  int f = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (f < 0) return fail("create netns file", errno);
  close(f);
  if (unshare(CLONE_NEWNET) != 0) { unlink(path); return fail("unshare", errno); }
  int rc = 0;
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) != 0) rc = fail("bind mount", errno);
  else if ((*ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) rc = fail("open netns", errno);
  else if ((*ns_sock = rtnl_socket()) < 0) rc = fail("netlink socket in netns", errno);
  if (setns(home_fd, CLONE_NEWNET) != 0) { fprintf(stderr, "floor: setns home: %s\n", strerror(errno)); exit(1); }
  if (rc) { umount2(path, MNT_DETACH); unlink(path); }
  return rc;
}

static void no_ipv6_ll(struct nlmsghdr *h) {
  struct rtattr *af = nest(h, IFLA_AF_SPEC);
  struct rtattr *in6 = nest(h, AF_INET6);
  attr_u8(h, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
  nest_end(h, in6);
  nest_end(h, af);
}

// sendmsg 1, on the host socket: veth pair, then port settings and up.
static int veth(int i, int ns_fd) {
  char host[IFNAMSIZ];
  snprintf(host, sizeof host, "veth%d", i);
  batch_t b = { .len = 0 };
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nlmsghdr *h = msg_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  attr_str(h, IFLA_IFNAME, host);
  attr_u32(h, IFLA_MASTER, bridge_index);
  struct rtattr *li = nest(h, IFLA_LINKINFO);
  attr_str(h, IFLA_INFO_KIND, "veth");
  struct rtattr *data = nest(h, IFLA_INFO_DATA);
  struct rtattr *peer = nest(h, VETH_INFO_PEER);
  struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC, .ifi_index = PEER_IFINDEX };
  memcpy((char *)h + h->nlmsg_len, &pifi, sizeof pifi);
  h->nlmsg_len += NLMSG_ALIGN(sizeof pifi);
  attr_str(h, IFLA_IFNAME, "eth0");
  attr_u32(h, IFLA_NET_NS_FD, ns_fd);
  nest_end(h, peer);
  nest_end(h, data);
  nest_end(h, li);
  msg_end(&b, h);

  struct ifinfomsg up = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  h = msg_begin(&b, RTM_NEWLINK, NLM_F_ACK, &up, sizeof up);
  attr_str(h, IFLA_IFNAME, host);
  li = nest(h, IFLA_LINKINFO);
  struct rtattr *sd = nest(h, IFLA_INFO_SLAVE_DATA);
  attr_u8(h, IFLA_BRPORT_MODE, 1);  // hairpin
  nest_end(h, sd);
  nest_end(h, li);
  no_ipv6_ll(h);
  msg_end(&b, h);
  return transact(host_sock, &b, "veth");
}

// sendmsg 2, inside: lo up, eth0 (no link-local) up, address, default route.
static int inside(int i, int ns_sock) {
  char a[32], gw[32];
  addr_of(i, a, sizeof a);
  snprintf(gw, sizeof gw, "%s.0.1", prefix16);
  struct in_addr ia, ig;
  inet_pton(AF_INET, a, &ia);
  inet_pton(AF_INET, gw, &ig);
  batch_t b = { .len = 0 };
  struct ifinfomsg lo = { .ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  struct nlmsghdr *h = msg_begin(&b, RTM_NEWLINK, 0, &lo, sizeof lo);
  msg_end(&b, h);
  struct ifinfomsg eth = { .ifi_family = AF_UNSPEC, .ifi_index = PEER_IFINDEX, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  h = msg_begin(&b, RTM_NEWLINK, 0, &eth, sizeof eth);
  no_ipv6_ll(h);
  msg_end(&b, h);
  struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 16, .ifa_index = PEER_IFINDEX };
  h = msg_begin(&b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  attr(h, IFA_LOCAL, &ia, 4);
  attr(h, IFA_ADDRESS, &ia, 4);
  msg_end(&b, h);
  struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                      .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
  h = msg_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &rt, sizeof rt);
  attr(h, RTA_GATEWAY, &ig, 4);
  attr_u32(h, RTA_OIF, PEER_IFINDEX);
  msg_end(&b, h);
  return transact(ns_sock, &b, "inside");
}

static void attach(int i) {
  char path[4096];
  snprintf(path, sizeof path, "%s/ns%d", netns_dir, i);
  int ns_fd = -1, ns_sock = -1;
  double t0 = now_ms();
  if (make_netns(path, &ns_fd, &ns_sock)) { printf("err %s\n", err_text); return; }
  double t1 = now_ms();
  int rc = veth(i, ns_fd);
  double t2 = now_ms();
  if (!rc) rc = inside(i, ns_sock);
  // like a daemon that keeps nothing open per container once it is attached
  close(ns_sock);
  close(ns_fd);
  double t3 = now_ms();
  if (rc) { umount2(path, MNT_DETACH); unlink(path); printf("err %s\n", err_text); return; }
  printf("ok %.4f %.4f %.4f %.4f\n", t3 - t0, t1 - t0, t2 - t1, t3 - t2);
}

static void detach(int i) {
  char path[4096];
  snprintf(path, sizeof path, "%s/ns%d", netns_dir, i);
  double t0 = now_ms();
  if (umount2(path, MNT_DETACH) != 0) { printf("err umount: %s\n", strerror(errno)); return; }
  if (unlink(path) != 0) { printf("err unlink: %s\n", strerror(errno)); return; }
  printf("ok %.4f\n", now_ms() - t0);
}

static int run(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: floor run NETNS_DIR BRIDGE PREFIX16\n"); return 2; }
  netns_dir = argv[2]; bridge = argv[3]; prefix16 = argv[4];
  home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  host_sock = rtnl_socket();
  bridge_index = if_nametoindex(bridge);
  if (home_fd < 0 || host_sock < 0 || !bridge_index) { fprintf(stderr, "floor: no bridge %s or no netlink: %s\n", bridge, strerror(errno)); return 1; }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    int i;
    if (sscanf(line, "attach %d", &i) == 1) attach(i);
    else if (sscanf(line, "detach %d", &i) == 1) detach(i);
    else if (!strncmp(line, "quit", 4)) break;
    else printf("err unknown request\n");
  }
  return 0;
}

// ---- watch: when links really go, for every system alike ----

static int watch(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  int big = 16 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
  if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("floor watch"); return 1; }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  static char buf[1 << 16] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long ns = t.tv_sec * 1000000000LL + t.tv_nsec;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) { printf("overrun %lld\n", ns); continue; }
      perror("floor watch recv");
      return 1;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != RTM_DELLINK) continue;
      struct ifinfomsg *ifi = NLMSG_DATA(h);
      int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi);
      for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME) printf("del %s %lld\n", (char *)RTA_DATA(a), ns);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "run")) return run(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "watch")) return watch();
  fprintf(stderr, "usage: floor run NETNS_DIR BRIDGE PREFIX16 | floor watch\n");
  return 2;
}
