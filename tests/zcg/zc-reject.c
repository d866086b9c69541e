/* SPDX-License-Identifier: MIT */
/*
 * DESIGN.md 2.0: a zero-copy send rejected before anything is sent posts
 * exactly one CQE: the error, without IORING_CQE_F_MORE, and no
 * notification. Every bad input a user can send is tried on SEND_ZC and
 * SENDMSG_ZC, with and without IOSQE_CQE_SKIP_SUCCESS, on a default and a
 * DEFER_TASKRUN ring; nothing may reach the receiver.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define UD	0xbad0001ULL
#define UD2	0xbad0002ULL

static char buf[4096];
static int tx, rx, pipefd[2], unixfd[2];
static struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
static struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

enum bad {
	BAD_FLAG_BIT12,
	BAD_FLAGS_ALL,
	BAD_FD,
	BAD_NOT_SOCKET,
	BAD_NO_ZC_SOCKET,
	BAD_BUF_INDEX,
	BAD_ADDR3,
	BAD_PAD_HIGH,
	BAD_GROUP_NO_FLAG,
	BAD_MSGHDR,
	BAD_SENDMSG_FIXED,
	BAD_NR,
};

static const struct {
	const char *name;
	int err;
	bool msg_only, send_only;
} bads[BAD_NR] = {
	[BAD_FLAG_BIT12]	= { "unknown ioprio bit 12", -EINVAL },
	[BAD_FLAGS_ALL]		= { "all ioprio bits", -EINVAL },
	[BAD_FD]		= { "closed fd", -EBADF },
	[BAD_NOT_SOCKET]	= { "pipe fd", -ENOTSOCK },
	[BAD_NO_ZC_SOCKET]	= { "unix socket (no zerocopy)", -EOPNOTSUPP },
	[BAD_BUF_INDEX]		= { "registered buffer index 7", -EFAULT, false, true },
	[BAD_ADDR3]		= { "addr3 without NOTIF_USER_DATA", -EINVAL },
	[BAD_PAD_HIGH]		= { "SQE bytes 60..63 set", -EINVAL },
	[BAD_GROUP_NO_FLAG]	= { "zc_group without IORING_SEND_ZC_GROUP", -EINVAL },
	[BAD_MSGHDR]		= { "bad msghdr pointer", -EFAULT, true },
	[BAD_SENDMSG_FIXED]	= { "sendmsg with FIXED_BUF", -EINVAL, true },
};

static void prep_bad(struct io_uring *ring, enum bad b, bool sendmsg,
		     bool skip)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int fd = tx;

	if (b == BAD_FD)
		fd = 1000;
	else if (b == BAD_NOT_SOCKET)
		fd = pipefd[1];
	else if (b == BAD_NO_ZC_SOCKET)
		fd = unixfd[0];

	if (sendmsg)
		io_uring_prep_sendmsg_zc(sqe, fd,
					 b == BAD_MSGHDR ? (void *)8UL : &msg, 0);
	else if (b == BAD_BUF_INDEX)
		io_uring_prep_send_zc_fixed(sqe, fd, buf, sizeof(buf), 0, 0, 7);
	else
		io_uring_prep_send_zc(sqe, fd, buf, sizeof(buf), 0, 0);

	switch (b) {
	case BAD_FLAG_BIT12:
		sqe->ioprio |= 1U << 12;
		break;
	case BAD_FLAGS_ALL:
		sqe->ioprio = 0xffff;
		break;
	case BAD_ADDR3:
		sqe->addr3 = 0x1234;
		break;
	case BAD_PAD_HIGH:
		sqe->__pad2[0] = 1ULL << 32;
		break;
	case BAD_GROUP_NO_FLAG:
		sqe->__pad2[0] = 5;	/* zc_group = 5 */
		break;
	case BAD_SENDMSG_FIXED:
		sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
		break;
	default:
		break;
	}
	if (skip)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD;
}

