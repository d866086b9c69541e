/* SPDX-License-Identifier: MIT */
/*
 * IORING_SEND_ZC_COMBINE_CQE (DESIGN.md 2.3): exactly one CQE per request,
 * posted once the buffer is released, res = the send result, flags =
 * IORING_CQE_F_NOTIF and never F_MORE; on success (TCP, UDP, SENDMSG_ZC,
 * fixed buffers), errors, short sends and cancellation; the buffer is not
 * referenced after the CQE; invalid mixes are -EINVAL.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define UD	0xc0b1ULL
#define LEN	(32 * 1024)

static char txbuf[LEN] __attribute__((aligned(4096)));
static char copy[LEN], rxbuf[LEN];
static struct iovec iov[2];
static struct msghdr msg;

enum how { SEND, SENDMSG, FIXED, NR_HOW };
static const char *hows[] = { "send", "sendmsg", "fixed" };

static int ring_init(struct io_uring *ring, bool defer)
{
	return zt_ring_init(ring, 32, defer, txbuf, LEN);
}

static struct io_uring_sqe *prep(struct io_uring *ring, enum how how, int fd,
				 void *buf, size_t len, int msg_flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	switch (how) {
	case SEND:
		io_uring_prep_send_zc(sqe, fd, buf, len, msg_flags, 0);
		break;
	case FIXED:
		io_uring_prep_send_zc_fixed(sqe, fd, buf, len, msg_flags, 0, 0);
		break;
	default:
		iov[0].iov_base = buf;
		iov[0].iov_len = len / 2;
		iov[1].iov_base = (char *)buf + len / 2;
		iov[1].iov_len = len - len / 2;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		io_uring_prep_sendmsg_zc(sqe, fd, &msg, msg_flags);
		break;
	}
	io_uring_sqe_set_zc_combine_cqe(sqe);
	sqe->user_data = UD;
	return sqe;
}

static int one_cqe(struct io_uring *ring, struct zt_cqe *c, bool notif)
{
	int n = zt_collect(ring, c, 4, 1);

	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs, want exactly one", n);
	zt_check(c->user_data == UD, "user_data");
	zt_check(c->flags == (notif ? IORING_CQE_F_NOTIF : 0),
		 "flags 0x%x", c->flags);
	return T_EXIT_PASS;
}

/*
 * Success: one CQE with the byte count, only once the buffer is released.
 * Over TCP the receive window is closed first, so the data waits in the
 * sender's queue, its buffer referenced: no CQE may come until the
 * receiver reads. (Over loopback UDP the data is copied as it is
 * delivered, at once; zc-copyfree checks the wire.) Then the buffer is
 * overwritten and the receiver must see the original bytes.
 */
