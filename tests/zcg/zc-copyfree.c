/* SPDX-License-Identifier: MIT */
/*
 * The copy-free paths of the zcg guests really are copy-free (issue 11):
 *
 * - IORING_OP_SEND_ZC with IORING_SEND_ZC_REPORT_USAGE over the guest's
 *   wire (TCP and UDP between two namespaces over two emulated NICs) and
 *   into the dummy device (UDP) reports no IORING_NOTIF_USAGE_ZC_COPIED;
 *   over loopback TCP, where every zero-copy skb is copied at delivery, it
 *   must report it (the control: the flag is not just always clear).
 * - A buffer is still the kernel's between the main CQE and the
 *   notification: over wire TCP with TCP_CORK set, a change made to the
 *   buffer after the main CQE, before the data leaves, is what the peer
 *   receives (a path that copies at send time would deliver the old data);
 *   and a change made after the notification is never seen.
 *
 * The wire and the dummy device come from tests/guest/wire.sh (zcg-wire);
 * without them the test is skipped.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define MAXLEN		65536
#define ROUNDS		4
#define UD_SEND		0x5eedULL

static char txbuf[MAXLEN] __attribute__((aligned(4096)));

/* rounds sends of len bytes: none may be reported as copied (or all must) */
static int check_usage(int tx, int rx, int type, size_t len, bool want_copied)
{
	struct io_uring ring;
	int i, r;

	zt_check(!io_uring_queue_init(8, &ring, 0), "ring init");
	for (i = 0; i < ROUNDS; i++) {
		zt_fill(txbuf, len, i + len);
		r = zt_zc_copied(&ring, tx, rx, type, txbuf, len);
		zt_check(r >= 0, "send %d of %zu bytes failed", i, len);
		zt_check(r == want_copied, "send %d of %zu bytes: the notification %s "
			 "IORING_NOTIF_USAGE_ZC_COPIED", i, len,
			 r ? "reports" : "does not report");
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}

static int wire_usage(int type, size_t len)
{
	int tx, rx, ret;

	ret = zt_wire_pair(type, &tx, &rx);
	zt_check(!ret, "wire pair: %s", strerror(-ret));
	ret = check_usage(tx, rx, type, len, false);
	close(tx);
	close(rx);
	return ret;
}

static int dummy_usage(size_t len)
{
	int tx, ret;

	ret = zt_dummy_udp(&tx);
	zt_check(!ret, "dummy socket: %s", strerror(-ret));
	ret = check_usage(tx, -1, SOCK_DGRAM, len, false);
	close(tx);
	return ret;
}

static int loopback_usage(int type, size_t len)
{
	int tx, rx, ret;

	ret = zt_socket_pair(AF_INET, type, &tx, &rx);
	zt_check(!ret, "socket pair: %s", strerror(-ret));
	ret = check_usage(tx, rx, type, len, true);
	close(tx);
	close(rx);
	return ret;
}

static int cork(int fd, int on)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/*
 * Wire TCP, corked: the main CQE comes while the data still waits in the
 * socket, unsent (no notification, nothing at the peer). The buffer is
 * changed, the socket uncorked: the peer receives the changed bytes, which
 * only a socket that holds the pages themselves can send.
 */
static int test_corked_change(void)
{
	enum { LEN = 512 };
	static char want[LEN], got[LEN];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[4] = { 0 };
	struct pollfd pfd;
	int tx, rx, n, ret;

	ret = zt_wire_pair(SOCK_STREAM, &tx, &rx);
	zt_check(!ret, "wire pair: %s", strerror(-ret));
	zt_check(!io_uring_queue_init(8, &ring, 0), "ring init");
	zt_check(!cork(tx, 1), "TCP_CORK: %s", strerror(errno));

	memset(txbuf, 'o', LEN);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, txbuf, LEN, 0, 0);
	sqe->user_data = UD_SEND;
	zt_check(io_uring_submit(&ring) == 1, "submit");
	/*
	 * Only the main CQE, and no lingering: TCP sends corked data anyway
	 * when its probe timer fires (the "200 ms ceiling" of TCP_CORK).
	 */
	n = zt_drain(&ring, c, 1, ZT_WAIT_MS);
	zt_check(n == 1 && !(c[0].flags & IORING_CQE_F_NOTIF) && c[0].res == LEN &&
		 (c[0].flags & IORING_CQE_F_MORE),
		 "want the main CQE first, got %d CQEs (res %d flags 0x%x)", n,
		 c[0].res, c[0].flags);
	zt_check(io_uring_cq_ready(&ring) == 0,
		 "the notification came while the sender is corked");
	pfd.fd = rx;
	pfd.events = POLLIN;
	zt_check(poll(&pfd, 1, 0) == 0,
		 "the peer got data while the sender is corked");

	/* between the main CQE and the notification: the kernel's buffer */
	zt_fill(txbuf, LEN, 7);
	memcpy(want, txbuf, LEN);
	zt_check(!cork(tx, 0), "uncork: %s", strerror(errno));
	zt_check(zt_recv_all(rx, got, LEN, SOCK_STREAM) == LEN, "receive");
	zt_check(memcmp(got, want, LEN) == 0,
		 "the peer received %s data: the path copied at send time",
		 got[0] == 'o' && got[LEN - 1] == 'o' ? "the old" : "other");
	n = zt_collect(&ring, c, 4, 1);
	zt_check(n == 1 && (c[0].flags & IORING_CQE_F_NOTIF) &&
		 c[0].user_data == UD_SEND, "notification after delivery (%d CQEs)", n);
	return zt_done(&ring, 2, tx, rx);
}

