/* SPDX-License-Identifier: MIT */
/*
 * Allocation failures on the zero-copy paths, at every position in turn.
 *
 * One batch of five zero-copy sends covers what these paths allocate: the
 * group and its xarray node, the generation, the batch's notification
 * (io_alloc_notif), a plain send's notification, a combined send, the
 * requests themselves and the sends' skbs. For N = 1, 2, ... the N-th
 * allocation of this task (slab or page allocator) is made to fail
 * (/proc/thread-self/fail-nth, so only this task is affected), the batch
 * is submitted and its CQEs collected; once the N-th allocation is no
 * longer reached, every position has been tried. For each one:
 *  - io_uring_submit() may submit fewer SQEs (a request could not be
 *    allocated): the rest are submitted after the fault, nothing is lost;
 *  - at most one request fails, with -ENOMEM or -ENOBUFS, on exactly one
 *    main CQE, flags 0 unless it is the flusher that joined (F_MORE: its
 *    group CQE follows);
 *  - every other request posts what it posts without a fault: a plain send
 *    its main CQE with F_MORE and its notification, a combined send one
 *    F_NOTIF CQE, the group one CQE counting its members (a member that
 *    failed at issue counts, one rejected at prep does not; a flusher
 *    rejected at prep seals nothing, so a second flush seals the
 *    generation);
 *  - nothing else arrives. KASAN, lockdep and kmemleak watch the error
 *    paths (the guest fails the run on any report).
 * Both on a default and on a DEFER_TASKRUN ring. The debugfs knobs make the
 * slab and page allocators fail also for GFP_KERNEL and order-0
 * allocations; they are restored at the end.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		1024
#define GROUP		9
#define NREQ		5
#define MAX_NTH		2000
/* loopback UDP completes at once: a short wait for stragglers will do */
#define QUIET_MS	50
/* user_data of the requests */
#define UD_M1		0x101ULL	/* member, CQE_SKIP */
#define UD_M2		0x102ULL	/* member */
#define UD_FLUSH	0x103ULL	/* flusher, NOTIF_USER_DATA */
#define UD_GROUP	0x1f0ULL	/* the flusher's notification user_data */
#define UD_PLAIN	0x104ULL	/* ungrouped SEND_ZC */
#define UD_COMBINE	0x105ULL	/* COMBINE_CQE */
#define UD_FLUSH2	0x106ULL	/* the second flush, when needed */

static char buf[NREQ][LEN] __attribute__((aligned(4096)));

struct knob {
	const char *path, *value;
	char saved[32];
};

static struct knob knobs[] = {
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	/* no stack dump on the console for every fault */
	{ "/sys/kernel/debug/failslab/verbose", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
};

static int read_str(const char *path, char *s, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, s, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	s[n] = 0;
	s[strcspn(s, "\n")] = 0;
	return 0;
}

static void restore_knobs(void)
{
	unsigned i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (knobs[i].saved[0])
			zt_write_file(knobs[i].path, knobs[i].saved);
}

static int set_knobs(void)
{
	unsigned i;
	int ret;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		ret = read_str(knobs[i].path, knobs[i].saved,
			       sizeof(knobs[i].saved));
		if (!ret)
			ret = zt_write_file(knobs[i].path, knobs[i].value);
		if (ret) {
			fprintf(stderr, "%s: %s\n", knobs[i].path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void queue_batch(struct io_uring *ring, int tx)
{
	struct io_uring_sqe *sqe;

	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf[0], LEN, 0, 0, GROUP, false);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD_M1;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, tx, buf[1], LEN, 0, 0, GROUP, false);
	sqe->user_data = UD_M2;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group_fixed(sqe, tx, buf[2], LEN, 0, 0, 0, GROUP,
					  true);
	io_uring_sqe_set_notif_user_data(sqe, UD_GROUP);
	sqe->user_data = UD_FLUSH;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, tx, buf[3], LEN, 0, 0);
	sqe->user_data = UD_PLAIN;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, tx, buf[4], LEN, 0, 0);
	io_uring_sqe_set_zc_combine_cqe(sqe);
	sqe->user_data = UD_COMBINE;
}

static bool alloc_error(int res)
{
	return res == -ENOMEM || res == -ENOBUFS;
}

/*
 * Check the CQEs of one batch (n of them in c) against the rules above.
 * *reflush is set when the flusher was rejected at prep: the caller then
 * flushes again and checks the group CQE (want_count members).
 */
