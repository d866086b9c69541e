/* SPDX-License-Identifier: MIT */
/*
 * IOSQE_IO_DRAIN after zero-copy sends. A drained request starts once every
 * request submitted before it has posted its last CQE. For a zero-copy send
 * that is its notification, for a group's flusher the group CQE, for a
 * combined send its one CQE (io_uring_prep_send_zc.3, NOTES).
 *
 * Stock 6.12 counted neither CQE of a zero-copy send as extra, so once both
 * were posted the CQ tail was past every later drain sequence: a drained
 * request submitted after the send had completed never ran. Each case
 * below ends with such a request and fails if it does not complete.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		4096
#define GROUP		0xd7a1
#define UD(i)		(0x8100ULL + (i))
#define UD_NOP		0x8fffULL

static char txbuf[8][LEN] __attribute__((aligned(4096)));

static int ring_init(struct io_uring *ring, bool defer)
{
	return zt_ring_init(ring, 64, defer, NULL, 0);
}

static void queue_drained_nop(struct io_uring *ring, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->flags |= IOSQE_IO_DRAIN;
	sqe->user_data = user_data;
}

/* Submit a drained NOP now: it must complete, alone. */
static int drain_completes(struct io_uring *ring, const char *after)
{
	struct zt_cqe c;

	queue_drained_nop(ring, UD_NOP + 1);
	zt_check(io_uring_submit(ring) == 1, "submit drained NOP");
	if (zt_expect_one(ring, &c, ZT_WAIT_MS, after))
		return T_EXIT_FAIL;
	zt_check(c.user_data == UD_NOP + 1 && c.res == 0,
		 "drained NOP %s: CQE 0x%llx res %d", after,
		 (unsigned long long)c.user_data, c.res);
	return T_EXIT_PASS;
}

