/* SPDX-License-Identifier: MIT */
/*
 * Independence (DESIGN.md 2.4): a generation's CQE waits only for its own
 * members' buffers and for earlier generations of the same group, never
 * for another group, and never for data of another generation that merely
 * shared an skb with it (issue 10, item 3).
 *
 * Group A has a member on S1, a connection whose receiver does not read,
 * and two on S2; group B has two members on S2 whose data goes into the
 * same skb as A's data on S2:
 *   - cork: S2 has TCP_CORK set (and TCP_NODELAY off) while all four sends
 *     are queued, so they fill one partial skb; uncorked afterwards;
 *   - slow reader: S2 is a plain connection whose receiver has not read
 *     yet (closed receive window): the sends, back to back, are appended to
 *     the skb at the tail of the send queue.
 * A and B are flushed. S2 is drained completely, S1 not at all: B's CQE
 * must come within 2 s, A's must not. Then S1 is drained and A's comes.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		1024
#define GA		0xa
#define GB		0xb
#define UD(i)		(0x9a00ULL + (i))
#define B_MS		2000

static char txbuf[8][LEN] __attribute__((aligned(4096)));

enum share { CORK, SLOW_READER };

static int test_independent(enum share how, bool defer, bool skip)
{
	unsigned ring_flags = defer ? IORING_SETUP_DEFER_TASKRUN |
				      IORING_SETUP_SINGLE_ISSUER : 0;
	unsigned sflags = skip ? IOSQE_CQE_SKIP_SUCCESS : 0;
	int tx1, rx1, tx2, rx2, i, n, k, b, want, unsent, on = 1, off = 0;
	size_t s2_len = 4 * LEN;
	struct io_uring ring;
	struct zt_cqe c[16];
	char rbuf[4 * LEN];
	long long t0;

	zt_check(!io_uring_queue_init(32, &ring, ring_flags), "ring init");
	zt_check(!zt_stalled_pair(&tx1, &rx1), "stalled pair S1");
	if (how == CORK) {
		zt_check(!zt_socket_pair(AF_INET, SOCK_STREAM, &tx2, &rx2),
			 "pair S2");
		zt_check(!setsockopt(tx2, IPPROTO_TCP, TCP_NODELAY, &off,
				     sizeof(off)) &&
			 !setsockopt(tx2, IPPROTO_TCP, TCP_CORK, &on,
				     sizeof(on)), "cork S2");
	} else {
		zt_check(!zt_stalled_pair(&tx2, &rx2), "stalled pair S2");
		s2_len += ZT_FILL_LEN;
	}
	for (i = 0; i < 5; i++)
		zt_fill(txbuf[i], LEN, 0x40 + i);
	/* A: 0 on S1, 1 and 2 (flush) on S2; B: 3 and 4 (flush) on S2 */
	zt_member(&ring, tx1, txbuf[0], LEN, GA, false, -1, sflags, UD(0));
	zt_member(&ring, tx2, txbuf[1], LEN, GA, false, -1, sflags, UD(1));
	zt_member(&ring, tx2, txbuf[2], LEN, GA, true, -1, sflags, UD(2));
	zt_member(&ring, tx2, txbuf[3], LEN, GB, false, -1, sflags, UD(3));
	zt_member(&ring, tx2, txbuf[4], LEN, GB, true, -1, sflags, UD(4));
	zt_check(io_uring_submit(&ring) == 5, "submit");
	/*
	 * The main CQEs: each send is complete, F_MORE only on the flushers.
	 * No group CQE while its data waits in a socket. B's data may have
	 * left S2 already (the kernel sends a corked skb once it is no longer
	 * the last one), then B's CQE may come now, A's never.
	 */
	want = skip ? 0 : 5;
	n = 0;
	while (n < want && !zt_wait(&ring, &c[n], ZT_WAIT_MS))
		n++;
	n += zt_drain(&ring, c + n, 16 - n, ZT_QUIET_MS);
	unsent = zt_unsent(tx2);
	b = zt_find(c, n, UD(4), true);
	if (n != want + (b >= 0))
		zt_print_cqes(c, n);
	zt_check(zt_find(c, n, UD(2), true) < 0,
		 "group A posted before its data was delivered");
	zt_check(b < 0 || unsent == 0,
		 "group B posted while %d bytes of S2 (B's data last) were not sent",
		 unsent);
	zt_check(n == want + (b >= 0), "%d CQEs before the drain, want %d",
		 n, want + (b >= 0));
	if (b >= 0) {
		printf("    B's data left S2 before the drain, B's CQE came then\n");
		if (zt_check_group(&c[b], UD(4), 2))
			return T_EXIT_FAIL;
	}
	for (i = 0; i < want; i++) {
		k = zt_find(c, n, UD(i), false);
		zt_check(k >= 0 && c[k].res == LEN &&
			 c[k].flags == (i == 2 || i == 4 ? IORING_CQE_F_MORE : 0),
			 "main CQE of member %d", i);
	}
	if (how == CORK)
		zt_check(!setsockopt(tx2, IPPROTO_TCP, TCP_CORK, &off,
				     sizeof(off)), "uncork S2");

	/* drain S2 completely, never S1: B's CQE comes, A's does not */
	if (how == CORK) {
		zt_check(zt_recv_all(rx2, rbuf, s2_len, SOCK_STREAM) ==
			 (int)s2_len, "S2 data missing");
		for (i = 0; i < 4; i++)
			zt_check(!memcmp(rbuf + i * LEN, txbuf[1 + i], LEN),
				 "S2 data of member %d differs", 1 + i);
	} else {
		zt_check(!zt_read_bytes(rx2, s2_len), "S2 data missing");
	}
	t0 = zt_now_ms();
	n = b >= 0 || zt_wait(&ring, &c[0], B_MS) ? 0 : 1;
	if (!n && b < 0)
		fprintf(stderr, "  no CQE %d ms after S2 was drained\n", B_MS);
	n += zt_drain(&ring, c + n, 16 - n, ZT_QUIET_MS);
	if (n != (b < 0))
		zt_print_cqes(c, n);
	zt_check(zt_find(c, n, UD(2), true) < 0,
		 "group A posted while its member on S1 is not delivered");
	zt_check(n == (b < 0),
		 "%d CQEs after S2 was drained, want %s", n, b >= 0 ? "none" :
		 "B's group CQE: B waits for group A, whose member on another connection is stalled");
	if (b < 0) {
		if (zt_check_group(&c[0], UD(4), 2))
			return T_EXIT_FAIL;
		printf("    B's CQE %lld ms after S2 was drained\n",
		       zt_now_ms() - t0);
	}

	/* now S1: A's CQE */
	zt_check(!zt_read_bytes(rx1, ZT_FILL_LEN + LEN), "S1 data missing");
	if (zt_expect_one(&ring, &c[0], ZT_WAIT_MS, "after S1 was drained") ||
	    zt_check_group(&c[0], UD(2), 3))
		return T_EXIT_FAIL;
	return zt_done(&ring, 4, tx1, rx1, tx2, rx2);
}

int main(void)
{
	zt_require_zcg();
	zt_run_on("tcp_cork", test_independent(CORK, false, false));
	zt_run_on("tcp_cork cqe_skip", test_independent(CORK, false, true));
	zt_run_on("tcp_cork defer_taskrun cqe_skip",
	       test_independent(CORK, true, true));
	zt_run_on("slow reader", test_independent(SLOW_READER, false, false));
	zt_run_on("slow reader cqe_skip",
	       test_independent(SLOW_READER, false, true));
	zt_run_on("slow reader defer_taskrun cqe_skip",
	       test_independent(SLOW_READER, true, true));
	return zt_status();
}
