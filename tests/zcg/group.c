/* SPDX-License-Identifier: MIT */
/*
 * Notification groups (DESIGN.md 2.4): IORING_SEND_ZC_GROUP and
 * IORING_SEND_ZC_GROUP_FLUSH, alone and with IOSQE_CQE_SKIP_SUCCESS,
 * IORING_SEND_ZC_NOTIF_USER_DATA, IORING_SEND_ZC_REPORT_USAGE, fixed
 * buffers, SENDMSG_ZC, several sockets, TCP/UDP, IPv4/IPv6, DEFER_TASKRUN
 * rings, links, failing members, out-of-order buffer release and
 * generations whose data shares an skb.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		4096
#define MAXM		64
#define UD(i)		(0x6000ULL + (i))
#define UD_NOTIF	0xabcdef00ULL
#define UD_NOP		0x7777ULL

static char txbuf[MAXM][LEN] __attribute__((aligned(4096)));
static char rxbuf[MAXM * LEN];

static int ring_init(struct io_uring *ring, bool defer)
{
	return zt_ring_init(ring, 256, defer, txbuf, sizeof(txbuf));
}

enum how { SEND, SENDMSG, FIXED, NR_HOW };

static struct msghdr msgs[MAXM];
static struct iovec iovs[MAXM];

/* Queue member i of group g: LEN bytes of txbuf[i] on fd. */
static struct io_uring_sqe *member(struct io_uring *ring, enum how how, int fd,
				   int i, __u32 g, bool flush, bool skip)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	switch (how) {
	case SEND:
		io_uring_prep_send_zc_group(sqe, fd, txbuf[i], LEN, 0, 0, g,
					    flush);
		break;
	case FIXED:
		io_uring_prep_send_zc_group_fixed(sqe, fd, txbuf[i], LEN, 0, 0,
						  0, g, flush);
		break;
	default:
		iovs[i].iov_base = txbuf[i];
		iovs[i].iov_len = LEN;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_iov = &iovs[i];
		msgs[i].msg_iovlen = 1;
		io_uring_prep_sendmsg_zc_group(sqe, fd, &msgs[i], 0, g, flush);
		break;
	}
	if (skip)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD(i);
	return sqe;
}

/*
 * n members on one socket, the last one flushing: n main CQEs (F_MORE only
 * on the flusher) or none with CQE_SKIP, and exactly one group CQE.
 */
static int test_basic(int family, int type, enum how how, bool defer,
		      bool skip, int n)
{
	struct io_uring ring;
	struct zt_cqe c[MAXM * 2 + 4];
	int tx, rx, i, got, want = skip ? 1 : n + 1, k;
	struct io_uring_cqe ucqe;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_socket_pair(family, type, &tx, &rx), "socket pair");
	for (i = 0; i < n; i++) {
		zt_fill(txbuf[i], LEN, i);
		member(&ring, how, tx, i, 7, i == n - 1, skip);
	}
	zt_check(io_uring_submit(&ring) == n, "submit");
	for (i = 0; i < n; i++) {
		got = zt_recv_all(rx, rxbuf, LEN, type);
		zt_check(got == LEN, "member %d: received %d", i, got);
		zt_check(!memcmp(rxbuf, txbuf[i], LEN), "member %d data", i);
	}
	got = zt_collect(&ring, c, MAXM * 2 + 4, want);
	if (got != want)
		zt_print_cqes(c, got);
	zt_check(got == want, "%d CQEs, want %d", got, want);
	for (i = 0; i < got; i++) {
		if (c[i].flags & IORING_CQE_F_NOTIF)
			continue;
		zt_check(c[i].res == LEN, "main CQE res %d", c[i].res);
		if (c[i].user_data == UD(n - 1))
			zt_check(c[i].flags & IORING_CQE_F_MORE,
				 "flusher main CQE without F_MORE");
		else
			zt_check(!(c[i].flags & IORING_CQE_F_MORE),
				 "member main CQE has F_MORE");
	}
	k = zt_find(c, got, UD(n - 1), true);
	zt_check(k >= 0, "no group CQE");
	zt_check(k == got - 1, "group CQE is not the last CQE");
	if (zt_check_group(&c[k], UD(n - 1), n))
		return T_EXIT_FAIL;
	ucqe.res = c[k].res;
	zt_check(io_uring_cqe_zc_group_count(&ucqe) == (unsigned)n,
		 "io_uring_cqe_zc_group_count");
	return zt_done(&ring, 2, tx, rx);
}

