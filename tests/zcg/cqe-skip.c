/* SPDX-License-Identifier: MIT */
/*
 * IOSQE_CQE_SKIP_SUCCESS on IORING_OP_SEND_ZC and IORING_OP_SENDMSG_ZC
 * (DESIGN.md 2.1): a fully successful send posts only its notification; an
 * error or a short send still posts the main CQE, with IORING_CQE_F_MORE iff
 * the notification follows; links behave as for any request with the flag.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define UD_SEND		0xc0ffee01ULL
#define UD_NOP		0xc0ffee02ULL
#define LEN		(16 * 1024)

enum how { SEND, SENDMSG, FIXED };

static const char *how_name[] = { "send", "sendmsg", "fixed" };

static char txbuf[LEN] __attribute__((aligned(4096)));
static char rxbuf[LEN];

static int ring_init(struct io_uring *ring, bool defer)
{
	return zt_ring_init(ring, 64, defer, txbuf, LEN);
}

/* Queue one zero-copy send of len bytes of txbuf. */
static struct io_uring_sqe *prep(struct io_uring *ring, enum how how, int fd,
				 size_t len, struct msghdr *msg,
				 struct iovec *iov)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	switch (how) {
	case SEND:
		io_uring_prep_send_zc(sqe, fd, txbuf, len, 0, 0);
		break;
	case FIXED:
		io_uring_prep_send_zc_fixed(sqe, fd, txbuf, len, 0, 0, 0);
		break;
	case SENDMSG:
		/* two iovecs: the result must equal their total length */
		iov[0].iov_base = txbuf;
		iov[0].iov_len = len / 3;
		iov[1].iov_base = txbuf + len / 3;
		iov[1].iov_len = len - len / 3;
		memset(msg, 0, sizeof(*msg));
		msg->msg_iov = iov;
		msg->msg_iovlen = 2;
		io_uring_prep_sendmsg_zc(sqe, fd, msg, 0);
		break;
	}
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD_SEND;
	return sqe;
}

/* Full success: exactly one CQE, the notification. */
static int test_success(int family, int type, enum how how, bool defer)
{
	struct zt_cqe c[8];
	struct io_uring ring;
	struct msghdr msg;
	struct iovec iov[2];
	int tx, rx, ret, n;
	size_t len = type == SOCK_DGRAM ? 1200 : LEN;

	zt_check(!ring_init(&ring, defer), "ring init");
	zt_check(!zt_socket_pair(family, type, &tx, &rx), "socket pair");
	zt_fill(txbuf, LEN, family + type + how);

	prep(&ring, how, tx, len, &msg, iov);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	ret = zt_recv_all(rx, rxbuf, len, type);
	zt_check(ret == (int)len, "received %d of %zu bytes", ret, len);
	zt_check(!memcmp(rxbuf, txbuf, len), "received data differs");

	n = zt_collect(&ring, c, 8, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs, want only the notification", n);
	zt_check(c[0].user_data == UD_SEND, "user_data 0x%llx",
		 (unsigned long long)c[0].user_data);
	zt_check(c[0].flags == IORING_CQE_F_NOTIF, "flags 0x%x", c[0].flags);
	zt_check(c[0].res == 0, "notification res %d", c[0].res);

	return zt_done(&ring, 2, tx, rx);
}

/*
 * Check the CQEs of one failed or short request: the main CQE is there with
 * the expected result, and a notification follows iff it has F_MORE.
 */
static int check_main_and_notif(const struct zt_cqe *c, int n, __u64 ud,
				int *res)
{
	int i, mains = 0, notifs = 0, more = 0;

	for (i = 0; i < n; i++) {
		if (c[i].user_data != ud)
			continue;
		if (c[i].flags & IORING_CQE_F_NOTIF) {
			zt_check(mains == 1, "notification before main CQE");
			zt_check(!(c[i].flags & IORING_CQE_F_MORE),
				 "notification has F_MORE");
			notifs++;
		} else {
			mains++;
			*res = c[i].res;
			more = !!(c[i].flags & IORING_CQE_F_MORE);
		}
	}
	if (mains != 1 || notifs != more)
		zt_print_cqes(c, n);
	zt_check(mains == 1, "%d main CQEs, want 1 (must not be skipped)", mains);
	zt_check(notifs == more, "F_MORE=%d but %d notifications", more, notifs);
	return T_EXIT_PASS;
}

/* A send error posts the main CQE although CQE_SKIP was asked for. */
static int test_error_unconnected(enum how how, bool defer)
{
	struct zt_cqe c[8];
	struct io_uring ring;
	struct msghdr msg;
	struct iovec iov[2];
	int fd, n, res = 0;

	zt_check(!ring_init(&ring, defer), "ring init");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	zt_check(fd >= 0, "socket");
	prep(&ring, how, fd, 100, &msg, iov);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	n = zt_collect(&ring, c, 8, 1);
	if (check_main_and_notif(c, n, UD_SEND, &res))
		return T_EXIT_FAIL;
	zt_check(res == -EDESTADDRREQ, "res %d, want -EDESTADDRREQ", res);
	return zt_done(&ring, 1, fd);
}

/* Sending on a connection the peer reset fails, and the error is posted. */
static int test_error_reset(enum how how)
{
	struct zt_cqe c[8];
	struct io_uring ring;
	struct msghdr msg;
	struct iovec iov[2];
	int tx, n, res = 0;

	zt_check(!ring_init(&ring, false), "ring init");
	zt_check(!zt_reset_socket(&tx), "reset connection");

	prep(&ring, how, tx, 4096, &msg, iov);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	n = zt_collect(&ring, c, 8, 1);
	if (check_main_and_notif(c, n, UD_SEND, &res))
		return T_EXIT_FAIL;
	zt_check(res == -ECONNRESET || res == -EPIPE,
		 "res %d, want -ECONNRESET or -EPIPE", res);
	return zt_done(&ring, 1, tx);
}

/* A short send posts its main CQE with the byte count. */
static int test_short(enum how how)
{
	static char big[4 << 20];
	int small = 4096, n, got, res = -1, tx, rx;
	struct zt_cqe c[8];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct msghdr msg = { 0 };
	struct iovec iov[2];

	zt_check(!io_uring_queue_init(8, &ring, 0), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_STREAM, &tx, &rx), "pair");
	setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));

	sqe = io_uring_get_sqe(&ring);
	if (how == SENDMSG) {
		iov[0].iov_base = big;
		iov[0].iov_len = sizeof(big) / 2;
		iov[1].iov_base = big + sizeof(big) / 2;
		iov[1].iov_len = sizeof(big) / 2;
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		io_uring_prep_sendmsg_zc(sqe, tx, &msg, MSG_DONTWAIT);
	} else {
		io_uring_prep_send_zc(sqe, tx, big, sizeof(big), MSG_DONTWAIT, 0);
	}
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD_SEND;
	zt_check(io_uring_submit(&ring) == 1, "submit");

	/* the main CQE comes without the receiver reading anything */
	n = zt_drain(&ring, c, 8, 1000);
	zt_check(n >= 1 && !(c[0].flags & IORING_CQE_F_NOTIF),
		 "no main CQE for a short send (%d CQEs)", n);
	res = c[0].res;
	zt_check(res > 0 && res < (int)sizeof(big), "res %d is not short", res);
	zt_check(c[0].flags & IORING_CQE_F_MORE, "short send without F_MORE");

	got = zt_recv_all(rx, big, res, SOCK_STREAM);
	zt_check(got == res, "received %d of %d", got, res);
	n += zt_collect(&ring, c + n, 8 - n, n >= 2 ? 0 : 1);
	if (check_main_and_notif(c, n, UD_SEND, &res))
		return T_EXIT_FAIL;
	return zt_done(&ring, 2, tx, rx);
}

