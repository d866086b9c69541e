/* SPDX-License-Identifier: MIT */
/*
 * Every bad group input gets its exact error, exactly one CQE, sends
 * nothing, and does not join or seal a generation (DESIGN.md 2.4):
 * zc_group 0, SQE bytes 60..63 set, FLUSH without GROUP, group flags,
 * NOTIF_USER_DATA and COMBINE_CQE on non-zero-copy opcodes, COMBINE_CQE
 * with a group, the cap on live groups
 * (-ENOSPC) and on the members of a generation (-EOVERFLOW), and the
 * locked-memory limit of an unprivileged user (-ENOMEM), whose pages must
 * all be given back when a generation completes.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		256
#define GROUPS_MAX	4096

static char buf[LEN];
static int tx, rx;

static int nothing_received(void)
{
	ssize_t r = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);

	zt_check(r < 0 && errno == EAGAIN, "receiver got %zd bytes", r);
	return T_EXIT_PASS;
}

static int recv_n(int n)
{
	int i;

	for (i = 0; i < n; i++)
		zt_check(zt_recv_all(rx, buf, LEN, SOCK_DGRAM) == LEN,
			 "datagram %d missing", i);
	return nothing_received();
}

/* Submit one SQE and expect exactly one CQE with res err and flags 0. */
static int expect_reject(struct io_uring *ring, struct io_uring_sqe *sqe,
			 int err)
{
	struct zt_cqe c[4];
	int n;

	sqe->user_data = 0x5a5a;
	zt_check(io_uring_submit(ring) == 1, "submit");
	n = zt_collect(ring, c, 4, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs, want 1", n);
	zt_check(c[0].res == err, "res %d, want %d", c[0].res, err);
	zt_check(c[0].flags == 0, "flags 0x%x", c[0].flags);
	return nothing_received();
}

static int test_fields(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;

	zt_case = "zc_group 0";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 0, true);
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "bytes 60..63 set";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 3, true);
	sqe->__zc_group_pad = 1;
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "FLUSH without GROUP";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, tx, buf, LEN, 0, IORING_SEND_ZC_GROUP_FLUSH);
	sqe->zc_group = 3;
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "zc_group without GROUP";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, tx, buf, LEN, 0, 0);
	sqe->zc_group = 3;
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "COMBINE_CQE with GROUP";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0,
				    IORING_SEND_ZC_COMBINE_CQE, 3, true);
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "group flags on IORING_OP_SEND";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, tx, buf, LEN, 0);
	io_uring_sqe_set_zc_group(sqe, 3, true);
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "NOTIF_USER_DATA on IORING_OP_SEND";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, tx, buf, LEN, 0);
	io_uring_sqe_set_notif_user_data(sqe, 0x1234);
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "COMBINE_CQE on IORING_OP_SEND";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, tx, buf, LEN, 0);
	io_uring_sqe_set_zc_combine_cqe(sqe);
	if (expect_reject(ring, sqe, -EINVAL))
		return T_EXIT_FAIL;

	zt_case = "group flags on IORING_OP_SENDMSG";
	{
		static struct iovec iov = { .iov_base = buf, .iov_len = LEN };
		static struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

		sqe = io_uring_get_sqe(ring);
		io_uring_prep_sendmsg(sqe, tx, &msg, 0);
		io_uring_sqe_set_zc_group(sqe, 3, false);
		if (expect_reject(ring, sqe, -EINVAL))
			return T_EXIT_FAIL;
	}

	zt_case = "group flags on IORING_OP_NOP";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_zc_group(sqe, 3, true);
	sqe->user_data = 0x5a5a;
	/* nop ignores ioprio on 6.12; it must at least not post a group CQE */
	zt_check(io_uring_submit(ring) == 1, "submit");
	{
		struct zt_cqe c[4];
		int n = zt_collect(ring, c, 4, 1);

		zt_check(n == 1 && !(c[0].flags & IORING_CQE_F_NOTIF),
			 "nop with group flags: %d CQEs", n);
	}
	return T_EXIT_PASS;
}

/*
 * A rejected member joins nothing: after members 1 and 2 of group 21, a
 * FLUSH with a bad buffer index fails at prep, and the next flush still
 * seals a generation of exactly 3.
 */