/* One SEND_ZC over UDP, both CQEs reaped, then a drained NOP. */
static int test_send_then_drain(bool defer)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[4];
	int tx, rx, n;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, txbuf[0], LEN, 0, 0);
	sqe->user_data = UD(0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	n = zt_collect(&ring, c, 4, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2 && c[0].res == LEN && (c[0].flags & IORING_CQE_F_MORE) &&
		 (c[1].flags & IORING_CQE_F_NOTIF), "send CQEs");
	if (drain_completes(&ring, "after a completed zero-copy send"))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/*
 * SEND_ZC on a stalled TCP connection and a drained NOP in one submit: the
 * NOP waits for the notification, i.e. for the buffer, not only for the
 * send's first CQE.
 */
static int test_drain_waits_for_notif(bool defer)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[4];
	int tx, rx, n;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_stalled_pair(&tx, &rx), "stalled pair");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, txbuf[0], LEN, 0, 0);
	sqe->user_data = UD(0);
	queue_drained_nop(&ring, UD_NOP);
	zt_check(io_uring_submit(&ring) == 2, "submit");
	n = zt_drain(&ring, c, 4, ZT_QUIET_MS * 2);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1 && c[0].user_data == UD(0) &&
		 (c[0].flags & IORING_CQE_F_MORE),
		 "%d CQEs while the buffer is held, want the send's alone", n);
	zt_check(!zt_read_bytes(rx, ZT_FILL_LEN + LEN), "data missing");
	zt_check(!zt_wait_acked(tx, ZT_WAIT_MS), "data not acknowledged");
	n = zt_collect(&ring, c, 4, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs after the release, want 2", n);
	zt_check(c[0].user_data == UD(0) && c[0].flags == IORING_CQE_F_NOTIF,
		 "first CQE after the release is not the notification");
	zt_check(c[1].user_data == UD_NOP && c[1].res == 0,
		 "second CQE after the release is not the drained NOP");
	if (drain_completes(&ring, "after the drained NOP"))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/* A generation of n members over UDP, the last flushing, then a drain. */
static int test_group_then_drain(bool defer, int n)
{
	struct io_uring ring;
	struct zt_cqe c[16];
	int tx, rx, i, got;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	for (i = 0; i < n; i++)
		zt_member(&ring, tx, txbuf[i], LEN, GROUP, i == n - 1, -1, 0,
			  UD(i));
	zt_check(io_uring_submit(&ring) == n, "submit");
	got = zt_collect(&ring, c, 16, n + 1);
	if (got != n + 1)
		zt_print_cqes(c, got);
	zt_check(got == n + 1, "%d CQEs, want %d", got, n + 1);
	if (zt_check_group(&c[n], UD(n - 1), n))
		return T_EXIT_FAIL;
	if (drain_completes(&ring, "after a group CQE"))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/*
 * Two generations of one group on two stalled connections, and a drained
 * NOP, in one submit. Generation 2's buffers are released first; it waits
 * for generation 1, and one release then posts both group CQEs, the second
 * one not by a request of its own. The NOP comes after both, and a later
 * drained NOP completes: the count of CQEs stays exact.
 */
static int test_generations_then_drain(bool defer)
{
	struct io_uring ring;
	struct zt_cqe c[16];
	int tx1, rx1, tx2, rx2, i, n;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_stalled_pair(&tx1, &rx1), "stalled pair S1");
	zt_check(!zt_stalled_pair(&tx2, &rx2), "stalled pair S2");
	for (i = 0; i < 4; i++)
		zt_member(&ring, i < 2 ? tx1 : tx2, txbuf[i], LEN, GROUP,
			  i == 1 || i == 3, -1, 0, UD(i));
	queue_drained_nop(&ring, UD_NOP);
	zt_check(io_uring_submit(&ring) == 5, "submit");
	n = zt_collect(&ring, c, 16, 4);
	if (n != 4)
		zt_print_cqes(c, n);
	zt_check(n == 4, "%d CQEs while every buffer is held, want 4 main", n);
	for (i = 0; i < n; i++)
		zt_check(!(c[i].flags & IORING_CQE_F_NOTIF) &&
			 c[i].user_data != UD_NOP,
			 "CQE 0x%llx while every buffer is held",
			 (unsigned long long)c[i].user_data);

	zt_check(!zt_read_bytes(rx2, ZT_FILL_LEN + 2 * LEN), "S2 data");
	zt_check(!zt_wait_acked(tx2, ZT_WAIT_MS), "S2 not acknowledged");
	n = zt_drain(&ring, c, 16, ZT_QUIET_MS);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "%d CQEs before generation 1 is released", n);

	zt_check(!zt_read_bytes(rx1, ZT_FILL_LEN + 2 * LEN), "S1 data");
	zt_check(!zt_wait_acked(tx1, ZT_WAIT_MS), "S1 not acknowledged");
	n = zt_collect(&ring, c, 16, 3);
	if (n != 3)
		zt_print_cqes(c, n);
	zt_check(n == 3, "%d CQEs after the releases, want 3", n);
	if (zt_check_group(&c[0], UD(1), 2) || zt_check_group(&c[1], UD(3), 2))
		return T_EXIT_FAIL;
	zt_check(c[2].user_data == UD_NOP && c[2].res == 0,
		 "the drained NOP is not the last CQE");
	if (drain_completes(&ring, "after two generations"))
		return T_EXIT_FAIL;
	return zt_done(&ring, 4, tx1, rx1, tx2, rx2);
}

/* A combined send posts one CQE, its last: a later drain completes. */
static int test_combined_then_drain(bool defer)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c;
	int tx, rx;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, txbuf[0], LEN, 0, 0);
	io_uring_sqe_set_zc_combine_cqe(sqe);
	sqe->user_data = UD(0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (zt_expect_one(&ring, &c, ZT_WAIT_MS, "combined send"))
		return T_EXIT_FAIL;
	zt_check(c.res == LEN && !(c.flags & IORING_CQE_F_MORE),
		 "combined CQE res %d flags 0x%x", c.res, c.flags);
	if (drain_completes(&ring, "after a combined send"))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	zt_require_zcg();
	zt_run_on("send then drain", test_send_then_drain(false));
	zt_run_on("defer_taskrun, send then drain", test_send_then_drain(true));
	zt_run_on("drain waits for the notification",
		  test_drain_waits_for_notif(false));
	zt_run_on("defer_taskrun, drain waits for the notification",
		  test_drain_waits_for_notif(true));
	zt_run_on("group then drain", test_group_then_drain(false, 4));
	zt_run_on("defer_taskrun, group then drain",
		  test_group_then_drain(true, 4));
	zt_run_on("two generations then drain",
		  test_generations_then_drain(false));
	zt_run_on("defer_taskrun, two generations then drain",
		  test_generations_then_drain(true));
	zt_run_on("combined send then drain", test_combined_then_drain(false));
	zt_run_on("defer_taskrun, combined send then drain",
		  test_combined_then_drain(true));
	return zt_status();
}