static int nothing_received(void)
{
	ssize_t r = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);

	zt_check(r < 0 && errno == EAGAIN, "receiver got %zd bytes", r);
	return T_EXIT_PASS;
}

static int test_bad(struct io_uring *ring, enum bad b, bool sendmsg, bool skip)
{
	struct zt_cqe c[8];
	int n;

	prep_bad(ring, b, sendmsg, skip);
	zt_check(io_uring_submit(ring) == 1, "submit");
	n = zt_collect(ring, c, 8, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs, want exactly one", n);
	zt_check(c[0].user_data == UD, "user_data");
	zt_check(c[0].res == bads[b].err, "res %d, want %d", c[0].res,
		 bads[b].err);
	zt_check(c[0].flags == 0, "flags 0x%x, want 0", c[0].flags);
	return nothing_received();
}

/*
 * A zero-copy send cancelled because its link head failed was never sent:
 * one CQE (-ECANCELED, no F_MORE) and no notification.
 */
static int test_link_cancel(struct io_uring *ring, bool sendmsg)
{
	struct io_uring_sqe *sqe;
	struct zt_cqe c[8];
	int n, i;

	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, 1000, buf, sizeof(buf), 0, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = UD;
	sqe = io_uring_get_sqe(ring);
	if (sendmsg)
		io_uring_prep_sendmsg_zc(sqe, tx, &msg, 0);
	else
		io_uring_prep_send_zc(sqe, tx, buf, sizeof(buf), 0, 0);
	sqe->user_data = UD2;
	zt_check(io_uring_submit(ring) == 2, "submit");

	n = zt_collect(ring, c, 8, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs, want 2", n);
	for (i = 0; i < n; i++) {
		zt_check(c[i].flags == 0, "cqe %d flags 0x%x", i, c[i].flags);
		if (c[i].user_data == UD)
			zt_check(c[i].res == -EBADF, "head res %d", c[i].res);
		else
			zt_check(c[i].user_data == UD2 && c[i].res == -ECANCELED,
				 "linked send res %d", c[i].res);
	}
	return nothing_received();
}

int main(void)
{
	struct io_uring ring;
	char name[128];
	int d, s, k, b, ret;

	zt_require_zc_cqe_skip();

	ret = zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx);
	if (ret || pipe(pipefd) || socketpair(AF_UNIX, SOCK_DGRAM, 0, unixfd)) {
		fprintf(stderr, "setup failed\n");
		return T_EXIT_FAIL;
	}

	for (d = 0; d < 2; d++) {
		struct iovec reg = { .iov_base = buf, .iov_len = sizeof(buf) };

		ret = io_uring_queue_init(16, &ring, d ?
				IORING_SETUP_DEFER_TASKRUN |
				IORING_SETUP_SINGLE_ISSUER : 0);
		if (ret || io_uring_register_buffers(&ring, &reg, 1)) {
			fprintf(stderr, "ring setup failed\n");
			return T_EXIT_FAIL;
		}
		for (s = 0; s < 2; s++)
		for (k = 0; k < 2; k++)
		for (b = 0; b < BAD_NR; b++) {
			if ((s && bads[b].send_only) || (!s && bads[b].msg_only))
				continue;
			snprintf(name, sizeof(name), "%s: %s%s%s",
				 s ? "sendmsg_zc" : "send_zc", bads[b].name,
				 k ? ", cqe_skip" : "",
				 d ? ", defer_taskrun" : "");
			zt_run(name, test_bad(&ring, b, s, k));
		}
		snprintf(name, sizeof(name), "linked send_zc cancelled%s",
			 d ? ", defer_taskrun" : "");
		zt_run(name, test_link_cancel(&ring, false));
		snprintf(name, sizeof(name), "linked sendmsg_zc cancelled%s",
			 d ? ", defer_taskrun" : "");
		zt_run(name, test_link_cancel(&ring, true));
		io_uring_queue_exit(&ring);
	}
	return T_EXIT_PASS;
}
