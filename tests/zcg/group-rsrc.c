/* SPDX-License-Identifier: MIT */
/*
 * Resource lifetimes (DESIGN.md 2.4): a member's pin of a registered buffer
 * or file ends when its buffer is released, as for an ungrouped send, never
 * at a flush. Unregistering or updating registered buffers or files waits
 * only for buffers the network stack still references (issue 10, item 2).
 *
 * Each case sends one grouped member from a registered buffer (and, for
 * files, on a registered socket), lets the peer receive all of it and
 * leaves the generation open. Then:
 *   - io_uring_unregister_buffers() / io_uring_unregister_files() must
 *     return 0 at once (bounded with alarm(): a blocked call fails with
 *     EINTR), also on an IORING_SETUP_SINGLE_ISSUER ring, where the blocked
 *     task is the only one that could flush: a deadlock;
 *   - replacing the slot (io_uring_register_{buffers,files}_update_tag())
 *     must post the old resource's tag CQE within 2 s.
 * Afterwards a flush with a plain member must post the group CQE counting
 * both members.
 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		4096
#define GROUP		0x4e5
#define UD(i)		(0x8800ULL + (i))
#define TAG(i)		(0x7a90ULL + (i))
/* how long an unregister may take before it counts as blocked */
#define UNREG_S		3
#define TAG_MS		2000

static char bufs[4][LEN] __attribute__((aligned(4096)));
static char rxbuf[LEN];

enum what { BUFFERS, FILES };

struct ctx {
	struct io_uring ring;
	int tx, rx;
};

/*
 * Ring, UDP pair, registered buffer bufs[0..1] (tagged if tags) and, for
 * FILES, the sending socket registered in slot 0 (tagged if tags).
 */
static int setup(struct ctx *x, unsigned ring_flags, enum what what,
		 bool tags)
{
	struct iovec iov[2] = {
		{ .iov_base = bufs[0], .iov_len = LEN },
		{ .iov_base = bufs[1], .iov_len = LEN },
	};
	__u64 btags[2] = { TAG(0), TAG(1) }, ftag = TAG(0);
	int ret;

	zt_check(!io_uring_queue_init(16, &x->ring, ring_flags), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &x->tx, &x->rx), "pair");
	if (tags && what == BUFFERS)
		ret = io_uring_register_buffers_tags(&x->ring, iov, btags, 2);
	else
		ret = io_uring_register_buffers(&x->ring, iov, 2);
	zt_check(!ret, "register buffers: %d", ret);
	if (what == FILES) {
		if (tags)
			ret = io_uring_register_files_tags(&x->ring, &x->tx,
							   &ftag, 1);
		else
			ret = io_uring_register_files(&x->ring, &x->tx, 1);
		zt_check(!ret, "register files: %d", ret);
	}
	return T_EXIT_PASS;
}

/*
 * The first member: bufs[0] from registered buffer 0 (on registered file 0
 * for FILES), not flushing; the peer receives it all and its main CQE comes.
 */