static int test_rejected_not_member(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	struct zt_cqe c[8];
	int n;

	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 21, false);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 21, false);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group_fixed(sqe, tx, buf, LEN, 0, 0, 99, 21, true);
	sqe->user_data = 0xbad;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 21, true);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = 0x600d;
	zt_check(io_uring_submit(ring) == 4, "submit");
	if (recv_n(3))
		return T_EXIT_FAIL;
	n = zt_collect(ring, c, 8, 2);
	if (n != 2)
		zt_print_cqes(c, n);
	zt_check(n == 2, "%d CQEs, want the rejection and the group", n);
	zt_check(c[0].user_data == 0xbad && c[0].res == -EFAULT &&
		 c[0].flags == 0, "rejected flush CQE");
	zt_check(c[1].user_data == 0x600d && c[1].res == 3 &&
		 c[1].flags == IORING_CQE_F_NOTIF, "group CQE res %d", c[1].res);
	return T_EXIT_PASS;
}

/*
 * Send one flushing member (CQE_SKIP) to group id and check that exactly
 * its generation's CQE comes, with user_data ud and res members.
 */
static int flush_one(struct io_uring *ring, struct zt_cqe *c, unsigned int id,
		     __u64 ud, int res, const char *what)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int n;

	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, id, true);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = ud;
	zt_check(io_uring_submit(ring) == 1, "submit");
	if (recv_n(1))
		return T_EXIT_FAIL;
	n = zt_collect(ring, c, 8, 1);
	zt_check(n == 1 && c[0].user_data == ud && c[0].res == res, "%s", what);
	return T_EXIT_PASS;
}

/*
 * GROUPS_MAX live groups (each with an open generation) fit; one more is
 * -ENOSPC with nothing sent. Flushing one frees its group and makes room;
 * the idle group the kernel keeps does not count, and is the only one kept.
 */
static int test_group_cap(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe *c;
	int i, n, done = 0;

	c = calloc(GROUPS_MAX + 8, sizeof(*c));
	zt_check(c, "calloc");
	zt_check(!io_uring_queue_init(1024, &ring, 0), "ring init");
	while (done < GROUPS_MAX) {
		/* small batches: the receiver must not drop datagrams */
		for (i = 0; i < 64 && done < GROUPS_MAX; i++, done++) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0,
						    1000 + done, false);
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		}
		zt_check(io_uring_submit(&ring) == i, "submit");
		if (recv_n(i))
			return T_EXIT_FAIL;
	}
	n = zt_drain(&ring, c, GROUPS_MAX + 8, ZT_QUIET_MS);
	if (n)
		zt_print_cqes(c, n > 4 ? 4 : n);
	zt_check(n == 0, "%d CQEs for open generations", n);

	zt_case = "live group cap";
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 999999, true);
	if (expect_reject(&ring, sqe, -ENOSPC))
		return T_EXIT_FAIL;
	/* an existing group still takes members */
	if (flush_one(&ring, c, 1000, 0x1000, 2, "flush of a live group"))
		return T_EXIT_FAIL;
	/* its group is gone once posted: a new group fits again */
	if (flush_one(&ring, c, 999999, 0x2000, 1, "new group after one was freed"))
		return T_EXIT_FAIL;
	/*
	 * 999999 is idle, and kept by the kernel as the group used last: it
	 * takes members again, and is not live while idle, so another new
	 * group fits once it is idle again. Only one idle group is kept: with
	 * GROUPS_MAX live groups, 999999 is then a new group over the cap.
	 */
	zt_case = "idle group used again";
	if (flush_one(&ring, c, 999999, 0x3000, 1, "flush of the idle group used again"))
		return T_EXIT_FAIL;
	zt_case = "new group while one is idle";
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 777777, false);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (recv_n(1))
		return T_EXIT_FAIL;
	n = zt_drain(&ring, c, 8, ZT_QUIET_MS);
	zt_check(n == 0, "%d CQEs for an open generation", n);
	zt_case = "the idle group is gone at the cap";
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 999999, true);
	if (expect_reject(&ring, sqe, -ENOSPC))
		return T_EXIT_FAIL;
	/* teardown with GROUPS_MAX open generations: nothing leaks */
	io_uring_queue_exit(&ring);
	free(c);
	return T_EXIT_PASS;
}

