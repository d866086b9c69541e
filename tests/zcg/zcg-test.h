/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the zcg regression tests: sockets over loopback, CQE
 * collection with timeouts, and checks that report the failing line.
 * Each test is a standalone program that exits T_EXIT_PASS, T_EXIT_FAIL or
 * T_EXIT_SKIP (77, with the reason on stdout), as liburing's tests do.
 */
#ifndef ZCG_TEST_H
#define ZCG_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <liburing.h>

enum {
	T_EXIT_PASS = 0,
	T_EXIT_FAIL = 1,
	T_EXIT_SKIP = 77,
};

/* Longest wait for a CQE that must come, and for one that must not. */
#define ZT_WAIT_MS	5000
#define ZT_QUIET_MS	200

#define ZT_MAX_CQES	4096

struct zt_cqe {
	__u64	user_data;
	__s32	res;
	__u32	flags;
};

extern const char *zt_case;

/* Fail the current case: print where and why, return T_EXIT_FAIL. */
#define zt_check(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d [%s] %s: ", __FILE__,	\
			__LINE__, zt_case ? zt_case : "-", #cond);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		return T_EXIT_FAIL;					\
	}								\
} while (0)

/* Run a case function; return from the caller unless it passed. */
#define zt_run(name, call) do {						\
	int __r;							\
	zt_case = (name);						\
	__r = (call);							\
	if (__r != T_EXIT_PASS)						\
		return __r;						\
	printf("ok %s\n", zt_case);					\
} while (0)

/*
 * Run a case function and go on with the next case whatever its result
 * (each case has its own ring and sockets): every failing case shows up in
 * one run. main() then returns zt_status(): T_EXIT_FAIL if a case failed,
 * else T_EXIT_SKIP if one skipped (it said why), else T_EXIT_PASS.
 */
extern int zt_failed, zt_skipped;
#define zt_run_on(name, call) do {					\
	int __r;							\
	zt_case = (name);						\
	fflush(stdout);							\
	__r = (call);							\
	fflush(stderr);							\
	if (__r == T_EXIT_PASS) {					\
		printf("ok %s\n", zt_case);				\
	} else if (__r == T_EXIT_SKIP) {				\
		printf("skipped %s\n", zt_case);			\
		zt_skipped++;						\
	} else {							\
		printf("not ok %s\n", zt_case);			\
		zt_failed++;						\
	}								\
	fflush(stdout);							\
} while (0)
int zt_status(void);

