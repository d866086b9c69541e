/* SPDX-License-Identifier: MIT */
/*
 * Members issued from other contexts than the submitting task's syscall
 * (issue 10): from io-wq (IOSQE_ASYNC, mixed with members issued inline) and
 * from the SQPOLL thread (IORING_SETUP_SQPOLL), from plain and registered
 * buffers. Every main CQE is checked (res, flags: IORING_CQE_F_MORE only on
 * the flusher), then the group CQE (count, user_data, IORING_CQE_F_NOTIF,
 * after the flusher's main CQE). With members on a connection whose
 * receiver does not read yet, the group CQE must wait for the delivery.
 * A second round reuses the same buffers with new contents once the group
 * CQE came, and the peer must receive the new contents.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		4096
#define N		8
#define GROUP		0xc7
#define UD(r, i)	(0xd000ULL + (r) * 0x100 + (i))
#define ROUNDS		2

static char bufs[N][LEN] __attribute__((aligned(4096)));

enum { ASYNC_NONE, ASYNC_SOME, ASYNC_ALL };

struct hdr {
	unsigned round, index;
};

static void fill(int round, int i, char *p)
{
	struct hdr h = { round, i };

	zt_fill(p, LEN, round * N + i);
	memcpy(p, &h, sizeof(h));
}

/* Check one received LEN-byte payload of round `round`; mark it in seen. */
static int check_payload(const char *p, int round, bool *seen)
{
	static char want[LEN];
	struct hdr h;

	memcpy(&h, p, sizeof(h));
	zt_check(h.round == (unsigned)round && h.index < N && !seen[h.index],
		 "received payload round %u index %u in round %d", h.round,
		 h.index, round);
	fill(round, h.index, want);
	zt_check(!memcmp(p, want, LEN), "payload %u of round %d differs",
		 h.index, round);
	seen[h.index] = true;
	return T_EXIT_PASS;
}

/* Receive the N payloads of a round (datagrams, or a stream's chunks). */
static int receive(int rx, int type, int round)
{
	static char rbuf[LEN];
	bool seen[N] = { false };
	int i;

	for (i = 0; i < N; i++) {
		zt_check(zt_recv_all(rx, rbuf, LEN, type) == LEN,
			 "round %d: payload %d missing", round, i);
		if (check_payload(rbuf, round, seen))
			return T_EXIT_FAIL;
	}
	return T_EXIT_PASS;
}

/* Every main CQE once, res LEN, F_MORE only on the flusher; the group CQE. */
static int check_cqes(const struct zt_cqe *c, int n, int round, bool skip)
{
	int i, k, g;

	g = zt_find(c, n, UD(round, N - 1), true);
	zt_check(g >= 0, "round %d: no group CQE", round);
	if (zt_check_group(&c[g], UD(round, N - 1), N))
		return T_EXIT_FAIL;
	if (skip)
		return T_EXIT_PASS;
	for (i = 0; i < N; i++) {
		k = zt_find(c, n, UD(round, i), false);
		zt_check(k >= 0, "round %d: no main CQE for member %d", round, i);
		zt_check(c[k].res == LEN, "member %d: res %d", i, c[k].res);
		zt_check(c[k].flags == (i == N - 1 ? IORING_CQE_F_MORE : 0),
			 "member %d: flags 0x%x", i, c[k].flags);
		if (i == N - 1)
			zt_check(k < g, "group CQE before the flusher's main CQE");
	}
	return T_EXIT_PASS;
}

/*
 * ROUNDS generations of N members on one socket (UDP, or TCP with a closed
 * receive window if stalled); even members from the registered buffer,
 * odd ones from plain memory; async: which ones get IOSQE_ASYNC.
 */