static int first_member(struct ctx *x, enum what what)
{
	struct zt_cqe c;

	zt_fill(bufs[0], LEN, 0x11);
	zt_member(&x->ring, what == FILES ? 0 : x->tx, bufs[0], LEN, GROUP,
		  false, 0, what == FILES ? IOSQE_FIXED_FILE : 0, UD(0));
	zt_check(io_uring_submit(&x->ring) == 1, "submit");
	zt_check(zt_recv_all(x->rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	zt_check(!memcmp(rxbuf, bufs[0], LEN), "received data differs");
	zt_check(!zt_wait(&x->ring, &c, ZT_WAIT_MS), "no main CQE");
	zt_check(c.user_data == UD(0) && c.res == LEN && c.flags == 0,
		 "main CQE user_data 0x%llx res %d flags 0x%x",
		 (unsigned long long)c.user_data, c.res, c.flags);
	return T_EXIT_PASS;
}

/* Flush with a plain member: its main CQE (F_MORE), then the group's. */
static int flush(struct ctx *x, unsigned count)
{
	struct zt_cqe c[8];
	int n, i;

	zt_fill(bufs[3], LEN, 0x33);
	zt_member(&x->ring, x->tx, bufs[3], LEN, GROUP, true, -1, 0, UD(3));
	zt_check(io_uring_submit(&x->ring) == 1, "submit");
	zt_check(zt_recv_all(x->rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	zt_check(!memcmp(rxbuf, bufs[3], LEN), "received data differs");
	n = zt_collect(&x->ring, c, 8, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs after the flush, want 2", n);
	i = zt_find(c, n, UD(3), false);
	zt_check(i == 0 && c[i].res == LEN && c[i].flags == IORING_CQE_F_MORE,
		 "flusher main CQE");
	return zt_check_group(&c[1], UD(3), count);
}

static void teardown(struct ctx *x)
{
	io_uring_queue_exit(&x->ring);
	close(x->tx);
	close(x->rx);
}

static int test_unregister(unsigned ring_flags, enum what what)
{
	const char *name = what == FILES ? "files" : "buffers";
	long long t0, t1;
	struct ctx x;
	int ret;

	if (setup(&x, ring_flags, what, false) || first_member(&x, what))
		return T_EXIT_FAIL;

	t0 = zt_now_ms();
	alarm(UNREG_S);
	if (what == FILES)
		ret = io_uring_unregister_files(&x.ring);
	else
		ret = io_uring_unregister_buffers(&x.ring);
	alarm(0);
	t1 = zt_now_ms();
	zt_check(ret != -EINTR,
		 "io_uring_unregister_%s() blocked (interrupted after %lld ms): the open generation still pins the registered %s although its buffer was released",
		 name, t1 - t0, name);
	zt_check(ret == 0, "io_uring_unregister_%s() returned %d", name, ret);

	if (flush(&x, 2))
		return T_EXIT_FAIL;
	teardown(&x);
	return T_EXIT_PASS;
}

/* Replace slot 0 while the generation is open: the old tag CQE must come. */
static int test_update(enum what what)
{
	struct iovec niov = { .iov_base = bufs[2], .iov_len = LEN };
	__u64 ntag = TAG(2);
	struct zt_cqe c[1];
	long long t0;
	struct ctx x;
	int ret, nfd = -1;

	if (setup(&x, 0, what, true) || first_member(&x, what))
		return T_EXIT_FAIL;

	t0 = zt_now_ms();
	alarm(UNREG_S);
	if (what == FILES) {
		nfd = dup(x.tx);
		zt_check(nfd >= 0, "dup");
		ret = io_uring_register_files_update_tag(&x.ring, 0, &nfd,
							 &ntag, 1);
	} else {
		ret = io_uring_register_buffers_update_tag(&x.ring, 0, &niov,
							   &ntag, 1);
	}
	alarm(0);
	zt_check(ret == 1, "update of slot 0 returned %d", ret);

	if (zt_expect_one(&x.ring, &c[0], TAG_MS,
			  what == FILES ?
			  "after the update of the file (the old one's tag CQE: is it still pinned by the open generation?)" :
			  "after the update of the buffer (the old one's tag CQE: is it still pinned by the open generation?)"))
		return T_EXIT_FAIL;
	zt_check(c[0].user_data == TAG(0) && c[0].res == 0 && c[0].flags == 0,
		 "tag CQE user_data 0x%llx res %d flags 0x%x, want 0x%llx 0 0",
		 (unsigned long long)c[0].user_data, c[0].res, c[0].flags,
		 (unsigned long long)TAG(0));
	printf("    tag CQE %lld ms after the update\n", zt_now_ms() - t0);

	if (flush(&x, 2))
		return T_EXIT_FAIL;
	teardown(&x);
	if (nfd >= 0)
		close(nfd);
	return T_EXIT_PASS;
}

int main(void)
{
	zt_require_zcg();
	zt_alarm_interrupts();

	zt_run_on("unregister buffers", test_unregister(0, BUFFERS));
	zt_run_on("unregister buffers single_issuer",
	       test_unregister(IORING_SETUP_SINGLE_ISSUER, BUFFERS));
	zt_run_on("unregister buffers single_issuer defer_taskrun",
	       test_unregister(IORING_SETUP_SINGLE_ISSUER |
			       IORING_SETUP_DEFER_TASKRUN, BUFFERS));
	zt_run_on("unregister files", test_unregister(0, FILES));
	zt_run_on("unregister files single_issuer",
	       test_unregister(IORING_SETUP_SINGLE_ISSUER, FILES));
	zt_run_on("update buffer", test_update(BUFFERS));
	zt_run_on("update file", test_update(FILES));
	return zt_status();
}
