/* SPDX-License-Identifier: MIT */
/*
 * IORING_NOTIF_USAGE_ZC_COPIED in group CQEs is per generation (DESIGN.md
 * 2.4: set "iff data of this generation was copied (never because another
 * generation's data was)"; issue 10 item 6).
 *
 * Group G, every member with IORING_SEND_ZC_REPORT_USAGE:
 *   generation 1: member A on loopback TCP (copied at delivery) and
 *                 member B on wire TCP socket W (not copied), B flushing;
 *   generation 2: member C on W, flushing.
 * W is corked while B and C are queued, so that C's bytes can go into the
 * skb that holds B's (a kernel may share skbs between generations), then
 * uncorked. Generation 1's CQE must report ZC_COPIED (A was copied),
 * generation 2's must not: C's data never was.
 *
 * Needs the guest's wire (tests/guest/wire.sh); first checks that W really
 * does not copy and that loopback does, with ungrouped sends.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		256
#define GROUP		21
#define UD_A		0xa1ULL
#define UD_B		0xb1ULL
#define UD_C		0xc2ULL

static char bufs[3][4096] __attribute__((aligned(4096)));

static void member(struct io_uring *ring, int fd, int i, bool flush, __u64 ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_send_zc_group(sqe, fd, bufs[i], LEN, 0,
				    IORING_SEND_ZC_REPORT_USAGE, GROUP, flush);
	sqe->user_data = ud;
}

static int cork(int fd, int on)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

static int test_generations(bool defer)
{
	static char got[2 * LEN];
	struct io_uring ring;
	struct zt_cqe c[16];
	int ltx, lrx, wtx, wrx, n, i, g1, g2, ret;
	unsigned flags = defer ? IORING_SETUP_DEFER_TASKRUN |
				 IORING_SETUP_SINGLE_ISSUER : 0;

	zt_check(!io_uring_queue_init(16, &ring, flags), "ring init");
	ret = zt_wire_pair(SOCK_STREAM, &wtx, &wrx);
	zt_check(!ret, "wire pair: %s", strerror(-ret));
	ret = zt_socket_pair(AF_INET, SOCK_STREAM, &ltx, &lrx);
	zt_check(!ret, "loopback pair: %s", strerror(-ret));

	/* the premise: loopback copies, the wire does not */
	zt_fill(bufs[0], LEN, 1);
	ret = zt_zc_copied(&ring, ltx, lrx, SOCK_STREAM, bufs[0], LEN);
	zt_check(ret == 1, "premise: an ungrouped send over loopback TCP %s",
		 ret < 0 ? "failed" : "is not reported as copied");
	ret = zt_zc_copied(&ring, wtx, wrx, SOCK_STREAM, bufs[0], LEN);
	zt_check(ret == 0, "premise: an ungrouped send over the wire %s",
		 ret < 0 ? "failed" : "is reported as copied (the wire copies)");

	for (i = 0; i < 3; i++)
		zt_fill(bufs[i], LEN, 10 + i);
	zt_check(!cork(wtx, 1), "TCP_CORK: %s", strerror(errno));
	member(&ring, ltx, 0, false, UD_A);	/* generation 1 */
	member(&ring, wtx, 1, true, UD_B);	/* generation 1, flush */
	member(&ring, wtx, 2, true, UD_C);	/* generation 2, flush */
	zt_check(io_uring_submit(&ring) == 3, "submit");
	/*
	 * The three results, and at once the uncork: TCP sends corked data
	 * anyway when its probe timer fires (the "200 ms ceiling" of
	 * TCP_CORK), so no waiting for CQEs that must not come here.
	 */
	n = zt_drain(&ring, c, 3, ZT_WAIT_MS);
	for (i = 0; i < n; i++)
		zt_check(!(c[i].flags & IORING_CQE_F_NOTIF) && c[i].res == LEN,
			 "CQE %d (user_data 0x%llx res %d flags 0x%x) while W is corked",
			 i, (unsigned long long)c[i].user_data, c[i].res, c[i].flags);
	zt_check(n == 3, "%d main CQEs while W is corked, want 3", n);
	zt_check(!cork(wtx, 0), "uncork: %s", strerror(errno));

	zt_check(zt_recv_all(lrx, got, LEN, SOCK_STREAM) == LEN &&
		 !memcmp(got, bufs[0], LEN), "loopback data");
	zt_check(zt_recv_all(wrx, got, 2 * LEN, SOCK_STREAM) == 2 * LEN &&
		 !memcmp(got, bufs[1], LEN) && !memcmp(got + LEN, bufs[2], LEN),
		 "wire data");

	n = zt_collect(&ring, c, 16, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d group CQEs, want 2", n);
	g1 = zt_find(c, n, UD_B, true);
	g2 = zt_find(c, n, UD_C, true);
	zt_check(g1 == 0 && g2 == 1, "group CQEs out of order or missing");
	zt_check((c[g1].res & ~IORING_NOTIF_USAGE_ZC_COPIED) == 2 &&
		 (c[g2].res & ~IORING_NOTIF_USAGE_ZC_COPIED) == 1,
		 "member counts: generation 1 res 0x%x, generation 2 res 0x%x",
		 (unsigned)c[g1].res, (unsigned)c[g2].res);
	zt_check(c[g1].res & IORING_NOTIF_USAGE_ZC_COPIED,
		 "generation 1 (a loopback member, copied) lacks ZC_COPIED: res 0x%x",
		 (unsigned)c[g1].res);
	zt_check(!(c[g2].res & IORING_NOTIF_USAGE_ZC_COPIED),
		 "generation 2 (wire data only, never copied) reports ZC_COPIED: "
		 "res 0x%x; it shared an skb with generation 1 on W", (unsigned)c[g2].res);

	return zt_done(&ring, 4, ltx, lrx, wtx, wrx);
}

int main(void)
{
	zt_require_zcg();
	zt_run("copied flag stays in its generation", test_generations(false));
	zt_run("copied flag stays in its generation defer_taskrun",
	       test_generations(true));
	return T_EXIT_PASS;
}