static int test_ctx(unsigned ring_flags, int async, bool stalled, bool skip)
{
	struct iovec iov = { .iov_base = bufs, .iov_len = sizeof(bufs) };
	struct io_uring_params p = { .flags = ring_flags, .sq_thread_idle = 50 };
	int type = stalled ? SOCK_STREAM : SOCK_DGRAM;
	int tx, rx, i, n, round, want, ret;
	unsigned sflags;
	struct io_uring ring;
	struct zt_cqe c[2 * N + 4];

	ret = io_uring_queue_init_params(64, &ring, &p);
	zt_check(!ret, "ring init: %s", strerror(-ret));
	zt_check(!io_uring_register_buffers(&ring, &iov, 1), "register buffers");
	if (stalled)
		zt_check(!zt_stalled_pair(&tx, &rx), "stalled pair");
	else
		zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");

	for (round = 0; round < ROUNDS; round++) {
		/* the previous round's group CQE came: the buffers are free */
		for (i = 0; i < N; i++)
			fill(round, i, bufs[i]);
		for (i = 0; i < N; i++) {
			sflags = skip ? IOSQE_CQE_SKIP_SUCCESS : 0;
			if (async == ASYNC_ALL || (async == ASYNC_SOME && i % 3 != 1))
				sflags |= IOSQE_ASYNC;
			zt_member(&ring, tx, bufs[i], LEN, GROUP, i == N - 1,
				  i % 2 ? -1 : 0, sflags, UD(round, i));
		}
		ret = io_uring_submit(&ring);
		zt_check(ret == N, "round %d: submit %d", round, ret);
		n = 0;
		if (stalled) {
			/* the sends complete, the group waits for delivery */
			want = skip ? 0 : N;
			while (n < want && !zt_wait(&ring, &c[n], ZT_WAIT_MS))
				n++;
			n += zt_drain(&ring, c + n, 2 * N + 4 - n, 300);
			if (n != want)
				zt_print_cqes(c, n);
			zt_check(zt_find(c, n, UD(round, N - 1), true) < 0,
				 "round %d: group CQE before the data was delivered",
				 round);
			zt_check(n == want, "round %d: %d CQEs before delivery, want %d",
				 round, n, want);
			if (!round)
				zt_check(!zt_read_bytes(rx, ZT_FILL_LEN), "fill");
		}
		if (receive(rx, type, round))
			return T_EXIT_FAIL;
		want = skip ? 1 : N + 1;
		while (n < want && !zt_wait(&ring, &c[n], ZT_WAIT_MS))
			n++;
		n += zt_drain(&ring, c + n, 2 * N + 4 - n, ZT_QUIET_MS);
		if (n != want)
			zt_print_cqes(c, n);
		zt_check(n == want, "round %d: %d CQEs, want %d", round, n, want);
		if (check_cqes(c, n, round, skip))
			return T_EXIT_FAIL;
	}
	return zt_done(&ring, 2, tx, rx);
}

int main(void)
{
	const unsigned defer = IORING_SETUP_DEFER_TASKRUN |
			       IORING_SETUP_SINGLE_ISSUER;
	const unsigned sqpoll = IORING_SETUP_SQPOLL;

	zt_require_zcg();
	zt_run_on("io-wq and inline members", test_ctx(0, ASYNC_SOME, false, false));
	zt_run_on("io-wq and inline members cqe_skip",
	       test_ctx(0, ASYNC_SOME, false, true));
	zt_run_on("io-wq members only", test_ctx(0, ASYNC_ALL, false, false));
	zt_run_on("io-wq and inline members defer_taskrun",
	       test_ctx(defer, ASYNC_SOME, false, false));
	zt_run_on("io-wq and inline members defer_taskrun cqe_skip",
	       test_ctx(defer, ASYNC_SOME, false, true));
	zt_run_on("io-wq and inline members, stalled tcp",
	       test_ctx(0, ASYNC_SOME, true, false));
	zt_run_on("io-wq and inline members, stalled tcp, defer_taskrun cqe_skip",
	       test_ctx(defer, ASYNC_SOME, true, true));
	zt_run_on("sqpoll", test_ctx(sqpoll, ASYNC_NONE, false, false));
	zt_run_on("sqpoll cqe_skip", test_ctx(sqpoll, ASYNC_NONE, false, true));
	zt_run_on("sqpoll with io-wq members",
	       test_ctx(sqpoll, ASYNC_SOME, false, false));
	zt_run_on("sqpoll, stalled tcp", test_ctx(sqpoll, ASYNC_NONE, true, false));
	zt_run_on("sqpoll with io-wq members, stalled tcp cqe_skip",
	       test_ctx(sqpoll, ASYNC_SOME, true, true));
	return zt_status();
}