/*
 * Does the running kernel's configuration, as installed in /boot, set
 * CONFIG_IO_URING_ZC_GROUP_TEST_LIMITS? -1 if there is no such file.
 */
static int kernel_has_test_limits(void)
{
	char path[300], line[256];
	struct utsname u;
	int found = 0;
	FILE *f;

	if (uname(&u))
		return -1;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "CONFIG_IO_URING_ZC_GROUP_TEST_LIMITS=y\n"))
			found = 1;
	fclose(f);
	return found;
}

/*
 * The member cap of a generation: non-flushing members past it fail with
 * -EOVERFLOW and send nothing; a flush still seals the full generation.
 * The cap is 4096 on kernels built with CONFIG_IO_URING_ZC_GROUP_TEST_LIMITS
 * (the zcg test flavour), INT_MAX on the others: there the case checks that
 * MEMBERS_TRIED members join without an error and that one flush seals them.
 */
#define TEST_CAP	4096
#define MEMBERS_TRIED	(1 << 17)
static int test_member_cap(void)
{
	int test_limits = kernel_has_test_limits();
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct zt_cqe c[600];
	int joined = 0, i, n, k, err = 0;

	zt_check(!io_uring_queue_init(1024, &ring, IORING_SETUP_SUBMIT_ALL),
		 "ring init");
	while (!err && joined < MEMBERS_TRIED) {
		for (i = 0; i < 512; i++) {
			sqe = io_uring_get_sqe(&ring);
			/* bad fd: joins at prep, fails at issue, sends nothing */
			io_uring_prep_send_zc_group(sqe, 1000, buf, LEN, 0, 0,
						    77, false);
			sqe->user_data = i;
		}
		zt_check(io_uring_submit(&ring) == 512, "submit");
		n = zt_collect(&ring, c, 600, 512);
		zt_check(n == 512, "%d CQEs for 512 members", n);
		for (k = 0; k < n; k++) {
			if (c[k].res == -EBADF && c[k].flags == 0) {
				joined++;
				continue;
			}
			zt_check(c[k].res == -EOVERFLOW && c[k].flags == 0,
				 "member CQE res %d flags 0x%x", c[k].res,
				 c[k].flags);
			err++;
		}
	}
	if (err) {
		/* the last place is kept for the flush */
		zt_check(joined == TEST_CAP - 1,
			 "%d members joined before -EOVERFLOW, want %d",
			 joined, TEST_CAP - 1);
	} else {
		zt_check(test_limits != 1,
			 "no -EOVERFLOW after %d members although the kernel has CONFIG_IO_URING_ZC_GROUP_TEST_LIMITS",
			 joined);
		printf("member cap above %d (kernel without CONFIG_IO_URING_ZC_GROUP_TEST_LIMITS): checking the flush of %d members\n",
		       MEMBERS_TRIED, joined);
	}
	/* the flush takes the last place */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc_group(sqe, tx, buf, LEN, 0, 0, 77, true);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = 0xf1;
	zt_check(io_uring_submit(&ring) == 1, "submit");
	if (recv_n(1))
		return T_EXIT_FAIL;
	n = zt_collect(&ring, c, 8, 1);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1 && c[0].user_data == 0xf1 &&
		 c[0].res == joined + 1 && c[0].flags == IORING_CQE_F_NOTIF,
		 "flush of a full generation: res %d, want %d", c[0].res,
		 joined + 1);
	printf("%s: %d members + 1 flush\n",
	       err ? "member cap" : "no cap reached", joined);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}

/*
 * An unprivileged user's zero-copy sends from unregistered memory count
 * against RLIMIT_MEMLOCK, (len >> 12) + 2 pages each, while their buffers
 * are referenced (DESIGN.md 2.4, resource lifetimes; group-memlock.c checks
 * that a released buffer gives its pages back before the flush). With a
 * limit of 16 pages, 5 sends of 4 KiB (15 pages) fit in one generation,
 * round after round, only if every generation gives all its pages back. A
 * sixth send while the five buffers are still held by a connection whose
 * receiver does not read fails with -ENOMEM, and still counts as a member.
 */
#define ML_PAGES	16
#define ML_LEN		4096
#define ML_ROUNDS	200