static int test_success(int family, int type, enum how how, bool defer)
{
	size_t len = type == SOCK_DGRAM ? 1400 : LEN;
	struct io_uring ring;
	struct zt_cqe c[4];
	int tx, rx, got, n;

	zt_check(!ring_init(&ring, defer), "ring");
	if (type == SOCK_STREAM)
		zt_check(!zt_stalled_pair_af(family, &tx, &rx), "stalled pair");
	else
		zt_check(!zt_socket_pair(family, type, &tx, &rx), "pair");
	zt_fill(txbuf, LEN, family ^ type ^ how);
	memcpy(copy, txbuf, LEN);
	prep(&ring, how, tx, txbuf, len, 0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (type == SOCK_STREAM) {
		n = zt_drain(&ring, c, 4, ZT_QUIET_MS);
		if (n)
			zt_print_cqes(c, n);
		zt_check(n == 0, "a CQE while the data waits in the socket");
		/* the receiver takes everything: now the buffer is released */
		zt_check(!zt_read_bytes(rx, ZT_FILL_LEN), "read the fill");
		got = zt_recv_all(rx, rxbuf, len, type);
	}
	if (one_cqe(&ring, c, true))
		return T_EXIT_FAIL;
	zt_check(c[0].res == (int)len, "res %d, want %zu", c[0].res, len);
	memset(txbuf, 0xee, LEN);
	if (type != SOCK_STREAM)
		got = zt_recv_all(rx, rxbuf, len, type);
	zt_check(got == (int)len, "received %d", got);
	zt_check(!memcmp(rxbuf, copy, len),
		 "receiver saw the buffer change after the CQE");
	return zt_done(&ring, 2, tx, rx);
}

/* Errors after reaching the socket: one F_NOTIF CQE with -errno. */
static int test_error(enum how how, int kind)
{
	struct io_uring ring;
	struct zt_cqe c[4];
	int tx, rx = -1;

	zt_check(!ring_init(&ring, false), "ring");
	if (kind == 0) {
		/* unconnected UDP: -EDESTADDRREQ */
		tx = socket(AF_INET, SOCK_DGRAM, 0);
		prep(&ring, how, tx, txbuf, 100, 0);
	} else if (kind == 1) {
		/* connection reset by the peer */
		zt_check(!zt_reset_socket(&tx), "reset connection");
		prep(&ring, how, tx, txbuf, 100, 0);
	} else {
		/* unmapped buffer: -EFAULT from the socket */
		zt_check(!zt_socket_pair(AF_INET, SOCK_STREAM, &tx, &rx), "pair");
		prep(&ring, how == FIXED ? SEND : how, tx, (void *)4096, 100, 0);
	}
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (one_cqe(&ring, c, true))
		return T_EXIT_FAIL;
	if (kind == 0)
		zt_check(c[0].res == -EDESTADDRREQ, "res %d", c[0].res);
	else if (kind == 1)
		zt_check(c[0].res == -ECONNRESET || c[0].res == -EPIPE,
			 "res %d", c[0].res);
	else
		zt_check(c[0].res == -EFAULT, "res %d", c[0].res);
	io_uring_queue_exit(&ring);
	close(tx);
	if (rx >= 0)
		close(rx);
	return T_EXIT_PASS;
}

/* Rejected before reaching the socket: one plain error CQE (rule 2.0). */
static int test_rejected(enum how how)
{
	struct io_uring ring;
	struct zt_cqe c[4];
	int p[2];

	zt_check(!ring_init(&ring, false), "ring");
	zt_check(!pipe(p), "pipe");
	prep(&ring, how, 1000, txbuf, 100, 0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (one_cqe(&ring, c, false))
		return T_EXIT_FAIL;
	zt_check(c[0].res == -EBADF, "bad fd res %d", c[0].res);
	prep(&ring, how, p[1], txbuf, 100, 0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (one_cqe(&ring, c, false))
		return T_EXIT_FAIL;
	zt_check(c[0].res == -ENOTSOCK, "pipe res %d", c[0].res);
	return zt_done(&ring, 2, p[0], p[1]);
}

/*
 * A short send: one CQE with the short count, after the buffer is free.
 * The receive window is closed first: what the send queued waits in the
 * sender's queue, and no CQE may come before the receiver reads.
 */
static int test_short(enum how how)
{
	static char big[4 << 20];
	int tx, rx, got, n, total = 0;
	struct io_uring ring;
	struct zt_cqe c[4];

	zt_check(!io_uring_queue_init(8, &ring, 0), "ring");
	zt_check(!zt_stalled_pair(&tx, &rx), "stalled pair");
	prep(&ring, how == FIXED ? SEND : how, tx, big, sizeof(big),
	     MSG_DONTWAIT);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	n = zt_drain(&ring, c, 4, ZT_QUIET_MS);
	if (n)
		zt_print_cqes(c, n);
	zt_check(n == 0, "a CQE while the data waits in the socket");
	/* the CQE waits for the buffer: read until it comes */
	while (total < ZT_FILL_LEN + (int)sizeof(big)) {
		struct pollfd pfd = { .fd = rx, .events = POLLIN };

		if (zt_drain(&ring, c, 4, 0) == 1)
			break;
		if (poll(&pfd, 1, 100) == 1) {
			got = recv(rx, rxbuf, sizeof(rxbuf), MSG_DONTWAIT);
			if (got > 0)
				total += got;
		} else if (zt_drain(&ring, c, 4, 200) == 1) {
			break;
		}
	}
	zt_check(c[0].user_data == UD && c[0].flags == IORING_CQE_F_NOTIF,
		 "CQE flags 0x%x", c[0].flags);
	zt_check(c[0].res > 0 && c[0].res < (int)sizeof(big), "res %d not short",
		 c[0].res);
	while (total < ZT_FILL_LEN + c[0].res) {
		got = zt_recv_all(rx, rxbuf, 1, SOCK_STREAM);
		zt_check(got == 1, "recv");
		total += got;
		got = recv(rx, rxbuf, sizeof(rxbuf), MSG_DONTWAIT);
		if (got > 0)
			total += got;
	}
	zt_check(total == ZT_FILL_LEN + c[0].res, "received %d after the fill, res %d",
		 total - ZT_FILL_LEN, c[0].res);
	zt_check(zt_drain(&ring, c, 4, ZT_QUIET_MS) == 0, "a second CQE");
	return zt_done(&ring, 2, tx, rx);
}

/*
 * Cancellation of a send waiting for room on a full socket: one CQE,
 * -ECANCELED, F_NOTIF, and no other; the cancel request's own CQE is there.
 */
static int test_cancel(enum how how)
{
	int tx, rx, n, i;
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[8];
	bool seen = false;

	zt_check(!ring_init(&ring, false), "ring");
	zt_check(!zt_full_pair(&tx, &rx), "full socket");
	prep(&ring, how, tx, txbuf, 4096, 0);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	zt_check(zt_drain(&ring, c, 8, 300) == 0, "send on a full socket completed");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_cancel64(sqe, UD, 0);
	sqe->user_data = 0xcccc;
	zt_check(io_uring_submit(&ring) == 1, "submit cancel");
	n = zt_collect(&ring, c, 8, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs, want the cancel and the send", n);
	for (i = 0; i < n; i++) {
		if (c[i].user_data == 0xcccc) {
			zt_check(c[i].res == 0, "cancel res %d", c[i].res);
			continue;
		}
		seen = true;
		zt_check(c[i].user_data == UD && c[i].res == -ECANCELED &&
			 c[i].flags == IORING_CQE_F_NOTIF,
			 "send CQE res %d flags 0x%x", c[i].res, c[i].flags);
	}
	zt_check(seen, "no CQE for the cancelled send");
	return zt_done(&ring, 2, tx, rx);
}

/* Links continue on the send result; the link CQE is posted normally. */
static int test_link(bool fail)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[8];
	int tx, rx, n, i;

	zt_check(!ring_init(&ring, false), "ring");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	if (fail) {
		close(tx);
		tx = socket(AF_INET, SOCK_DGRAM, 0);
	}
	sqe = prep(&ring, SEND, tx, txbuf, 200, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 0x1111;
	zt_check(io_uring_submit(&ring) == 2, "submit");
	n = zt_collect(&ring, c, 8, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs", n);
	for (i = 0; i < n; i++) {
		if (c[i].user_data == 0x1111)
			zt_check(c[i].res == (fail ? -ECANCELED : 0), "nop res %d",
				 c[i].res);
		else
			zt_check(c[i].flags == IORING_CQE_F_NOTIF &&
				 c[i].res == (fail ? -EDESTADDRREQ : 200),
				 "send res %d flags 0x%x", c[i].res, c[i].flags);
	}
	return zt_done(&ring, 2, tx, rx);
}

static int test_invalid(void)
{
	static const struct { unsigned zc; bool skip; const char *what; } bad[] = {
		{ IORING_SEND_ZC_REPORT_USAGE, false, "REPORT_USAGE" },
		{ IORING_SEND_ZC_NOTIF_USER_DATA, false, "NOTIF_USER_DATA" },
		{ IORING_SEND_ZC_GROUP, false, "GROUP" },
		{ IORING_SEND_ZC_GROUP | IORING_SEND_ZC_GROUP_FLUSH, false, "GROUP_FLUSH" },
		{ 0, true, "IOSQE_CQE_SKIP_SUCCESS" },
	};
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[4];
	int tx, rx, i, n;

	zt_check(!ring_init(&ring, false), "ring");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	for (i = 0; i < 5; i++) {
		zt_case = bad[i].what;
		sqe = prep(&ring, SEND, tx, txbuf, 100, 0);
		sqe->ioprio |= bad[i].zc;
		if (bad[i].zc & IORING_SEND_ZC_GROUP)
			sqe->zc_group = 1;
		if (bad[i].zc & IORING_SEND_ZC_NOTIF_USER_DATA)
			sqe->addr3 = 5;
		if (bad[i].skip)
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		zt_check(io_uring_submit(&ring) == 1, "submit");
		n = zt_collect(&ring, c, 4, 1);
		zt_check(n == 1 && c[0].res == -EINVAL && c[0].flags == 0,
			 "%d CQEs, res %d flags 0x%x", n, c[0].res, c[0].flags);
		zt_check(recv(rx, rxbuf, 1, MSG_DONTWAIT) < 0, "data was sent");
	}
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	char name[96];
	int f, t, h, d;

	zt_require_zcg();
	for (f = 0; f < 2; f++)
	for (t = 0; t < 2; t++)
	for (h = 0; h < NR_HOW; h++)
	for (d = 0; d < 2; d++) {
		snprintf(name, sizeof(name), "success %s %s %s%s",
			 fams[f] == AF_INET ? "ipv4" : "ipv6",
			 types[t] == SOCK_STREAM ? "tcp" : "udp", hows[h],
			 d ? " defer_taskrun" : "");
		zt_run(name, test_success(fams[f], types[t], h, d));
	}
	for (h = 0; h < NR_HOW; h++) {
		snprintf(name, sizeof(name), "error unconnected %s", hows[h]);
		zt_run(name, test_error(h, 0));
		snprintf(name, sizeof(name), "error reset %s", hows[h]);
		zt_run(name, test_error(h, 1));
		snprintf(name, sizeof(name), "rejected %s", hows[h]);
		zt_run(name, test_rejected(h));
		snprintf(name, sizeof(name), "cancel %s", hows[h]);
		zt_run(name, test_cancel(h));
	}
	zt_run("error efault send", test_error(SEND, 2));
	zt_run("error efault sendmsg", test_error(SENDMSG, 2));
	zt_run("short send", test_short(SEND));
	zt_run("short sendmsg", test_short(SENDMSG));
	zt_run("link success", test_link(false));
	zt_run("link failure", test_link(true));
	zt_run("invalid mixes", test_invalid());
	return T_EXIT_PASS;
}
