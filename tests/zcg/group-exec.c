/* SPDX-License-Identifier: MIT */
/*
 * Tasks (DESIGN.md 2.4): exec or exit of a task never takes a CQE away from
 * a request that another task submitted (issue 10, item 5).
 *
 * The rule the kernel implements (io_uring_zc_notifications(7)):
 *   exec or exit of a task changes nothing for groups: open generations
 *   stay open for the other users of the ring; the task's members that
 *   were not issued yet are cancelled and count as failed members.
 *
 * Two processes share one default ring (fork after io_uring_queue_init).
 * P opens a generation of group G (a member, no flush, CQE_SKIP), child C
 * adds a member (no flush), P execs (/proc/self/exe again; the ring fd is
 * O_CLOEXEC, so the new image has no ring), then C flushes and must get
 * one group CQE counting every member. Only P submits before the fork,
 * only C after it, and only C reads the CQ, so liburing's SQ and CQ state
 * is never used by both. The new image of P waits for C and exits with its
 * verdict, so that the test's exit status is C's.
 * Cases:
 *   - P's member was sent and released before the fork;
 *   - P's member is in flight on a connection whose receiver does not read.
 *     An exec waits for the task's zero-copy buffers in flight, as for any
 *     zero-copy send, so it may end before or after the release: C flushes
 *     after P started its exec, then releases, and the group CQE must count
 *     all three members (and P's exec must end);
 *   - P also has a member linked behind a timeout, not issued yet: the exec
 *     cancels it (its main CQE: -ECANCELED), and it counts as a member.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN		4096
#define GROUP		0xe7ec
#define UD(i)		(0xc000ULL + (i))
#define UD_TIMEOUT	0xc0ffULL
#define AFTER_EXEC	"--after-exec"
#define GROUP_MS	2000
#define EXEC_MS		5000
/* C is killed after C_LIMIT_S; the test gives up on P after P_LIMIT_S */
#define C_LIMIT_S	30
#define P_LIMIT_S	60

static char bufs[4][LEN] __attribute__((aligned(4096)));
static char rxbuf[LEN];

enum mode { SENT, IN_FLIGHT, NOT_ISSUED };

struct shared {
	enum mode mode;
	struct io_uring ring;
	int utx, urx, stx, srx;
	int go[2], execd[2];
	bool released;
};

/*
 * Wait up to ms for P's exec: C holds the read end of a pipe whose only
 * write end is P's, O_CLOEXEC. 1 when it was closed, 0 on timeout.
 */
static int exec_done(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char b;

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return read(fd, &b, 1) == 0;
}

