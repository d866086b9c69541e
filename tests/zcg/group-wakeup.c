/* SPDX-License-Identifier: MIT */
/*
 * Wakeups (DESIGN.md 2.4): a task waiting for N CQEs is woken as soon as N
 * CQEs can be posted, also when one buffer release lets several generations
 * of a group post at once (issue 10, item 1).
 *
 * Group G, IOSQE_CQE_SKIP_SUCCESS on every member: generation 1 (flushed)
 * has its members on connection S1, generation 2 (flushed after it) on S2;
 * both receivers do not read, so the buffers stay referenced. S2 is
 * released first: generation 2 is done but waits for generation 1 (flush
 * order) and posts nothing. Then the submitter sits in
 * io_uring_wait_cqes(ring, 2, 10 s) while a helper thread releases S1 after
 * 300 ms: that one release posts both group CQEs, generation 1's then 2's,
 * and the waiter must return with both at once, not at its timeout. On a
 * DEFER_TASKRUN ring this is the case where one task_work item posts more
 * than one CQE: it must not be queued as a lazy wake that counts one.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		4096
#define GROUP		0x600d
#define UD(i)		(0x7100ULL + (i))
#define WAIT_MS		10000
#define RELEASE_DELAY	300
/* the waiter must be back this long after the last release at the latest */
#define MAX_LATE_MS	3000

static char txbuf[8][LEN] __attribute__((aligned(4096)));

struct release {
	int rx, tx;
	size_t len;
	int err;
	long long done_ms;
};

/* Helper thread: after RELEASE_DELAY ms, deliver everything on S1. */
static void *release_later(void *arg)
{
	struct release *r = arg;

	usleep(RELEASE_DELAY * 1000);
	r->err = zt_read_bytes(r->rx, r->len);
	if (!r->err)
		r->err = zt_wait_acked(r->tx, ZT_WAIT_MS);
	r->done_ms = zt_now_ms();
	return NULL;
}

/*
 * Generation 1: n1 members on S1; generation 2: n2 members on S2; both
 * flushed, all with CQE_SKIP. submit_and_wait: wait with
 * io_uring_submit_and_wait_timeout() (nothing left to submit) instead of
 * io_uring_wait_cqes().
 */
static int test_wakeup(unsigned ring_flags, int n1, int n2,
		       bool submit_and_wait)
{
	struct zt_cqe c[16];
	struct io_uring ring;
	struct release rel;
	pthread_t thr;
	int tx1, rx1, tx2, rx2, i, n, ret;
	long long start, done;

	zt_check(!io_uring_queue_init(64, &ring, ring_flags), "ring init");
	zt_check(!zt_stalled_pair(&tx1, &rx1), "stalled pair S1");
	zt_check(!zt_stalled_pair(&tx2, &rx2), "stalled pair S2");
	for (i = 0; i < n1 + n2; i++) {
		zt_fill(txbuf[i], LEN, i);
		zt_member(&ring, i < n1 ? tx1 : tx2, txbuf[i], LEN, GROUP,
			  i == n1 - 1 || i == n1 + n2 - 1, -1,
			  IOSQE_CQE_SKIP_SUCCESS, UD(i));
	}
	zt_check(io_uring_submit(&ring) == n1 + n2, "submit");
	n = zt_drain(&ring, c, 16, ZT_QUIET_MS);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "%d CQEs while every buffer is held", n);

	/* release generation 2 first: it must wait for generation 1 */
	zt_check(!zt_read_bytes(rx2, ZT_FILL_LEN + n2 * LEN), "S2 data missing");
	zt_check(!zt_wait_acked(tx2, ZT_WAIT_MS), "S2 data not acknowledged");
	/* let the release's completion work be queued */
	usleep(50 * 1000);

	rel.rx = rx1;
	rel.tx = tx1;
	rel.len = ZT_FILL_LEN + n1 * LEN;
	rel.err = 0;
	rel.done_ms = 0;
	zt_check(!pthread_create(&thr, NULL, release_later, &rel), "thread");
	start = zt_now_ms();
	if (submit_and_wait) {
		struct __kernel_timespec ts = { .tv_sec = WAIT_MS / 1000 };
		struct io_uring_cqe *cqe;

		ret = io_uring_submit_and_wait_timeout(&ring, &cqe, 2, &ts,
						       NULL);
		done = zt_now_ms();
		n = zt_reap(&ring, c, 16);
	} else {
		n = zt_wait_nr(&ring, 2, WAIT_MS, c, 16, &ret, &done);
	}
	pthread_join(thr, NULL);
	zt_check(!rel.err, "releasing S1: %s", strerror(-rel.err));
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(done - rel.done_ms <= MAX_LATE_MS,
		 "waiter for 2 CQEs slept through its completions: returned %lld ms after the last buffer release (%lld ms after it began to wait; ret %d, %d CQEs)",
		 done - rel.done_ms, done - start, ret, n);
	zt_check(ret >= 0, "wait returned %d", ret);
	n += zt_drain(&ring, c + n, 16 - n, ZT_QUIET_MS);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs, want the two group CQEs", n);
	if (zt_check_group(&c[0], UD(n1 - 1), n1) ||
	    zt_check_group(&c[1], UD(n1 + n2 - 1), n2))
		return T_EXIT_FAIL;
	return zt_done(&ring, 4, tx1, rx1, tx2, rx2);
}

int main(void)
{
	const unsigned defer = IORING_SETUP_DEFER_TASKRUN |
			       IORING_SETUP_SINGLE_ISSUER;

	zt_require_zcg();
	zt_run_on("defer_taskrun, wait_cqes", test_wakeup(defer, 1, 1, false));
	zt_run_on("defer_taskrun, wait_cqes, several members",
	       test_wakeup(defer, 2, 3, false));
	zt_run_on("defer_taskrun, submit_and_wait_timeout",
	       test_wakeup(defer, 2, 3, true));
	zt_run_on("default ring, wait_cqes", test_wakeup(0, 1, 1, false));
	zt_run_on("default ring, wait_cqes, several members",
	       test_wakeup(0, 2, 3, false));
	zt_run_on("single_issuer ring, wait_cqes",
	       test_wakeup(IORING_SETUP_SINGLE_ISSUER, 2, 3, false));
	return zt_status();
}