/*
 * Send a generation of nr members of 4 KiB (group nr, the last one
 * flushing) and receive the first `delivered` datagrams.
 */
static int memlock_gen(struct io_uring *ring, int t, int r, int nr,
		       int delivered)
{
	static char mbuf[8][ML_LEN], rbuf[ML_LEN];
	struct io_uring_sqe *sqe;
	int i;

	for (i = 0; i < nr; i++) {
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_send_zc_group(sqe, t, mbuf[i], ML_LEN, 0, 0, nr,
					    i == nr - 1);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = 0x300 + i;
	}
	zt_check(io_uring_submit(ring) == nr, "submit");
	for (i = 0; i < delivered; i++)
		zt_check(zt_recv_all(r, rbuf, ML_LEN, SOCK_DGRAM) == ML_LEN,
			 "datagram %d missing", i);
	return T_EXIT_PASS;
}

static int memlock_child(void *arg)
{
	struct io_uring ring;
	struct zt_cqe c[16];
	int t, r, st, sr, i, n, round;

	(void)arg;
	zt_check(!io_uring_queue_init(16, &ring, 0), "ring init");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &t, &r), "pair");
	/* ML_ROUNDS generations, then one more after the failure below */
	for (round = 0; round <= ML_ROUNDS; round++) {
		if (memlock_gen(&ring, t, r, 5, 5))
			return T_EXIT_FAIL;
		n = zt_collect(&ring, c, 16, 1);
		if (n != 1)
			zt_print_cqes(c, n);
		zt_check(n == 1 && c[0].res == 5 &&
			 c[0].flags == IORING_CQE_F_NOTIF,
			 "round %d: %d CQEs, want the group CQE (pages not given back?)",
			 round, n);
		if (round != ML_ROUNDS - 1)
			continue;
		/*
		 * 6 sends of 4 KiB held by a stalled connection: the sixth
		 * (the flusher) passes the limit
		 */
		zt_check(!zt_stalled_pair(&st, &sr), "stalled pair");
		if (memlock_gen(&ring, st, sr, 6, 0))
			return T_EXIT_FAIL;
		n = zt_collect(&ring, c, 16, 1);
		if (n != 1)
			zt_print_cqes(c, n);
		zt_check(n == 1, "%d CQEs while the buffers are held, want the flusher's error",
			 n);
		zt_check(!zt_read_bytes(sr, ZT_FILL_LEN + 5 * ML_LEN),
			 "stalled connection: data missing");
		n += zt_collect(&ring, c + 1, 15, 1);
		if (n != 2)
			zt_print_cqes(c, n);
		zt_check(n == 2, "%d CQEs, want the flusher's error and the group",
			 n);
		close(st);
		close(sr);
		i = zt_find(c, n, 0x305, false);
		zt_check(i >= 0 && c[i].res == -ENOMEM &&
			 c[i].flags == IORING_CQE_F_MORE,
			 "flusher past the limit: want -ENOMEM with F_MORE");
		i = zt_find(c, n, 0x305, true);
		zt_check(i >= 0 && c[i].res == 6 &&
			 c[i].flags == IORING_CQE_F_NOTIF,
			 "group CQE of the generation with the failed member");
	}
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}

static int test_memlock(void)
{
	return zt_run_unprivileged(memlock_child, NULL, ML_PAGES * 4096, 120);
}

int main(void)
{
	struct io_uring ring;
	int ret, i;

	zt_require_zcg();
	if (zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx))
		return T_EXIT_FAIL;
	i = 1 << 20;
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &i, sizeof(i));
	/* SUBMIT_ALL: a rejected SQE must not hold back the ones after it */
	if (io_uring_queue_init(16, &ring, IORING_SETUP_SUBMIT_ALL))
		return T_EXIT_FAIL;
	ret = test_fields(&ring);
	if (ret)
		return ret;
	/* each case runs whatever the result of the one before */
	zt_run_on("rejected flush is no member", test_rejected_not_member(&ring));
	io_uring_queue_exit(&ring);
	zt_run_on("live group cap", test_group_cap());
	zt_run_on("generation member cap", test_member_cap());
	zt_run_on("locked-memory limit of an unprivileged user", test_memlock());
	return zt_status();
}