/* Child C: add a member, let P exec, flush, check the group CQE. */
static int child_c(struct shared *s)
{
	unsigned want = s->mode == NOT_ISSUED ? 4 : 3;
	int n, i, ndgram, exec_early, ncqe;
	struct zt_cqe c[8];
	char b = 1;

	signal(SIGALRM, SIG_DFL);
	alarm(C_LIMIT_S);
	close(s->execd[1]);
	close(s->go[0]);
	zt_fill(bufs[2], LEN, 2);
	zt_member(&s->ring, s->utx, bufs[2], LEN, GROUP, false, -1,
		  IOSQE_CQE_SKIP_SUCCESS, UD(2));
	zt_check(io_uring_submit(&s->ring) == 1, "C: submit");
	zt_check(write(s->go[1], &b, 1) == 1, "C: signal P");

	exec_early = exec_done(s->execd[0],
			       s->mode == IN_FLIGHT ? 1000 : EXEC_MS);
	if (s->mode != IN_FLIGHT)
		zt_check(exec_early,
			 "P's exec did not complete within %d ms (it waits for a generation it opened, which only C can flush)",
			 EXEC_MS);
	else
		printf("    P's exec %s before the release of its buffer\n",
		       exec_early ? "completed" : "did not complete");

	/* C flushes */
	zt_fill(bufs[3], LEN, 3);
	zt_member(&s->ring, s->utx, bufs[3], LEN, GROUP, true, -1,
		  IOSQE_CQE_SKIP_SUCCESS, UD(3));
	zt_check(io_uring_submit(&s->ring) == 1, "C: submit the flush");
	ndgram = s->mode == IN_FLIGHT ? 2 : 3;
	for (i = 0; i < ndgram; i++)
		zt_check(zt_recv_all(s->urx, rxbuf, LEN, SOCK_DGRAM) == LEN,
			 "datagram %d missing", i);

	if (s->mode == IN_FLIGHT) {
		n = zt_drain(&s->ring, c, 8, 500);
		if (n)
			zt_print_cqes(c, n);
		zt_check(n == 0,
			 "%d CQEs while P's member is in flight (the exec discarded the generation?)",
			 n);
		zt_check(!zt_read_bytes(s->srx, ZT_FILL_LEN + LEN),
			 "P's data missing");
		s->released = true;
	}
	/* the group CQE; with NOT_ISSUED also the timeout's and P's member's */
	ncqe = s->mode == NOT_ISSUED ? 3 : 1;
	n = 0;
	while (n < ncqe && !zt_wait(&s->ring, &c[n], GROUP_MS))
		n++;
	n += zt_drain(&s->ring, c + n, 8 - n, ZT_QUIET_MS);
	i = zt_find(c, n, UD(3), true);
	if (n != ncqe || i < 0 || c[i].res != (int)want)
		zt_print_cqes(c, n);
	zt_check(i >= 0, "no group CQE within %d ms of the flush%s", GROUP_MS,
		 s->mode == IN_FLIGHT ? " and the release" : "");
	zt_check(c[i].res != 1,
		 "group CQE counts only C's flusher: P's exec discarded the open generation and C's member with it");
	if (zt_check_group(&c[i], UD(3), want))
		return T_EXIT_FAIL;
	if (s->mode == NOT_ISSUED) {
		/* the exec cancelled P's timeout and the member behind it */
		i = zt_find(c, n, UD_TIMEOUT, false);
		zt_check(i >= 0 && c[i].res == -ECANCELED && c[i].flags == 0,
			 "timeout cancelled by the exec");
		i = zt_find(c, n, UD(1), false);
		zt_check(i >= 0 && c[i].res == -ECANCELED && c[i].flags == 0,
			 "member cancelled by the exec: want -ECANCELED, no F_MORE");
	}
	zt_check(n == ncqe, "%d CQEs, want %d", n, ncqe);
	if (s->mode == IN_FLIGHT && !exec_early)
		zt_check(exec_done(s->execd[0], EXEC_MS),
			 "P's exec did not complete after its buffer was released");
	return T_EXIT_PASS;
}

/*
 * P: open the generation, fork C, wait for C's member, exec. No alarm here:
 * a signal that comes while the exec waits for P's buffer in flight would
 * not end the wait; the test process bounds P instead (see test_exec()).
 */
