/* SPDX-License-Identifier: MIT */
/*
 * Randomized stress of every zero-copy notification model at once, for a
 * bounded time (ZCG_STRESS_SECS, default 20): plain sends, CQE_SKIP,
 * NOTIF_USER_DATA, COMBINE_CQE, group members and flushes over 8 groups,
 * fixed buffers, SENDMSG_ZC, TCP and UDP sockets (one TCP socket with tiny
 * buffers, so that sends wait for room), bad fds and invalid flag mixes. A model of every request checks each CQE as it arrives and, at the
 * end, that every expected CQE came and nothing more:
 *  - a main CQE has F_MORE iff exactly one later CQE carries its
 *    notification user_data;
 *  - CQE_SKIP skips only a full-length success;
 *  - a send's result is its whole length (or, over TCP, a part of it), and
 *    -EBADF for a send on a bad fd;
 *  - a combined request posts exactly one CQE, flags exactly F_NOTIF;
 *  - a group CQE counts the members of its generation (SQE order) and the
 *    generations of a group post in flush order.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "zcg-test.h"

#define NSOCK		4
#define NGROUP		8
#define LEN		1024
#define MAXREQ		(1 << 20)
#define NOTIF_BIT	(1ULL << 62)

enum kind { PLAIN = 1, COMBINE, MEMBER, INVALID };

struct req {
	unsigned char kind, skip, flush, got_main, more, notifs, done;
	unsigned char stream, bad_fd;
	unsigned short group;
	int gen_count;		/* flushers: members of the generation */
	int flush_seq;		/* flushers: position in the group's flushes */
};

static struct req *reqs;
static char txbuf[LEN] __attribute__((aligned(4096)));
static char rxbuf[1 << 16];
static int tx[NSOCK], rx[NSOCK], types[NSOCK];
static int open_count[NGROUP], flushes[NGROUP], posted[NGROUP];
static unsigned long outstanding;
static struct iovec iov = { .iov_base = txbuf, .iov_len = LEN };
static struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

static void drain_sockets(void)
{
	int i;

	for (i = 0; i < NSOCK; i++)
		while (recv(rx[i], rxbuf, sizeof(rxbuf), MSG_DONTWAIT) > 0)
			;
}

/* The result a send of this request may have. */
static bool send_res_ok(const struct req *r, int res)
{
	if (r->bad_fd)
		return res == -EBADF;
	return res == LEN || (r->stream && res > 0 && res < LEN);
}

static int on_cqe(struct io_uring_cqe *cqe)
{
	bool notif = cqe->flags & IORING_CQE_F_NOTIF;
	__u64 id = cqe->user_data & ~NOTIF_BIT;
	struct req *r;

	zt_check(id < MAXREQ && reqs[id].kind, "unknown user_data 0x%llx",
		 (unsigned long long)cqe->user_data);
	r = &reqs[id];
	zt_check(!r->done, "CQE for finished request %llu",
		 (unsigned long long)id);
	if (r->kind == COMBINE) {
		zt_check(cqe->flags == IORING_CQE_F_NOTIF,
			 "combined CQE flags 0x%x, want F_NOTIF only", cqe->flags);
		zt_check(send_res_ok(r, cqe->res), "combined CQE res %d",
			 cqe->res);
		r->done = 1;
		outstanding--;
		return T_EXIT_PASS;
	}
	if (!notif) {
		zt_check(!r->got_main, "second main CQE for %llu",
			 (unsigned long long)id);
		r->got_main = 1;
		r->more = !!(cqe->flags & IORING_CQE_F_MORE);
		if (r->kind == INVALID) {
			zt_check(cqe->res == -EINVAL || cqe->res == -EBADF,
				 "invalid request res %d", cqe->res);
			zt_check(!r->more, "rejected request has F_MORE");
		}
		if (r->skip && r->kind != INVALID)
			zt_check(cqe->res != LEN, "CQE_SKIP full success posted");
		if (r->kind != INVALID)
			zt_check(send_res_ok(r, cqe->res), "send res %d (%s)",
				 cqe->res, r->bad_fd ? "bad fd" : "good fd");
		if (r->kind == MEMBER) {
			zt_check(r->more == r->flush, "member F_MORE %d flush %d",
				 r->more, r->flush);
			/* members are tracked through their flusher only */
			return T_EXIT_PASS;
		}
		if (!r->more) {
			r->done = 1;
			outstanding--;
		}
		return T_EXIT_PASS;
	}
	/* a notification or a group CQE */
	zt_check(!(cqe->flags & IORING_CQE_F_MORE), "notification F_MORE");
	zt_check(r->kind == PLAIN || (r->kind == MEMBER && r->flush),
		 "notification for kind %d", r->kind);
	zt_check(!r->got_main || r->more, "notification after a main CQE without F_MORE");
	if (r->kind == MEMBER) {
		zt_check(cqe->res == r->gen_count, "group %d CQE res %d want %d",
			 r->group, cqe->res, r->gen_count);
		zt_check(r->flush_seq == posted[r->group],
			 "group %d generation %d posted, expected %d",
			 r->group, r->flush_seq, posted[r->group]);
		posted[r->group]++;
	}
	r->notifs++;
	r->done = 1;
	outstanding--;
	return T_EXIT_PASS;
}

