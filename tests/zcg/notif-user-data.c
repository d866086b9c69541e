/* SPDX-License-Identifier: MIT */
/*
 * IORING_SEND_ZC_NOTIF_USER_DATA (DESIGN.md 2.2, upstream Linux 7.1's
 * value and meaning): the main CQE carries the request's user_data, the
 * notification carries sqe->addr3; without the flag a non-zero addr3 is
 * -EINVAL (checked in zc-reject.t); with groups the group CQE takes the
 * flusher's addr3 (checked in group.t).
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define UD	0x1234ULL
#define LEN	2048

static char buf[LEN];

static int test(int type, bool sendmsg, bool skip, __u64 notif_ud)
{
	struct iovec iov = { .iov_base = buf, .iov_len = LEN };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct zt_cqe c[4];
	int tx, rx, n, want = skip ? 1 : 2;

	zt_check(!io_uring_queue_init(8, &ring, 0), "ring");
	zt_check(!zt_socket_pair(AF_INET, type, &tx, &rx), "pair");
	sqe = io_uring_get_sqe(&ring);
	if (sendmsg)
		io_uring_prep_sendmsg_zc(sqe, tx, &msg, 0);
	else
		io_uring_prep_send_zc(sqe, tx, buf, LEN, 0, 0);
	io_uring_sqe_set_notif_user_data(sqe, notif_ud);
	if (skip)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD;
	zt_check(io_uring_submit(&ring) == 1, "submit");
	zt_check(zt_recv_all(rx, buf, LEN, type) == LEN, "recv");
	n = zt_collect(&ring, c, 4, want);
	if (n != want)
		zt_print_cqes(c, n);
	zt_check(n == want, "%d CQEs, want %d", n, want);
	if (!skip) {
		zt_check(c[0].user_data == UD && c[0].res == LEN &&
			 c[0].flags == IORING_CQE_F_MORE, "main CQE");
	}
	zt_check(c[n - 1].user_data == notif_ud, "notification user_data 0x%llx",
		 (unsigned long long)c[n - 1].user_data);
	zt_check(c[n - 1].flags == IORING_CQE_F_NOTIF && c[n - 1].res == 0,
		 "notification flags 0x%x res %d", c[n - 1].flags, c[n - 1].res);
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	zt_require_zcg();
	zt_run("send_zc tcp", test(SOCK_STREAM, false, false, 0xfeed0001));
	zt_run("send_zc udp", test(SOCK_DGRAM, false, false, 0xfeed0002));
	zt_run("sendmsg_zc tcp", test(SOCK_STREAM, true, false, 0xfeed0003));
	zt_run("sendmsg_zc udp", test(SOCK_DGRAM, true, false, ~0ULL));
	zt_run("send_zc cqe_skip", test(SOCK_STREAM, false, true, 0xfeed0004));
	zt_run("sendmsg_zc cqe_skip", test(SOCK_DGRAM, true, true, 0xfeed0005));
	zt_run("addr3 zero with the flag", test(SOCK_DGRAM, false, false, 0));
	return T_EXIT_PASS;
}