static int parent_p(struct shared *ps)
{
	struct __kernel_timespec ts = { .tv_sec = 30 };
	struct shared s = *ps;
	enum mode mode = s.mode;
	struct io_uring_sqe *sqe;
	struct pollfd pfd;
	char arg[16], b;
	int nsub = 1;
	pid_t pid;

	zt_check(!io_uring_queue_init(16, &s.ring, 0), "ring init");
	zt_check(!pipe(s.go) && !pipe2(s.execd, O_CLOEXEC), "pipes");

	zt_fill(bufs[0], LEN, 0);
	zt_member(&s.ring, mode == IN_FLIGHT ? s.stx : s.utx, bufs[0], LEN,
		  GROUP, false, -1, IOSQE_CQE_SKIP_SUCCESS, UD(0));
	if (mode == NOT_ISSUED) {
		sqe = io_uring_get_sqe(&s.ring);
		io_uring_prep_timeout(sqe, &ts, 0, 0);
		sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = UD_TIMEOUT;
		zt_member(&s.ring, s.utx, bufs[1], LEN, GROUP, false, -1,
			  IOSQE_CQE_SKIP_SUCCESS, UD(1));
		nsub = 3;
	}
	zt_check(io_uring_submit(&s.ring) == nsub, "P: submit");
	/* P's member is complete (sent, or queued on the stalled socket) */
	zt_check(io_uring_cq_ready(&s.ring) == 0, "P: unexpected CQE");

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	zt_check(pid >= 0, "fork");
	if (!pid) {
		int ret = child_c(&s);

		/* failed before releasing P's buffer: let P's exec end */
		if (mode == IN_FLIGHT && !s.released)
			zt_read_bytes(s.srx, ZT_FILL_LEN + LEN);
		fflush(stdout);
		fflush(stderr);
		_exit(ret);
	}
	close(s.execd[0]);
	close(s.go[1]);
	pfd.fd = s.go[0];
	pfd.events = POLLIN;
	zt_check(poll(&pfd, 1, ZT_WAIT_MS) == 1 && read(s.go[0], &b, 1) == 1,
		 "P: C did not add its member");
	snprintf(arg, sizeof(arg), "%d", s.ring.ring_fd);
	fflush(stdout);
	fflush(stderr);
	execl("/proc/self/exe", "group-exec", AFTER_EXEC, arg, (char *)NULL);
	zt_check(0, "exec /proc/self/exe: %s", strerror(errno));
}

/*
 * The new image of P: the ring fd is gone; wait for C and pass on its
 * verdict.
 */
static int after_exec(const char *ring_fd)
{
	int status;

	zt_case = "after exec";
	zt_check(fcntl(atoi(ring_fd), F_GETFD) < 0 && errno == EBADF,
		 "the ring fd survived the exec");
	while (waitpid(-1, &status, 0) < 0)
		zt_check(errno == EINTR, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	zt_check(0, "C killed by signal %d%s", WTERMSIG(status),
		 WTERMSIG(status) == SIGALRM ? " (it hung)" : "");
}

/*
 * Run P (and through it C) in a child and pass on the verdict. The sockets
 * are made here, so that this process can release P's buffer if C failed
 * before it did: else P's exec, which waits for that buffer, would never
 * end. Past P_LIMIT_S, P is killed.
 */
static int test_exec(enum mode mode)
{
	long long start = zt_now_ms();
	struct shared s = { .mode = mode, .stx = -1, .srx = -1 };
	bool rescued = false;
	int status;
	pid_t pid;

	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &s.utx, &s.urx), "pair");
	if (mode == IN_FLIGHT)
		zt_check(!zt_stalled_pair(&s.stx, &s.srx), "stalled pair");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	zt_check(pid >= 0, "fork");
	if (!pid)
		_exit(parent_p(&s));
	while (!waitpid(pid, &status, WNOHANG)) {
		long long t = zt_now_ms() - start;

		if (s.srx >= 0 && t > (C_LIMIT_S + 5) * 1000LL) {
			char sink[4096];

			rescued = true;
			while (recv(s.srx, sink, sizeof(sink), MSG_DONTWAIT) > 0)
				;
		}
		if (t > P_LIMIT_S * 1000LL)
			kill(pid, SIGKILL);
		usleep(10 * 1000);
	}
	close(s.utx);
	close(s.urx);
	if (s.srx >= 0) {
		close(s.stx);
		close(s.srx);
	}
	if (rescued)
		fprintf(stderr, "  P's exec had to be unblocked by releasing its buffer\n");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	zt_check(0, "P killed by signal %d%s", WTERMSIG(status),
		 WTERMSIG(status) == SIGKILL ? " (it hung)" : "");
}

int main(int argc, char *argv[])
{
	if (argc == 3 && !strcmp(argv[1], AFTER_EXEC))
		return after_exec(argv[2]);
	zt_require_zcg();
	zt_run_on("exec after P's member was sent", test_exec(SENT));
	zt_run_on("exec with P's member in flight", test_exec(IN_FLIGHT));
	zt_run_on("exec with P's member not issued yet", test_exec(NOT_ISSUED));
	return zt_status();
}
