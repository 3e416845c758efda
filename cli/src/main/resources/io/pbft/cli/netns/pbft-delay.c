/*
 * pbft-delay: holds every packet the kernel hands to one netfilter queue (iptables -j NFQUEUE)
 * for a fixed delay plus a random jitter, then lets it go on (verdict ACCEPT). It stands in for
 * tc netem, which some kernels (firecracker's among them) are built without: the packets stay in
 * the kernel, only their verdict waits, so the path between network namespaces really is slower.
 * A jitter wider than the gap between two packets of one connection reorders them.
 *
 * Usage: pbft-delay QUEUE DELAY_US JITTER_US
 *   prints "ready" on stdout once it is bound to the queue; exits on SIGTERM or SIGINT.
 *
 * Built by io.pbft.cli.netns.NetnsNetwork with: gcc -O2 pbft-delay.c -lnetfilter_queue
 * (Debian: libnetfilter-queue-dev).
 */
#define _GNU_SOURCE /* ppoll */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Packets held at once; beyond this a packet goes on at once and is counted. */
#define HELD_MAX (1 << 18)
/* Packets the kernel queues for us before it drops (it counts them in /proc/net/netfilter/nfnetlink_queue). */
#define QUEUE_MAXLEN 65536

struct held {
  uint64_t release_ns;
  uint64_t order; /* arrival order: equal release times leave in the order they came */
  uint32_t id;
};

static struct held heap[HELD_MAX];
static size_t held_count;
static uint64_t arrivals;
static uint64_t overflowed;
static uint64_t delay_ns;
static uint64_t jitter_ns;
static struct nfq_q_handle *queue;
static volatile sig_atomic_t stopping;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int earlier(const struct held *a, const struct held *b) {
  return a->release_ns < b->release_ns || (a->release_ns == b->release_ns && a->order < b->order);
}

static void heap_push(struct held h) {
  size_t i = held_count++;
  heap[i] = h;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(&heap[i], &heap[parent])) {
      break;
    }
    struct held t = heap[i];
    heap[i] = heap[parent];
    heap[parent] = t;
    i = parent;
  }
}

static struct held heap_pop(void) {
  struct held top = heap[0];
  heap[0] = heap[--held_count];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < held_count && earlier(&heap[l], &heap[m])) {
      m = l;
    }
    if (r < held_count && earlier(&heap[r], &heap[m])) {
      m = r;
    }
    if (m == i) {
      break;
    }
    struct held t = heap[i];
    heap[i] = heap[m];
    heap[m] = t;
    i = m;
  }
  return top;
}

/* xorshift64*: the jitter needs no cryptographic quality, only independence from the traffic. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t next_random(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *data, void *unused) {
  (void)msg;
  (void)unused;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(data);
  if (ph == NULL) {
    return 0;
  }
  uint32_t id = ntohl(ph->packet_id);
  if (held_count == HELD_MAX) {
    overflowed++;
    return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
  }
  uint64_t jitter = jitter_ns == 0 ? 0 : next_random() % (jitter_ns + 1);
  struct held h = {now_ns() + delay_ns + jitter, arrivals++, id};
  heap_push(h);
  return 0;
}

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s QUEUE DELAY_US JITTER_US\n", argv[0]);
    return 2;
  }
  int queue_num = atoi(argv[1]);
  delay_ns = strtoull(argv[2], NULL, 10) * 1000ull;
  jitter_ns = strtoull(argv[3], NULL, 10) * 1000ull;
  rng_state ^= now_ns();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  struct nfq_handle *h = nfq_open();
  if (h == NULL) {
    perror("nfq_open");
    return 1;
  }
  queue = nfq_create_queue(h, (uint16_t)queue_num, &on_packet, NULL);
  if (queue == NULL) {
    perror("nfq_create_queue (is nfnetlink_queue in this kernel, and are we root?)");
    return 1;
  }
  /* Only the metadata (the packet id): the verdict needs nothing else, so nothing is copied. */
  if (nfq_set_mode(queue, NFQNL_COPY_META, 0) < 0) {
    perror("nfq_set_mode");
    return 1;
  }
  nfq_set_queue_maxlen(queue, QUEUE_MAXLEN);
  /* Large (GSO) packets as they are, instead of cut into segments for us. */
  nfq_set_queue_flags(queue, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  int fd = nfq_fd(h);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  int rcvbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

  printf("ready\n");
  fflush(stdout);

  char buf[65536];
  while (!stopping) {
    uint64_t now = now_ns();
    while (held_count > 0 && heap[0].release_ns <= now) {
      struct held due = heap_pop();
      nfq_set_verdict(queue, due.id, NF_ACCEPT, 0, NULL);
    }
    struct timespec wait;
    struct timespec *timeout = NULL;
    if (held_count > 0) {
      uint64_t left = heap[0].release_ns - now;
      wait.tv_sec = (time_t)(left / 1000000000ull);
      wait.tv_nsec = (long)(left % 1000000000ull);
      timeout = &wait;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ppoll(&p, 1, timeout, NULL);
    if (ready < 0 && errno != EINTR) {
      perror("ppoll");
      return 1;
    }
    if (ready > 0) {
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {
          break;
        }
        nfq_handle_packet(h, buf, (int)n);
      }
    }
  }
  fprintf(stderr, "pbft-delay: queue %d: %llu packets delayed, %llu passed undelayed (more than %d held)\n",
      queue_num, (unsigned long long)arrivals, (unsigned long long)overflowed, HELD_MAX);
  nfq_destroy_queue(queue);
  nfq_close(h);
  return 0;
}