/*
 * Wire TCP: a change made after the notification (the peer has not read
 * anything yet) is not seen; what was sent arrives intact.
 */
static int test_change_after_notif(void)
{
	enum { LEN = 32768 };
	static char want[LEN], got[LEN];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[4];
	int tx, rx, n, ret;

	ret = zt_wire_pair(SOCK_STREAM, &tx, &rx);
	zt_check(!ret, "wire pair: %s", strerror(-ret));
	zt_check(!io_uring_queue_init(8, &ring, 0), "ring init");
	zt_fill(txbuf, LEN, 3);
	memcpy(want, txbuf, LEN);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, txbuf, LEN, 0, 0);
	sqe->user_data = UD_SEND;
	zt_check(io_uring_submit(&ring) == 1, "submit");
	n = zt_collect(&ring, c, 4, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2 && zt_find(c, n, UD_SEND, true) == 1 && c[0].res == LEN,
		 "want the main CQE and the notification, got %d CQEs", n);
	memset(txbuf, 'x', LEN);
	zt_check(zt_recv_all(rx, got, LEN, SOCK_STREAM) == LEN, "receive");
	zt_check(memcmp(got, want, LEN) == 0,
		 "data changed after the notification reached the peer");
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	static const size_t tcp_sizes[] = { 1024, 4096, 65536 };
	/*
	 * Datagrams that fit the wire's MTU: a larger one is fragmented, and
	 * UDP copies what it fragments (no CHECKSUM_PARTIAL, no zero copy).
	 */
	static const size_t udp_sizes[] = { 600, 1024, 1400 };
	static const size_t dummy_sizes[] = { 600, 1200, 4000, 8000, 65000 };
	char name[96];
	unsigned i;

	/* the wire and the dummy device first: skip at once without them */
	{
		int tx, rx, ret = zt_wire_pair(SOCK_DGRAM, &tx, &rx);

		if (ret) {
			fprintf(stderr, "wire pair: %s\n", strerror(-ret));
			return T_EXIT_FAIL;
		}
		close(tx);
		close(rx);
		ret = zt_dummy_udp(&tx);
		if (ret) {
			fprintf(stderr, "dummy socket: %s\n", strerror(-ret));
			return T_EXIT_FAIL;
		}
		close(tx);
	}

	zt_run("loopback tcp 4096 is copied (control)",
	       loopback_usage(SOCK_STREAM, 4096));
	for (i = 0; i < sizeof(tcp_sizes) / sizeof(tcp_sizes[0]); i++) {
		snprintf(name, sizeof(name), "wire tcp %zu not copied", tcp_sizes[i]);
		zt_run(name, wire_usage(SOCK_STREAM, tcp_sizes[i]));
	}
	for (i = 0; i < sizeof(udp_sizes) / sizeof(udp_sizes[0]); i++) {
		snprintf(name, sizeof(name), "wire udp %zu not copied", udp_sizes[i]);
		zt_run(name, wire_usage(SOCK_DGRAM, udp_sizes[i]));
	}
	for (i = 0; i < sizeof(dummy_sizes) / sizeof(dummy_sizes[0]); i++) {
		snprintf(name, sizeof(name), "dummy udp %zu not copied", dummy_sizes[i]);
		zt_run(name, dummy_usage(dummy_sizes[i]));
	}
	zt_run("wire tcp corked: a change before the notification is sent",
	       test_corked_change());
	zt_run("wire tcp: a change after the notification is not seen",
	       test_change_after_notif());
	return T_EXIT_PASS;
}
