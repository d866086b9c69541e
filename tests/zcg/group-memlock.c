/* SPDX-License-Identifier: MIT */
/*
 * Resource lifetimes (DESIGN.md 2.4): a member's RLIMIT_MEMLOCK charge ends
 * when its buffer is released, as for an ungrouped send, never at a flush
 * (issue 10, item 4).
 *
 * As an unprivileged user (nobody) with RLIMIT_MEMLOCK 8 MiB: 200 grouped
 * sends of 64 KiB from one plain user buffer, one at a time, each received
 * by the peer (and acknowledged) before the next, the generation left open.
 * At most one buffer is in flight, so every send must succeed (each charges
 * 18 pages; 8 MiB is 2048 pages: with charges held until the flush, the
 * 114th fails with -ENOMEM). Then one flushing member: the group CQE counts
 * 201. The control case does the same with ungrouped SEND_ZC.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		65536
#define NR_SENDS	200
#define MEMLOCK		(8UL << 20)
#define GROUP		0x3e3
#define UD(i)		(0xb000ULL + (i))

static char txbuf[LEN] __attribute__((aligned(4096)));
static char rxbuf[LEN];

/* Send txbuf once: grouped (flushing or not) or ungrouped (group 0). */
static int send_one(struct io_uring *ring, int tx, int rx, int i, __u32 group,
		    bool flush)
{
	struct io_uring_sqe *sqe;
	struct zt_cqe c[4];
	int n, want;

	zt_fill(txbuf, LEN, i);
	if (group) {
		zt_member(ring, tx, txbuf, LEN, group, flush, -1, 0, UD(i));
	} else {
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_send_zc(sqe, tx, txbuf, LEN, 0, 0);
		sqe->user_data = UD(i);
	}
	zt_check(io_uring_submit(ring) == 1, "submit");
	/* main CQE */
	zt_check(!zt_wait(ring, &c[0], ZT_WAIT_MS), "send %d: no CQE", i);
	zt_check(c[0].user_data == UD(i) && !(c[0].flags & IORING_CQE_F_NOTIF),
		 "send %d: CQE user_data 0x%llx flags 0x%x", i,
		 (unsigned long long)c[0].user_data, c[0].flags);
	zt_check(c[0].res == LEN,
		 "send %d of %d KiB: res %d (%s)%s", i + 1, LEN >> 10, c[0].res,
		 c[0].res < 0 ? strerror(-c[0].res) : "short",
		 c[0].res == -ENOMEM ?
		 ": RLIMIT_MEMLOCK charges of released buffers are still held" : "");
	want = group && !flush ? 0 : IORING_CQE_F_MORE;
	zt_check(c[0].flags == (unsigned)want, "send %d: main CQE flags 0x%x",
		 i, c[0].flags);
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_STREAM) == LEN,
		 "send %d: data missing", i);
	zt_check(!memcmp(rxbuf, txbuf, LEN), "send %d: data differs", i);
	zt_check(!zt_wait_acked(tx, ZT_WAIT_MS), "send %d: not acknowledged",
		 i);
	if (group && !flush)
		return T_EXIT_PASS;
	/* the notification (ungrouped) or the group CQE (flusher) */
	n = zt_wait(ring, &c[1], ZT_WAIT_MS) ? 0 : 1;
	zt_check(n == 1, "send %d: no notification CQE", i);
	if (group)
		return zt_check_group(&c[1], UD(i), NR_SENDS + 1);
	zt_check(c[1].user_data == UD(i) && c[1].res == 0 &&
		 c[1].flags == IORING_CQE_F_NOTIF,
		 "send %d: notification user_data 0x%llx res %d flags 0x%x", i,
		 (unsigned long long)c[1].user_data, c[1].res, c[1].flags);
	return T_EXIT_PASS;
}

static int run(void *arg)
{
	bool grouped = arg != NULL;
	struct io_uring ring;
	struct zt_cqe c[4];
	int tx, rx, i, n;

	zt_check(!io_uring_queue_init(16, &ring, 0), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_STREAM, &tx, &rx), "pair");
	for (i = 0; i < NR_SENDS; i++)
		if (send_one(&ring, tx, rx, i, grouped ? GROUP : 0, false))
			return T_EXIT_FAIL;
	if (grouped && send_one(&ring, tx, rx, NR_SENDS, GROUP, true))
		return T_EXIT_FAIL;
	n = zt_drain(&ring, c, 4, ZT_QUIET_MS);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "%d extra CQEs", n);
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	static int grouped;

	zt_require_zcg();
	zt_run_on("ungrouped, unprivileged, RLIMIT_MEMLOCK 8 MiB",
	       zt_run_unprivileged(run, NULL, MEMLOCK, 300));
	zt_run_on("grouped without flush, unprivileged, RLIMIT_MEMLOCK 8 MiB",
	       zt_run_unprivileged(run, &grouped, MEMLOCK, 300));
	return zt_status();
}