/* The group CQE takes the flusher's IORING_SEND_ZC_NOTIF_USER_DATA. */
static int test_notif_user_data(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[16];
	int tx, rx, i, n;

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	for (i = 0; i < 4; i++) {
		sqe = member(&ring, SEND, tx, i, 9, i == 3, true);
		io_uring_sqe_set_notif_user_data(sqe, UD_NOTIF + i);
	}
	zt_check(io_uring_submit(&ring) == 4, "submit");
	for (i = 0; i < 4; i++)
		zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	n = zt_collect(&ring, c, 16, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs", n);
	if (zt_check_group(&c[0], UD_NOTIF + 3, 4))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/* Members on several sockets (TCP/UDP, IPv4/IPv6) in one group. */
static int test_sockets(bool skip)
{
	static const int fam[4] = { AF_INET, AF_INET6, AF_INET, AF_INET6 };
	static const int typ[4] = { SOCK_STREAM, SOCK_STREAM, SOCK_DGRAM,
				    SOCK_DGRAM };
	struct io_uring ring;
	struct zt_cqe c[64];
	int tx[4], rx[4], i, n, want = skip ? 1 : 17;

	zt_check(!ring_init(&ring, true), "ring init");
	for (i = 0; i < 4; i++)
		zt_check(!zt_socket_pair(fam[i], typ[i], &tx[i], &rx[i]), "pair");
	for (i = 0; i < 16; i++)
		member(&ring, i % NR_HOW, tx[i % 4], i, 0xffffffffu, i == 15,
		       skip);
	zt_check(io_uring_submit(&ring) == 16, "submit");
	for (i = 0; i < 16; i++)
		zt_check(zt_recv_all(rx[i % 4], rxbuf, LEN, typ[i % 4]) == LEN,
			 "recv %d", i);
	n = zt_collect(&ring, c, 64, want);
	if (n != want)
		zt_print_cqes(c, n);
	zt_check(n == want, "%d CQEs, want %d", n, want);
	if (zt_check_group(&c[n - 1], UD(15), 16))
		return T_EXIT_FAIL;
	io_uring_queue_exit(&ring);
	for (i = 0; i < 4; i++) {
		close(tx[i]);
		close(rx[i]);
	}
	return T_EXIT_PASS;
}

/* Several groups, members interleaved, each flushed: one CQE per group. */
/*
 * Groups belong to their ring: the same group id on two rings names two
 * groups. Three members join group 5 on ring A, one flushing member joins
 * group 5 on ring B: B's CQE counts its one member, and A's generation stays
 * open until A flushes it, then counts A's four.
 */
static int test_per_ring(void)
{
	struct io_uring a, b;
	struct zt_cqe c[8];
	int tx, rx, i, n;

	zt_check(!ring_init(&a, false), "ring A");
	zt_check(!ring_init(&b, false), "ring B");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	for (i = 0; i < 3; i++)
		member(&a, SEND, tx, i, 5, false, true);
	zt_check(io_uring_submit(&a) == 3, "submit A");
	member(&b, SEND, tx, 3, 5, true, true);
	zt_check(io_uring_submit(&b) == 1, "submit B");
	for (i = 0; i < 4; i++)
		zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	if (zt_expect_one(&b, &c[0], ZT_WAIT_MS, "after B's flush") ||
	    zt_check_group(&c[0], UD(3), 1))
		return T_EXIT_FAIL;
	n = zt_drain(&a, c, 8, ZT_QUIET_MS);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "ring A posted %d CQEs before its flush", n);
	member(&a, SEND, tx, 4, 5, true, true);
	zt_check(io_uring_submit(&a) == 1, "submit A's flush");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	if (zt_expect_one(&a, &c[0], ZT_WAIT_MS, "after A's flush") ||
	    zt_check_group(&c[0], UD(4), 4))
		return T_EXIT_FAIL;
	io_uring_queue_exit(&b);
	return zt_done(&a, 2, tx, rx);
}

static int test_interleaved(void)
{
	struct io_uring ring;
	struct zt_cqe c[64];
	int tx, rx, i, n, g, counts[8] = { 0 }, last[8];

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	for (i = 0; i < 40; i++) {
		g = (i * 5 + i / 8) % 8;
		counts[g]++;
		last[g] = i;
	}
	for (i = 0; i < 40; i++) {
		g = (i * 5 + i / 8) % 8;
		member(&ring, SEND, tx, i, 100 + g, last[g] == i, true);
	}
	zt_check(io_uring_submit(&ring) == 40, "submit");
	for (i = 0; i < 40; i++)
		zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	n = zt_collect(&ring, c, 64, 8);
	if (n != 8)
		zt_print_cqes(c, n);
	zt_check(n == 8, "%d CQEs, want one per group", n);
	for (g = 0; g < 8; g++) {
		i = zt_find(c, n, UD(last[g]), true);
		zt_check(i >= 0, "no CQE for group %d", g);
		if (zt_check_group(&c[i], UD(last[g]), counts[g]))
			return T_EXIT_FAIL;
	}
	return zt_done(&ring, 2, tx, rx);
}

/*
 * Generations of a group post in flush order. Generation 1 is sealed while
 * its flusher waits for room on a full TCP connection (its buffer cannot be
 * released before the receiver reads); generation 2, on another socket, is
 * sealed after it and released at once. Its CQE must wait for generation 1.
 */
static int test_order(bool defer)
{
	static char sink[1 << 16];
	int tx1, rx1, tx2, rx2, n, got, total = 0;
	struct io_uring ring;
	struct zt_cqe c[16];

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_full_pair(&tx1, &rx1), "full socket");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx2, &rx2), "pair");
	/* generation 1: one member then a flusher, both stuck on tx1 */
	member(&ring, SEND, tx1, 0, 5, false, true);
	member(&ring, SEND, tx1, 1, 5, true, true);
	/* generation 2: released as soon as sent */
	member(&ring, SEND, tx2, 2, 5, false, true);
	member(&ring, SEND, tx2, 3, 5, true, true);
	zt_check(io_uring_submit(&ring) == 4, "submit");
	zt_check(zt_recv_all(rx2, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	zt_check(zt_recv_all(rx2, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	n = zt_drain(&ring, c, 16, 500);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "generation 2 posted before generation 1 (%d CQEs)", n);

	/* drain the stuck connection: generation 1 completes, then 2 */
	while (total < 1 << 20) {
		got = recv(rx1, sink, sizeof(sink), MSG_DONTWAIT);
		if (got <= 0) {
			n = zt_drain(&ring, c, 16, 100);
			if (n)
				break;
			continue;
		}
		total += got;
	}
	while (recv(rx1, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	n += zt_collect(&ring, c + n, 16 - n, n >= 2 ? 0 : 2 - n);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs, want the two generations", n);
	if (zt_check_group(&c[0], UD(1), 2) || zt_check_group(&c[1], UD(3), 2))
		return T_EXIT_FAIL;
	return zt_done(&ring, 4, tx1, rx1, tx2, rx2);
}

/*
 * A member that fails (send on a reset connection, or a bad fd) still
 * counts in its generation; its error CQE is posted, without F_MORE.
 */
/*
 * Consecutive generations on one TCP connection may share an skb: small
 * sends are appended to the last skb while the receiver's window is closed.
 * Generation 1 (sealed) must complete when its data is delivered even
 * though generation 2, whose data rides in the same skb, is still open; and
 * no generation may complete while its data still waits in the socket.
 */
#define SHARED_LEN	512
#define FILL_LEN	ZT_FILL_LEN

/* A ring and a TCP connection whose receive window is closed. */
static int closed_window(struct io_uring *ring, bool defer, int *tx, int *rx)
{
	zt_check(!ring_init(ring, defer), "ring init");
	zt_check(!zt_stalled_pair(tx, rx), "stalled pair");
	return T_EXIT_PASS;
}

static int test_shared_skb(bool defer)
{
	int tx, rx, n, got, i, want, total = 0;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct zt_cqe c[16];

	if (closed_window(&ring, defer, &tx, &rx))
		return T_EXIT_FAIL;
	for (i = 0; i < 8; i++)
		zt_fill(txbuf[i], SHARED_LEN, 0x5000 + i);
	/* generation 1: members 0..3, 3 flushing; generation 2: 4..7, open */
	for (i = 0; i < 8; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_send_zc_group(sqe, tx, txbuf[i], SHARED_LEN, 0, 0,
					    9, i == 3);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = UD(i);
	}
	zt_check(io_uring_submit(&ring) == 8, "submit");
	n = zt_drain(&ring, c, 16, 300);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "%d CQEs while the data waits in the socket", n);

	/* deliver everything, check the bytes of both generations */
	want = FILL_LEN + 8 * SHARED_LEN;
	while (total < want) {
		got = recv(rx, rxbuf, want - total < (int)sizeof(rxbuf) ?
			   want - total : (int)sizeof(rxbuf), 0);
		zt_check(got > 0, "recv %d", got);
		if (total + got > FILL_LEN) {
			int off = total > FILL_LEN ? 0 : FILL_LEN - total;
			int pos = total + off - FILL_LEN;

			for (; off < got; off++, pos++)
				zt_check(rxbuf[off] == txbuf[pos / SHARED_LEN][pos % SHARED_LEN],
					 "byte %d of the zero-copy data differs", pos);
		}
		total += got;
	}
	/* generation 1 posts; generation 2 is open and must not hold it back */
	n = zt_collect(&ring, c, 16, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs after delivery, want generation 1's", n);
	if (zt_check_group(&c[0], UD(3), 4))
		return T_EXIT_FAIL;

	/* seal generation 2 */
	zt_fill(txbuf[8], SHARED_LEN, 0x5008);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc_group(sqe, tx, txbuf[8], SHARED_LEN, 0, 0, 9, true);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD(8);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	zt_check(zt_recv_all(rx, rxbuf, SHARED_LEN, SOCK_STREAM) == SHARED_LEN,
		 "recv");
	zt_check(!memcmp(rxbuf, txbuf[8], SHARED_LEN), "flusher's bytes differ");
	n = zt_collect(&ring, c, 16, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs after the flush, want generation 2's", n);
	if (zt_check_group(&c[0], UD(8), 5))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/*
 * Sends of a generation can reach the socket after those of a later
 * generation. Here generation 1 has an skb full of its data but for the
 * last place, which a member of generation 2 takes; generation 2 goes on in
 * a new skb, and only then does generation 1's flusher (held back by a
 * linked timeout) add its data, to generation 2's skb. If each generation
 * waited for the other's skb, neither would ever complete.
 */
#define NR_FRAGS	16
static int test_no_circle(bool defer)
{
	static char pages[40][4096] __attribute__((aligned(4096)));
	struct __kernel_timespec ts = { .tv_nsec = 100000000 };
	int tx, rx, n, got, i, want, total = 0;
	struct iovec iov[NR_FRAGS];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = NR_FRAGS };
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct zt_cqe c[16];

	if (closed_window(&ring, defer, &tx, &rx))
		return T_EXIT_FAIL;
	/* one fragment per iovec: separate, non-adjacent pages */
	for (i = 0; i < NR_FRAGS; i++) {
		iov[i].iov_base = pages[2 * i];
		iov[i].iov_len = 64;
	}
	/* generation 1: 16 fragments now, the flusher after 100 ms */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_sendmsg_zc_group(sqe, tx, &msg, 0, 12, false);
	sqe->user_data = UD(0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, &ts, 0, IORING_TIMEOUT_ETIME_SUCCESS);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = UD_NOP;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc_group(sqe, tx, pages[38], 64, 0, 0, 12, true);
	sqe->user_data = UD(1);
	/* generation 2: the 17th fragment, then a new skb */
	for (i = 0; i < 3; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_send_zc_group(sqe, tx, pages[32 + 2 * i], 64, 0, 0,
					    12, i == 2);
		sqe->user_data = UD(2 + i);
	}
	zt_check(io_uring_submit(&ring) == 6, "submit");
	/* five main CQEs, the timeout's, and nothing else while stuck */
	n = zt_drain(&ring, c, 16, 400);
	zt_check(n == 6 && zt_find(c, n, UD_NOP, false) >= 0,
		 "%d CQEs before delivery, want 6", n);
	zt_check(zt_find(c, n, UD(1), true) < 0 && zt_find(c, n, UD(4), true) < 0,
		 "a group CQE while the data waits in the socket");

	want = FILL_LEN + NR_FRAGS * 64 + 4 * 64;
	while (total < want) {
		got = recv(rx, rxbuf, sizeof(rxbuf), 0);
		zt_check(got > 0, "recv %d", got);
		total += got;
	}
	zt_check(total == want, "received %d bytes, want %d", total, want);
	n = zt_collect(&ring, c, 16, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d group CQEs after delivery, want 2", n);
	if (zt_check_group(&c[0], UD(1), 2) || zt_check_group(&c[1], UD(4), 3))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

static int test_failing_member(bool skip)
{
	struct io_uring ring;
	struct zt_cqe c[16];
	int tx, rx, btx, n, i, want;

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	zt_check(!zt_reset_socket(&btx), "reset connection");

	member(&ring, SEND, tx, 0, 3, false, skip);
	member(&ring, SEND, btx, 1, 3, false, skip);	/* reset connection */
	member(&ring, SEND, 1000, 2, 3, false, skip);	/* bad fd */
	member(&ring, SEND, tx, 3, 3, true, skip);
	zt_check(io_uring_submit(&ring) == 4, "submit");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	want = skip ? 3 : 5;
	n = zt_collect(&ring, c, 16, want);
	if (n != want)
		zt_print_cqes(c, n);
	zt_check(n == want, "%d CQEs, want %d", n, want);
	i = zt_find(c, n, UD(1), false);
	zt_check(i >= 0 && (c[i].res == -ECONNRESET || c[i].res == -EPIPE),
		 "reset member CQE");
	zt_check(!(c[i].flags & IORING_CQE_F_MORE), "failed member has F_MORE");
	i = zt_find(c, n, UD(2), false);
	zt_check(i >= 0 && c[i].res == -EBADF && c[i].flags == 0,
		 "bad fd member CQE");
	i = zt_find(c, n, UD(3), true);
	zt_check(i == n - 1, "group CQE missing or not last");
	if (zt_check_group(&c[i], UD(3), 4))
		return T_EXIT_FAIL;
	return zt_done(&ring, 3, tx, rx, btx);
}

/* A grouped send linked to a nop: the link continues on the send result. */
static int test_link(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[16];
	int tx, rx, n;

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	sqe = member(&ring, SEND, tx, 0, 4, false, true);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = UD_NOP;
	member(&ring, SEND, tx, 1, 4, true, true);
	zt_check(io_uring_submit(&ring) == 3, "submit");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	n = zt_collect(&ring, c, 16, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs, want nop + group", n);
	zt_check(zt_find(c, n, UD_NOP, false) >= 0, "no nop CQE");
	zt_check(c[zt_find(c, n, UD_NOP, false)].res == 0, "nop res");
	n = zt_find(c, n, UD(1), true);
	zt_check(n >= 0, "no group CQE");
	if (zt_check_group(&c[n], UD(1), 2))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/*
 * A flusher cancelled because its link head failed is still a member: its
 * -ECANCELED main CQE has F_MORE, and the group CQE carries its user_data.
 */
static int test_link_cancelled_flusher(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[16];
	int tx, rx, n, i;

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	member(&ring, SEND, tx, 0, 12, false, true);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, 1000, txbuf[1], LEN, 0, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = UD_NOP;
	member(&ring, SEND, tx, 2, 12, true, true);
	zt_check(io_uring_submit(&ring) == 3, "submit");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_DGRAM) == LEN, "recv");
	n = zt_collect(&ring, c, 16, 3);
	if (n != 3)
		zt_print_cqes(c, n);
	zt_check(n == 3, "%d CQEs, want head, flusher and group", n);
	i = zt_find(c, n, UD_NOP, false);
	zt_check(i >= 0 && c[i].res == -EBADF && c[i].flags == 0, "head CQE");
	i = zt_find(c, n, UD(2), false);
	zt_check(i >= 0 && c[i].res == -ECANCELED &&
		 c[i].flags == IORING_CQE_F_MORE, "flusher CQE res %d flags 0x%x",
		 i >= 0 ? c[i].res : 0, i >= 0 ? c[i].flags : 0);
	zt_check(zt_find(c, n, UD(2), true) == n - 1, "group CQE not last");
	if (zt_check_group(&c[n - 1], UD(2), 2))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/*
 * IORING_NOTIF_USAGE_ZC_COPIED in a group CQE: set iff a member asked for
 * IORING_SEND_ZC_REPORT_USAGE and that member's data was copied. Whether
 * loopback copies is measured with an ungrouped send first.
 */
static int test_report_usage(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[16];
	int tx, rx, n, i;
	bool copied;

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_STREAM, &tx, &rx), "pair");

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, txbuf[0], LEN, 0,
			      IORING_SEND_ZC_REPORT_USAGE);
	sqe->user_data = UD(0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	zt_check(zt_recv_all(rx, rxbuf, LEN, SOCK_STREAM) == LEN, "recv");
	n = zt_collect(&ring, c, 16, 2);
	zt_check(n == 2 && (c[1].flags & IORING_CQE_F_NOTIF), "ungrouped");
	copied = c[1].res & IORING_NOTIF_USAGE_ZC_COPIED;

	/* no member asks: the count alone */
	for (i = 0; i < 3; i++)
		member(&ring, SEND, tx, i, 11, i == 2, true);
	zt_check(io_uring_submit(&ring) == 3, "submit");
	zt_check(zt_recv_all(rx, rxbuf, 3 * LEN, SOCK_STREAM) == 3 * LEN, "recv");
	n = zt_collect(&ring, c, 16, 1);
	zt_check(n == 1, "%d CQEs", n);
	if (zt_check_group(&c[0], UD(2), 3))
		return T_EXIT_FAIL;

	/* one member asks */
	for (i = 0; i < 3; i++) {
		sqe = member(&ring, SEND, tx, i, 11, i == 2, true);
		if (i == 1)
			sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
	}
	zt_check(io_uring_submit(&ring) == 3, "submit");
	zt_check(zt_recv_all(rx, rxbuf, 3 * LEN, SOCK_STREAM) == 3 * LEN, "recv");
	n = zt_collect(&ring, c, 16, 1);
	zt_check(n == 1, "%d CQEs", n);
	zt_check(c[0].flags == IORING_CQE_F_NOTIF, "flags");
	zt_check((c[0].res & ~IORING_NOTIF_USAGE_ZC_COPIED) == 3, "count %d",
		 c[0].res);
	zt_check(!!(c[0].res & IORING_NOTIF_USAGE_ZC_COPIED) == copied,
		 "ZC_COPIED %d, an ungrouped send says %d",
		 !!(c[0].res & IORING_NOTIF_USAGE_ZC_COPIED), copied);
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	static const char *hows[] = { "send", "sendmsg", "fixed" };
	char name[128];
	int f, t, h, d, s;

	zt_require_zcg();

	for (f = 0; f < 2; f++)
	for (t = 0; t < 2; t++)
	for (h = 0; h < NR_HOW; h++)
	for (d = 0; d < 2; d++)
	for (s = 0; s < 2; s++) {
		snprintf(name, sizeof(name), "basic %s %s %s%s%s",
			 fams[f] == AF_INET ? "ipv4" : "ipv6",
			 types[t] == SOCK_STREAM ? "tcp" : "udp", hows[h],
			 d ? " defer_taskrun" : "", s ? " cqe_skip" : "");
		zt_run(name, test_basic(fams[f], types[t], h, d, s, 8));
	}
	zt_run("single member flushing", test_basic(AF_INET, SOCK_DGRAM, SEND,
						   false, false, 1));
	zt_run("32 members cqe_skip", test_basic(AF_INET, SOCK_STREAM, SEND,
						 true, true, 32));
	zt_run("notif_user_data on the flusher", test_notif_user_data());
	zt_run("several sockets", test_sockets(false));
	zt_run("several sockets cqe_skip", test_sockets(true));
	zt_run("interleaved groups", test_interleaved());
	zt_run("groups are per ring", test_per_ring());
	zt_run("flush order", test_order(false));
	zt_run("flush order defer_taskrun", test_order(true));
	zt_run("generations sharing skbs", test_shared_skb(false));
	zt_run("generations sharing skbs defer_taskrun", test_shared_skb(true));
	zt_run("generations sharing skbs both ways", test_no_circle(false));
	zt_run("generations sharing skbs both ways defer_taskrun",
	       test_no_circle(true));
	zt_run("failing members", test_failing_member(false));
	zt_run("failing members cqe_skip", test_failing_member(true));
	zt_run("linked member", test_link());
	zt_run("flusher cancelled with its link", test_link_cancelled_flusher());
	zt_run("report_usage aggregation", test_report_usage());
	return T_EXIT_PASS;
}