void zt_skip_exit(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A connected pair over loopback: SOCK_STREAM (TCP) or SOCK_DGRAM (UDP). */
int zt_socket_pair(int family, int type, int *tx, int *rx);
/*
 * A TCP socket over loopback whose peer reset the connection (closed with
 * SO_LINGER 0; the RST has arrived): sends on it fail with -ECONNRESET or
 * -EPIPE.
 */
int zt_reset_socket(int *tx);
/*
 * A TCP pair over loopback with 4 KiB socket buffers, filled until a send
 * would block: a further send waits for room. tx stays blocking.
 */
int zt_full_pair(int *tx, int *rx);
/*
 * An io_uring with entries SQEs, DEFER_TASKRUN + SINGLE_ISSUER if defer,
 * and buf (len bytes) registered as buffer 0. 0 or -errno.
 */
int zt_ring_init(struct io_uring *ring, unsigned entries, bool defer,
		 void *buf, size_t len);
/* Read exactly len bytes from a stream (or one datagram) into buf. */
int zt_recv_all(int fd, void *buf, size_t len, int type);
void zt_fill(void *buf, size_t len, unsigned seed);

/*
 * The copy-free transports of the zcg guests (tests/guest/wire.sh):
 *
 * zt_wire_pair: a connected pair over the guest's wire, SOCK_STREAM (TCP)
 * or SOCK_DGRAM (UDP): *tx in the root namespace, bound to device zw0
 * (198.18.0.1), *rx created in network namespace zcgpeer (198.18.0.2).
 * Frames leave through one emulated NIC and arrive through the other, so
 * nothing is delivered locally. Returns 0 or -errno; exits with T_EXIT_SKIP
 * (and why) when the guest has no wire.
 *
 * zt_dummy_udp: a UDP socket bound to the dummy device zd0 and connected
 * to 198.19.0.2 (routed to zd0): whatever it sends is freed at transmit,
 * nothing receives it. Returns 0 or -errno; exits with T_EXIT_SKIP when
 * the guest has no dummy device.
 */
#define ZT_WIRE_NETNS	"/run/netns/zcgpeer"
#define ZT_WIRE_TX_DEV	"zw0"
#define ZT_WIRE_TX_ADDR	"198.18.0.1"
#define ZT_WIRE_RX_ADDR	"198.18.0.2"
#define ZT_DUMMY_DEV	"zd0"
#define ZT_DUMMY_DST	"198.19.0.2"
int zt_wire_pair(int type, int *tx, int *rx);
int zt_dummy_udp(int *tx);

/*
 * One IORING_OP_SEND_ZC of len bytes of buf on tx with
 * IORING_SEND_ZC_REPORT_USAGE; when rx >= 0 the data is received there and
 * compared. Returns 1 if the notification reports
 * IORING_NOTIF_USAGE_ZC_COPIED, 0 if not, T_EXIT_FAIL-style -1 (after
 * printing why) if anything else went wrong.
 */
int zt_zc_copied(struct io_uring *ring, int tx, int rx, int type,
		 const void *buf, size_t len);

/*
 * Collect CQEs until `want` have arrived (waiting up to ZT_WAIT_MS for each),
 * then make sure nothing else arrives within ZT_QUIET_MS. Returns the number
 * collected (which may be more or fewer than want).
 */
int zt_collect(struct io_uring *ring, struct zt_cqe *out, int max, int want);
/* Collect whatever arrives within ms milliseconds. */
int zt_drain(struct io_uring *ring, struct zt_cqe *out, int max, int ms);
void zt_print_cqes(const struct zt_cqe *c, int n);

/*
 * Does the running kernel accept IOSQE_CQE_SKIP_SUCCESS on zero-copy sends?
 * Exits with T_EXIT_SKIP (and says why) if the kernel has no zero-copy send
 * at all or rejects the flag, i.e. it is not a zcg kernel.
 */
void zt_require_zc_cqe_skip(void);
/* Exit with T_EXIT_SKIP unless the kernel sets IORING_FEAT_ZC_NOTIF_GROUPS. */
void zt_require_zcg(void);

/*
 * The end of a case that passed: exit the ring, close the n file
 * descriptors that follow and return T_EXIT_PASS.
 */
int zt_done(struct io_uring *ring, int n, ...);
/* Write the string s to the file at path (sysfs, debugfs, cgroupfs). */
int zt_write_file(const char *path, const char *s);
/* Find the CQE with this user_data and no IORING_CQE_F_NOTIF (or -1). */
int zt_find(const struct zt_cqe *c, int n, __u64 user_data, bool notif);

/* Milliseconds on CLOCK_MONOTONIC. */
long long zt_now_ms(void);
/* Wait up to ms for one CQE, copy it to out, mark it seen; 0 or -errno. */
int zt_wait(struct io_uring *ring, struct zt_cqe *out, int ms);
/* Copy out and mark seen what the CQ holds (up to max), without a syscall. */
int zt_reap(struct io_uring *ring, struct zt_cqe *out, int max);
/*
 * Wait for nr CQEs as an application does: one io_uring_wait_cqes() call
 * with a timeout of ms. Then copy out (and mark seen) what the CQ holds, up
 * to max, without entering the kernel again. *ret gets the call's return
 * value and *done_ms the time (zt_now_ms()) at which it returned. Returns
 * the number of CQEs copied out.
 */
int zt_wait_nr(struct io_uring *ring, unsigned nr, int ms, struct zt_cqe *out,
	       int max, int *ret, long long *done_ms);

/*
 * Wait up to ms for a CQE, then ZT_QUIET_MS for any other: exactly one must
 * come, copied to out. Else print what came and fail, saying `when`.
 */
int zt_expect_one(struct io_uring *ring, struct zt_cqe *out, int ms,
		  const char *when);

/*
 * Check a group CQE: user_data, flags exactly IORING_CQE_F_NOTIF and
 * res exactly count.
 */
int zt_check_group(const struct zt_cqe *c, __u64 user_data, unsigned count);

/*
 * Queue a grouped SEND_ZC of len bytes of buf on fd (a registered file
 * index with IOSQE_FIXED_FILE in sqe_flags), a member of group g, flushing
 * if flush; buf_index >= 0 sends from that registered buffer.
 */
struct io_uring_sqe *zt_member(struct io_uring *ring, int fd, const void *buf,
			       size_t len, __u32 g, bool flush, int buf_index,
			       unsigned sqe_flags, __u64 user_data);

/*
 * A TCP connection over loopback whose receive window is closed: the
 * receiver's SO_RCVBUF is tiny and ZT_FILL_LEN bytes were sent (MSG_EOR, so
 * the next data starts a new skb) that the receiver does not read. Later
 * sends succeed (the sender's SO_SNDBUF is large) and their data waits in
 * skbs of the sender's queue: a zero-copy buffer stays referenced until the
 * receiver reads everything (zt_read_bytes(rx, ZT_FILL_LEN + the data)).
 * Over loopback data is copied when it is delivered, so "released" means
 * "delivered and acknowledged" (zt_wait_acked()). Fails (-EAGAIN) if the
 * window did not close.
 */
#define ZT_FILL_LEN	(1 << 16)
int zt_stalled_pair(int *tx, int *rx);
/* The same over family's loopback (AF_INET or AF_INET6). */
int zt_stalled_pair_af(int family, int *tx, int *rx);
/* Bytes queued on a TCP socket and not sent yet (SIOCOUTQNSD), or -errno. */
int zt_unsent(int fd);
/* Read and discard exactly len bytes of a stream; 0 or -errno. */
int zt_read_bytes(int fd, size_t len);
/*
 * Wait up to ms until everything sent on the TCP socket fd was
 * acknowledged (SIOCOUTQ is 0): its skbs, and the zero-copy buffers they
 * referenced, are then released. 0 or -ETIMEDOUT.
 */
int zt_wait_acked(int fd, int ms);

/*
 * Make SIGALRM interrupt blocking system calls (a handler without
 * SA_RESTART): alarm(s) bounds a call that may block forever, which then
 * fails with EINTR.
 */
void zt_alarm_interrupts(void);

/*
 * Run fn(arg) in a child that dropped every privilege: no supplementary
 * groups, gid and uid 65534 (nobody), RLIMIT_MEMLOCK memlock bytes (soft
 * and hard). The child is killed after timeout_s seconds. Returns fn's
 * result (T_EXIT_*), T_EXIT_FAIL if the child died, or T_EXIT_SKIP (and
 * says why) if this process is not root and cannot drop privileges.
 */
int zt_run_unprivileged(int (*fn)(void *), void *arg, unsigned long memlock,
			unsigned timeout_s);

#endif