static int check_batch(struct zt_cqe *c, int n, int nth, bool *reflush,
		       int *want_count)
{
	int i, errors = 0, members = 3, m;
	int main_of[NREQ] = { -1, -1, -1, -1, -1 };
	int group_cqe = -1, plain_notif = -1;

	*reflush = false;
	for (i = 0; i < n; i++) {
		__u64 ud = c[i].user_data;

		if (ud == UD_GROUP) {
			zt_check(group_cqe < 0, "N=%d: two group CQEs", nth);
			group_cqe = i;
		} else if (ud == UD_PLAIN && (c[i].flags & IORING_CQE_F_NOTIF)) {
			zt_check(plain_notif < 0, "N=%d: two notifications", nth);
			plain_notif = i;
		} else if (ud >= UD_M1 && ud <= UD_COMBINE) {
			m = ud - UD_M1;
			zt_check(main_of[m] < 0, "N=%d: two CQEs for 0x%llx",
				 nth, (unsigned long long)ud);
			main_of[m] = i;
			if (c[i].res < 0) {
				zt_check(alloc_error(c[i].res),
					 "N=%d: 0x%llx failed with %d, not -ENOMEM/-ENOBUFS",
					 nth, (unsigned long long)ud, c[i].res);
				errors++;
			}
		} else {
			zt_check(0, "N=%d: unexpected CQE user_data 0x%llx", nth,
				 (unsigned long long)ud);
		}
	}
	zt_check(errors <= 1, "N=%d: %d requests failed for one fault", nth,
		 errors);

	/* member 1 skips its CQE on success; member 2 always posts one */
	if (main_of[0] >= 0) {
		zt_check(c[main_of[0]].res < 0 && c[main_of[0]].flags == 0,
			 "N=%d: CQE_SKIP member posted res %d flags 0x%x", nth,
			 c[main_of[0]].res, c[main_of[0]].flags);
	}
	zt_check(main_of[1] >= 0, "N=%d: no CQE for member 2", nth);
	zt_check(c[main_of[1]].flags == 0 &&
		 (c[main_of[1]].res == LEN || c[main_of[1]].res < 0),
		 "N=%d: member 2 res %d flags 0x%x", nth, c[main_of[1]].res,
		 c[main_of[1]].flags);
	/* a member failing at prep is no member, one failing at issue is */
	for (m = 0; m < 2; m++)
		if (main_of[m] >= 0 && c[main_of[m]].res < 0)
			members = -1;	/* 2 or 3, see below */

	/* the flusher */
	zt_check(main_of[2] >= 0, "N=%d: no CQE for the flusher", nth);
	i = main_of[2];
	if (c[i].res == LEN || c[i].flags == IORING_CQE_F_MORE) {
		/* it joined: its group CQE follows */
		zt_check(c[i].flags == IORING_CQE_F_MORE,
			 "N=%d: flusher res %d flags 0x%x", nth, c[i].res,
			 c[i].flags);
		zt_check(group_cqe >= 0, "N=%d: no group CQE after F_MORE", nth);
		zt_check(c[group_cqe].flags == IORING_CQE_F_NOTIF,
			 "N=%d: group CQE flags 0x%x", nth, c[group_cqe].flags);
		if (members < 0)
			zt_check(c[group_cqe].res == 2 || c[group_cqe].res == 3,
				 "N=%d: group counts %d", nth, c[group_cqe].res);
		else
			zt_check(c[group_cqe].res == 3, "N=%d: group counts %d, want 3",
				 nth, c[group_cqe].res);
	} else {
		/* rejected at prep: no member, nothing sealed */
		zt_check(c[i].flags == 0 && alloc_error(c[i].res),
			 "N=%d: flusher res %d flags 0x%x", nth, c[i].res,
			 c[i].flags);
		zt_check(group_cqe < 0, "N=%d: a group CQE without a flush", nth);
		*reflush = true;
		*want_count = 2 + 1;	/* both members and the new flusher */
	}

	/* the plain send */
	zt_check(main_of[3] >= 0, "N=%d: no CQE for the plain send", nth);
	i = main_of[3];
	if (c[i].flags & IORING_CQE_F_MORE) {
		zt_check(plain_notif >= 0 && c[plain_notif].res == 0 &&
			 c[plain_notif].flags == IORING_CQE_F_NOTIF,
			 "N=%d: plain send's notification", nth);
	} else {
		zt_check(c[i].res < 0 && c[i].flags == 0 && plain_notif < 0,
			 "N=%d: plain send res %d flags 0x%x, notification %d",
			 nth, c[i].res, c[i].flags, plain_notif >= 0);
	}

	/* the combined send */
	zt_check(main_of[4] >= 0, "N=%d: no CQE for the combined send", nth);
	i = main_of[4];
	zt_check((c[i].flags == IORING_CQE_F_NOTIF && c[i].res == LEN) ||
		 (c[i].res < 0 && (c[i].flags == 0 ||
				   c[i].flags == IORING_CQE_F_NOTIF)),
		 "N=%d: combined res %d flags 0x%x", nth, c[i].res, c[i].flags);
	return T_EXIT_PASS;
}