/* CQE_SKIP on a linked send: success skips, failure posts and cancels. */
static int test_link(bool fail)
{
	struct io_uring_sqe *sqe;
	struct zt_cqe c[8];
	struct io_uring ring;
	struct msghdr msg;
	struct iovec iov[2];
	int tx, rx, n, i, res = 0;
	bool nop_seen = false;

	zt_check(!ring_init(&ring, false), "ring init");
	if (fail) {
		tx = socket(AF_INET, SOCK_DGRAM, 0);
		rx = -1;
	} else {
		zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	}
	sqe = prep(&ring, SEND, tx, 512, &msg, iov);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = UD_NOP;
	zt_check(io_uring_submit(&ring) == 2, "submit");

	n = zt_collect(&ring, c, 8, fail ? 1 : 2);
	for (i = 0; i < n; i++) {
		if (c[i].user_data != UD_NOP)
			continue;
		nop_seen = true;
		zt_check(c[i].res == 0, "nop res %d", c[i].res);
	}
	/*
	 * As for any request with IOSQE_CQE_SKIP_SUCCESS, a failure cancels
	 * the rest of the link without posting their CQEs.
	 */
	zt_check(nop_seen == !fail, "linked nop CQE %s",
		 fail ? "posted after a CQE_SKIP failure" : "missing");
	if (fail) {
		if (check_main_and_notif(c, n, UD_SEND, &res))
			return T_EXIT_FAIL;
		zt_check(res == -EDESTADDRREQ, "res %d", res);
	} else {
		if (n != 2)
			zt_print_cqes(c, n);
		zt_check(n == 2, "%d CQEs, want notification + nop", n);
		for (i = 0; i < n; i++)
			if (c[i].user_data == UD_SEND)
				zt_check(c[i].flags == IORING_CQE_F_NOTIF,
					 "main CQE posted on success");
	}
	io_uring_queue_exit(&ring);
	close(tx);
	if (rx >= 0)
		close(rx);
	return T_EXIT_PASS;
}

int main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	char name[96];
	int f, t, h, d;

	zt_require_zc_cqe_skip();

	for (f = 0; f < 2; f++)
	for (t = 0; t < 2; t++)
	for (h = SEND; h <= FIXED; h++)
	for (d = 0; d < 2; d++) {
		snprintf(name, sizeof(name), "success %s %s %s%s",
			 fams[f] == AF_INET ? "ipv4" : "ipv6",
			 types[t] == SOCK_STREAM ? "tcp" : "udp", how_name[h],
			 d ? " defer_taskrun" : "");
		zt_run(name, test_success(fams[f], types[t], h, d));
	}
	for (h = SEND; h <= FIXED; h++) {
		snprintf(name, sizeof(name), "error unconnected udp %s", how_name[h]);
		zt_run(name, test_error_unconnected(h, false));
		snprintf(name, sizeof(name), "error unconnected udp %s defer_taskrun",
			 how_name[h]);
		zt_run(name, test_error_unconnected(h, true));
		snprintf(name, sizeof(name), "error reset tcp %s", how_name[h]);
		zt_run(name, test_error_reset(h));
	}
	zt_run("short send tcp send", test_short(SEND));
	zt_run("short send tcp sendmsg", test_short(SENDMSG));
	zt_run("link success", test_link(false));
	zt_run("link failure", test_link(true));
	return T_EXIT_PASS;
}