static int reap(struct io_uring *ring, int wait_ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_nsec = wait_ms * 1000000LL };

	drain_sockets();
	if (wait_ms && io_uring_wait_cqe_timeout(ring, &cqe, &ts))
		return T_EXIT_PASS;
	if (!wait_ms)
		io_uring_get_events(ring);
	while (!io_uring_peek_cqe(ring, &cqe)) {
		if (on_cqe(cqe))
			return T_EXIT_FAIL;
		io_uring_cqe_seen(ring, cqe);
	}
	return T_EXIT_PASS;
}

static void queue_one(struct io_uring *ring, unsigned long id, unsigned rnd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct req *r = &reqs[id];
	int s = rnd % NSOCK, how = (rnd >> 3) % 3, what = (rnd >> 5) % 16;
	int fd = tx[s];

	if (how == 0)
		io_uring_prep_send_zc(sqe, fd, txbuf, LEN, 0, 0);
	else if (how == 1)
		io_uring_prep_send_zc_fixed(sqe, fd, txbuf, LEN, 0, 0, 0);
	else
		io_uring_prep_sendmsg_zc(sqe, fd, &msg, 0);
	sqe->user_data = id;
	r->stream = types[s] == SOCK_STREAM;

	if (what < 3) {
		r->kind = PLAIN;
		if (what == 1) {
			io_uring_sqe_set_notif_user_data(sqe, id | NOTIF_BIT);
		} else if (what == 2) {
			r->skip = 1;
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		}
	} else if (what < 5) {
		r->kind = COMBINE;
		io_uring_sqe_set_zc_combine_cqe(sqe);
	} else if (what < 15) {
		r->kind = MEMBER;
		r->group = (rnd >> 9) % NGROUP;
		r->flush = ((rnd >> 12) % 8) == 0;
		r->skip = (rnd >> 15) & 1;
		io_uring_sqe_set_zc_group(sqe, r->group + 1, r->flush);
		if (r->skip)
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		if (r->flush && (rnd >> 16) & 1)
			io_uring_sqe_set_notif_user_data(sqe, id | NOTIF_BIT);
		if (((rnd >> 17) % 32) == 0) {
			sqe->fd = 1000;		/* a failing member */
			r->bad_fd = 1;
		}
		open_count[r->group]++;
		if (r->flush) {
			r->gen_count = open_count[r->group];
			r->flush_seq = flushes[r->group]++;
			open_count[r->group] = 0;
		} else {
			outstanding--;	/* only the flusher is waited for */
		}
	} else {
		r->kind = INVALID;
		if ((rnd >> 9) & 1)
			sqe->ioprio |= IORING_SEND_ZC_GROUP_FLUSH;	/* no GROUP */
		else
			sqe->fd = 1000;
	}
	outstanding++;
}