/*
 * The fail-nth file stays open: opening it inside the fault window would
 * allocate, and could take the fault itself.
 */
static int nth_fd = -1;

static int set_nth(int n)
{
	char val[16];
	int len = snprintf(val, sizeof(val), "%d", n);

	return pwrite(nth_fd, val, len, 0) == len ? 0 : -errno;
}

/* 0 if the fault was injected, else the calls still to go. */
static int get_nth(void)
{
	char val[16];
	ssize_t n = pread(nth_fd, val, sizeof(val) - 1, 0);

	if (n <= 0)
		return -1;
	val[n] = 0;
	return atoi(val);
}

static int run(bool defer, int *positions)
{
	int nth, tx, rx, n, want, ret, count, left;
	struct zt_cqe c[32];

	for (nth = 1; nth <= MAX_NTH; nth++) {
		struct io_uring ring;
		bool reflush;

		zt_check(!zt_ring_init(&ring, 64, defer, buf, sizeof(buf)),
			 "ring init");
		zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
		want = 1 << 20;
		setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
		queue_batch(&ring, tx);

		/* the fault window: submission and the CQEs of the batch */
		zt_check(!set_nth(nth), "write fail-nth");
		ret = io_uring_submit(&ring);
		n = ret > 0 ? zt_drain(&ring, c, 32, QUIET_MS) : 0;
		left = get_nth();
		set_nth(0);
		zt_check(left >= 0, "read fail-nth");
		/* what the fault kept from being submitted goes now */
		if (ret < NREQ) {
			zt_check(ret >= 0 || ret == -EAGAIN,
				 "N=%d: submit %d", nth, ret);
			zt_check(io_uring_submit(&ring) == NREQ - (ret > 0 ? ret : 0),
				 "N=%d: submitting the rest", nth);
		}
		n += zt_drain(&ring, c + n, 32 - n, QUIET_MS);
		if (check_batch(c, n, nth, &reflush, &count)) {
			zt_print_cqes(c, n);
			return T_EXIT_FAIL;
		}
		if (reflush) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_send_zc_group(sqe, tx, buf[2], LEN, 0, 0,
						    GROUP, true);
			sqe->user_data = UD_FLUSH2;
			zt_check(io_uring_submit(&ring) == 1, "submit");
			n = zt_collect(&ring, c, 32, 2);
			zt_check(n == 2, "N=%d: %d CQEs after the second flush", nth, n);
			ret = zt_find(c, n, UD_FLUSH2, true);
			zt_check(ret >= 0 && c[ret].res == (int)count,
				 "N=%d: the second flush's group CQE", nth);
		}
		io_uring_queue_exit(&ring);
		close(tx);
		close(rx);
		if (left) {
			/* the N-th allocation was not reached: all tried */
			*positions = nth - 1;
			return T_EXIT_PASS;
		}
	}
	fprintf(stderr, "more than %d allocations in one batch?\n", MAX_NTH);
	return T_EXIT_FAIL;
}

int main(void)
{
	int ret, pos_default = 0, pos_defer = 0;

	zt_require_zcg();
	if (access("/proc/thread-self/fail-nth", W_OK))
		zt_skip_exit("no /proc/thread-self/fail-nth: kernel without CONFIG_FAULT_INJECTION (or not root)");
	if (access(knobs[0].path, W_OK) || access(knobs[1].path, W_OK))
		zt_skip_exit("no failslab/fail_page_alloc in debugfs: kernel without CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC or CONFIG_FAULT_INJECTION_DEBUG_FS");
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	zt_check(nth_fd >= 0, "open fail-nth: %s", strerror(errno));
	if (set_knobs()) {
		restore_knobs();
		return T_EXIT_FAIL;
	}
	zt_case = "default ring";
	ret = run(false, &pos_default);
	if (ret == T_EXIT_PASS) {
		zt_case = "defer_taskrun ring";
		ret = run(true, &pos_defer);
	}
	restore_knobs();
	if (ret != T_EXIT_PASS)
		return ret;
	printf("ok: every allocation failed in turn: %d positions on a default ring, %d on a DEFER_TASKRUN ring\n",
	       pos_default, pos_defer);
	if (pos_default < 10 || pos_defer < 10) {
		printf("too few allocations seen: is fail-nth counting?\n");
		return T_EXIT_FAIL;
	}
	return T_EXIT_PASS;
}
