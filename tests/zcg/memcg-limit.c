/* SPDX-License-Identifier: MIT */
/*
 * Groups under a memory cgroup limit (DESIGN.md 2.4: groups and generations
 * are charged to the submitter's memcg).
 *
 * A child process in a cgroup v2 of its own sets up a ring, then the
 * cgroup's memory.max is set to what it uses plus HEADROOM. The child
 * creates groups, one grouped send each (CQE_SKIP, no flush: every group
 * keeps an open generation), until a send fails. Then:
 *  - the failure is a clean error on one CQE (-ENOMEM; -ENOSPC would mean
 *    the ring's 4096 groups fitted in HEADROOM), or io_uring_submit()
 *    returning -EAGAIN/-ENOMEM because no request could be allocated;
 *  - the cgroup's memory.peak stayed within memory.max: groups,
 *    generations and their requests fail rather than exceed the limit;
 *  - the child is not OOM-killed (its own memory was faulted in before the
 *    limit, so only the kernel's charges grow), and this process, outside
 *    the cgroup, goes on using io_uring;
 *  - once the child exits its ring, the cgroup's slab bytes (memory.stat)
 *    fall back to at most what they were before the groups, within SLACK.
 *    Not memory.current: every CPU's charge stock may keep up to 64 pages
 *    charged after they were freed (seen: 244 KiB with two CPUs);
 *  - the child recovers: a new ring's grouped send and flush complete.
 *
 * The UDP socket pair is made by this process before the child joins the
 * cgroup, so its memory is charged outside it. A socket of the cgroup
 * receiving over loopback would make the test meaningless: UDP charges its
 * receive memory in softirq context with GFP_ATOMIC, which memcg charges
 * past memory.max (upstream behaviour, see try_charge_memcg()), and once the
 * datagram is read the pages go to the CPU's charge stock, from which the
 * groups' next allocations take them without a limit check. Seen on the
 * cloud kernel: peak 1.7 MiB under a 768 KiB memory.max, 4096 groups.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zcg-test.h"

#define CG_ROOT		"/sys/fs/cgroup"
#define CG		CG_ROOT "/zcg-memcg-limit"
#define HEADROOM	(512 * 1024)
#define SLACK		(128 * 1024)
#define GROUPS_MAX	4096
#define RING_ENTRIES	64

static char buf[64];

static long long read_num(const char *path)
{
	char s[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, s, sizeof(s) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	s[n] = 0;
	return atoll(s);
}

/* the value of key in a memory.stat style file, or a negative errno */
static long long stat_num(const char *path, const char *key)
{
	char line[256];
	long long v = -ENOENT;
	size_t n = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ' ') {
			v = atoll(line + n + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

static bool has_word(const char *path, const char *word)
{
	char s[512];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, s, sizeof(s) - 1);
	close(fd);
	if (n <= 0)
		return false;
	s[n] = 0;
	return strstr(s, word) != NULL;
}

/* one byte over the pipe, each way */
static int say(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int hear(int fd, char want)
{
	char c;

	if (read(fd, &c, 1) != 1 || c != want) {
		fprintf(stderr, "sync: wanted '%c'\n", want);
		return -1;
	}
	return 0;
}

struct result {
	int groups;		/* groups created before the failure */
	int err;		/* the failure: CQE res or submit's return */
	int where;		/* 1: a CQE, 2: io_uring_submit() */
	int recovered;		/* the new ring's group CQE count */
};

/* Touch what the child will use, so that no page fault needs a charge. */
static void prefault(struct io_uring *ring)
{
	volatile char stack[64 * 1024];
	unsigned i;

	memset((void *)stack, 0, sizeof(stack));
	memset(buf, 0, sizeof(buf));
	memset(ring->sq.sqes, 0, RING_ENTRIES * sizeof(struct io_uring_sqe));
	for (i = 0; i < *ring->cq.kring_entries; i++)
		(void)*(volatile __u64 *)&ring->cq.cqes[i].user_data;
}

static int child(int in, int out, int resfd, int tx, int rx)
{
	struct result res = { 0 };
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int g, ret;

	if (hear(in, 'G'))
		return 1;
	/* from here on everything is charged to the cgroup */
	if (io_uring_queue_init(RING_ENTRIES, &ring, 0))
		return 1;
	prefault(&ring);
	if (say(out, 'S') || hear(in, 'F'))
		return 1;

	/* groups until something fails */
	for (g = 1; g <= GROUPS_MAX + 1 && !res.where; g++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_send_zc_group(sqe, tx, buf, 1, MSG_DONTWAIT, 0, g,
					    false);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = g;
		ret = io_uring_submit(&ring);
		if (ret != 1) {
			res.where = 2;
			res.err = ret;
			break;
		}
		/* a successful member posts nothing; a failure posts its CQE */
		while (!io_uring_peek_cqe(&ring, &cqe)) {
			if (!res.where) {
				res.where = 1;
				res.err = cqe->res;
				if (cqe->flags || cqe->user_data != (__u64)g)
					res.err = -9999;	/* not one clean CQE */
			}
			io_uring_cqe_seen(&ring, cqe);
		}
		if (!res.where)
			res.groups = g;
		/* keep the receiver's queue short */
		while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	io_uring_queue_exit(&ring);
	while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	if (say(out, 'C') || hear(in, 'E'))
		return 1;

	/* recovery: a new ring, one group, its CQE */
	ret = io_uring_queue_init(8, &ring, 0);
	if (!ret) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_send_zc_group(sqe, tx, buf, 1, 0, 0, 1, true);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = 7;
		if (io_uring_submit(&ring) == 1 && !io_uring_wait_cqe(&ring, &cqe)) {
			if (cqe->user_data == 7 && cqe->flags == IORING_CQE_F_NOTIF)
				res.recovered = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
		io_uring_queue_exit(&ring);
	}
	close(tx);
	close(rx);
	return write(resfd, &res, sizeof(res)) == sizeof(res) ? 0 : 1;
}

/* This process, outside the cgroup, still uses io_uring normally. */
static int outside_still_works(void)
{
	struct io_uring ring;
	struct zt_cqe c[4];
	int tx, rx, n;

	zt_check(!io_uring_queue_init(8, &ring, 0), "ring outside the cgroup");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "pair");
	zt_member(&ring, tx, buf, 16, 3, true, -1, IOSQE_CQE_SKIP_SUCCESS, 0x33);
	zt_check(io_uring_submit(&ring) == 1, "submit");
	n = zt_collect(&ring, c, 4, 1);
	zt_check(n == 1 && zt_check_group(&c[0], 0x33, 1) == T_EXIT_PASS,
		 "outside the cgroup: the group CQE");
	return zt_done(&ring, 2, tx, rx);
}

static int run(void)
{
	int to_child[2], from_child[2], resp[2], status, tx, rx;
	long long base, limit, peak, slab0, after = -1, end;
	struct result res;
	char num[32];
	pid_t pid;
	int ret = T_EXIT_FAIL;

	zt_check(!pipe(to_child) && !pipe(from_child) && !pipe(resp), "pipes");
	/* outside the cgroup, see the comment at the top */
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx), "UDP pair");
	rmdir(CG);
	zt_check(!mkdir(CG, 0755), "mkdir %s: %s", CG, strerror(errno));
	printf("memcg-limit: %s\n", CG);	/* stdio's buffer before the fork */
	fflush(stdout);
	pid = fork();
	zt_check(pid >= 0, "fork");
	if (!pid) {
		close(to_child[1]);
		close(from_child[0]);
		close(resp[0]);
		_exit(child(to_child[0], from_child[1], resp[1], tx, rx));
	}
	close(to_child[0]);
	close(from_child[1]);
	close(resp[1]);
	snprintf(num, sizeof(num), "%d", pid);
	if (zt_write_file(CG "/cgroup.procs", num) || say(to_child[1], 'G') ||
	    hear(from_child[0], 'S')) {
		fprintf(stderr, "could not start the child in the cgroup\n");
		goto out;
	}
	base = read_num(CG "/memory.current");
	slab0 = stat_num(CG "/memory.stat", "slab");
	limit = base + HEADROOM;
	snprintf(num, sizeof(num), "%lld", limit);
	if (base < 0 || slab0 < 0 || zt_write_file(CG "/memory.max", num)) {
		fprintf(stderr, "memory.current %lld, cannot set memory.max\n", base);
		goto out;
	}
	if (say(to_child[1], 'F') || hear(from_child[0], 'C')) {
		if (waitpid(pid, &status, 0) == pid) {
			fprintf(stderr, "the child %s %d while creating groups%s\n",
				WIFSIGNALED(status) ? "was killed by signal" : "exited with",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
				WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ?
				" (the memcg OOM killer?)" : "");
			pid = 0;
		}
		goto out;
	}
	peak = read_num(CG "/memory.peak");
	/* the ring is gone: its charges must go too (freed asynchronously) */
	end = zt_now_ms() + 10000;
	while (zt_now_ms() < end) {
		after = stat_num(CG "/memory.stat", "slab");
		if (after >= 0 && after <= slab0 + SLACK)
			break;
		usleep(50 * 1000);
	}
	say(to_child[1], 'E');
	if (waitpid(pid, &status, 0) != pid) {
		fprintf(stderr, "waitpid: %s\n", strerror(errno));
		goto out;
	}
	pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "the child %s %d (OOM-killed?)\n",
			WIFSIGNALED(status) ? "was killed by signal" : "exited with",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		goto out;
	}
	if (read(resp[0], &res, sizeof(res)) != sizeof(res)) {
		fprintf(stderr, "no result from the child\n");
		goto out;
	}
	printf("memcg-limit: memory.max = %lld + %d; %d groups, then %s %d (%s); memory.current %lld before the groups, peak %lld; slab %lld before, %lld after the ring exit; recovered group CQE res %d\n",
	       base, HEADROOM, res.groups,
	       res.where == 1 ? "a CQE with" : "io_uring_submit() returned",
	       res.err, strerror(res.err < 0 ? -res.err : res.err), base, peak,
	       slab0, after, res.recovered);
	if (res.where == 1 && res.err != -ENOMEM) {
		fprintf(stderr, "the failing send's CQE: want -ENOMEM, flags 0, its own user_data (-9999: not so)\n");
		goto out;
	}
	if (res.where == 2 && res.err != -EAGAIN && res.err != -ENOMEM) {
		fprintf(stderr, "io_uring_submit: want -EAGAIN or -ENOMEM\n");
		goto out;
	}
	if (!res.where || res.groups < 1) {
		fprintf(stderr, "no clean failure within the limit\n");
		goto out;
	}
	if (peak < 0 || peak > limit) {
		fprintf(stderr, "memory.peak %lld is over memory.max %lld: a charge was forced past the limit\n",
			peak, limit);
		goto out;
	}
	if (after < 0 || after > slab0 + SLACK) {
		fprintf(stderr, "the cgroup's slab did not come back: %lld > %lld + %d bytes\n",
			after, slab0, SLACK);
		goto out;
	}
	if (res.recovered != 1) {
		fprintf(stderr, "no recovery: group CQE res %d\n", res.recovered);
		goto out;
	}
	ret = outside_still_works();
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	rmdir(CG);
	close(tx);
	close(rx);
	return ret;
}

int main(void)
{
	zt_require_zcg();
	if (geteuid() != 0)
		zt_skip_exit("not root: cannot create a cgroup");
	if (!has_word(CG_ROOT "/cgroup.controllers", "memory"))
		zt_skip_exit("no cgroup v2 memory controller at %s", CG_ROOT);
	if (!has_word(CG_ROOT "/cgroup.subtree_control", "memory") &&
	    zt_write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
		zt_skip_exit("cannot enable the memory controller for child cgroups");
	zt_case = "groups until the memcg limit";
	return run();
}