int main(void)
{
	const char *env = getenv("ZCG_STRESS_SECS");
	int secs = env ? atoi(env) : 20, i, g;
	struct io_uring ring;
	unsigned long id = 1, flushed = 0;
	unsigned seed = (unsigned)time(NULL);
	time_t end;

	zt_require_zcg();
	reqs = calloc(MAXREQ, sizeof(*reqs));
	if (!reqs || io_uring_queue_init(256, &ring, IORING_SETUP_DEFER_TASKRUN |
					 IORING_SETUP_SINGLE_ISSUER |
					 IORING_SETUP_SUBMIT_ALL) ||
	    io_uring_register_buffers(&ring, &iov, 1))
		return T_EXIT_FAIL;
	for (i = 0; i < NSOCK; i++) {
		types[i] = i & 1 ? SOCK_DGRAM : SOCK_STREAM;
		if (zt_socket_pair(i & 2 ? AF_INET6 : AF_INET, types[i], &tx[i],
				   &rx[i]))
			return T_EXIT_FAIL;
	}
	/*
	 * A tiny send buffer on TCP socket 0: sends wait for room and are
	 * retried in whatever order the wakeups come, so the data of
	 * different generations lands in the same skbs in any order.
	 */
	i = 4096;
	setsockopt(tx[0], SOL_SOCKET, SO_SNDBUF, &i, sizeof(i));
	printf("seed %u, %d seconds\n", seed, secs);
	srand(seed);
	zt_case = "stress";
	end = time(NULL) + secs;
	while (time(NULL) < end && id < MAXREQ - 64) {
		int batch = 1 + rand() % 32;

		for (i = 0; i < batch; i++, id++)
			queue_one(&ring, id, (unsigned)rand() << 1 ^ rand());
		io_uring_submit_and_get_events(&ring);
		if (reap(&ring, 0))
			return T_EXIT_FAIL;
	}
	/* flush every group, then wait for every expected CQE */
	for (g = 0; g < NGROUP; g++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct req *r = &reqs[id];

		io_uring_prep_send_zc_group(sqe, tx[1], txbuf, LEN, 0, 0, g + 1,
					    true);
		sqe->user_data = id++;
		r->kind = MEMBER;
		r->group = g;
		r->flush = 1;
		r->gen_count = ++open_count[g];
		r->flush_seq = flushes[g]++;
		open_count[g] = 0;
		outstanding++;
		flushed++;
	}
	io_uring_submit(&ring);
	end = time(NULL) + 30;
	while (outstanding && time(NULL) < end)
		if (reap(&ring, 100))
			return T_EXIT_FAIL;
	if (outstanding) {
		fprintf(stderr, "FAIL: %lu requests still waiting for CQEs\n",
			outstanding);
		for (i = 1; i < (int)id; i++)
			if (reqs[i].kind && !reqs[i].done) {
				fprintf(stderr, "  req %d kind %d main %d more %d\n",
					i, reqs[i].kind, reqs[i].got_main,
					reqs[i].more);
				break;
			}
		return T_EXIT_FAIL;
	}
	if (zt_drain(&ring, (struct zt_cqe[4]){ 0 }, 4, ZT_QUIET_MS)) {
		fprintf(stderr, "FAIL: extra CQEs after all were accounted\n");
		return T_EXIT_FAIL;
	}
	for (g = 0; g < NGROUP; g++)
		if (posted[g] != flushes[g]) {
			fprintf(stderr, "FAIL: group %d posted %d of %d\n", g,
				posted[g], flushes[g]);
			return T_EXIT_FAIL;
		}
	printf("ok stress: %lu requests, all CQEs as the model says\n", id - 1);
	io_uring_queue_exit(&ring);
	(void)flushed;
	return T_EXIT_PASS;
}
