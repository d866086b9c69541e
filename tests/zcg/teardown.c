/* SPDX-License-Identifier: MIT */
/*
 * Ring teardown with sends in flight (DESIGN.md 2.4): open generations,
 * sealed generations whose buffers are still held by a full TCP
 * connection, combined and plain zero-copy sends waiting for room. Closing
 * the ring, the task exiting without closing it, or the task calling
 * execve() (which cancels all its requests and waits for them) must free
 * everything without a hang; the guest's kmemleak scan after the suite,
 * KASAN and lockdep check that nothing leaked or was used after being freed.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zcg-test.h"

#define LEN	4096

static char buf[16][LEN];

/* Fill a TCP connection so that further sends wait for the receiver. */
static int stuck_pair(int *tx, int *rx)
{
	return zt_full_pair(tx, rx);
}

/* Queue everything that can be in flight; returns after submitting. */
static int load(struct io_uring *ring, int utx, int stx)
{
	struct io_uring_sqe *sqe;
	int i;

	/* open generations in groups 1..8, buffers released */
	for (i = 0; i < 8; i++) {
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_send_zc_group(sqe, utx, buf[i], LEN, 0, 0, i + 1,
					    false);
	}
	/* group 20: sealed generation stuck behind the full connection */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, stx, buf[8], LEN, 0, 0, 20, false);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, stx, buf[9], LEN, 0, 0, 20, true);
	/* group 20 again: a later sealed generation, released, waiting in order */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, utx, buf[10], LEN, 0, 0, 20, true);
	/* group 21: open generation with a stuck member */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc_group(sqe, stx, buf[11], LEN, 0, 0, 21, false);
	/* a combined and a plain send waiting for room */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, stx, buf[12], LEN, 0,
			      IORING_SEND_ZC_COMBINE_CQE);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send_zc(sqe, stx, buf[13], LEN, 0, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	zt_check(io_uring_submit(ring) == 14, "submit");
	return T_EXIT_PASS;
}

static int test_close(bool defer)
{
	struct io_uring ring;
	int utx, urx, stx, srx;

	zt_check(!io_uring_queue_init(64, &ring, defer ?
			IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER : 0),
		 "ring");
	zt_check(!zt_socket_pair(AF_INET, SOCK_DGRAM, &utx, &urx), "pair");
	zt_check(!stuck_pair(&stx, &srx), "stuck pair");
	if (load(&ring, utx, stx))
		return T_EXIT_FAIL;
	usleep(100000);
	/* close the ring first, then let the stuck buffers go */
	return zt_done(&ring, 4, srx, stx, utx, urx);
}

/*
 * In a forked child: a ring with everything of load() in flight, then a
 * moment for it to get going. The child exits with 1 if that fails.
 */
static void child_load(bool defer)
{
	static struct io_uring ring;
	int utx, urx, stx, srx;

	if (io_uring_queue_init(64, &ring, defer ?
			IORING_SETUP_DEFER_TASKRUN |
			IORING_SETUP_SINGLE_ISSUER : 0) ||
	    zt_socket_pair(AF_INET, SOCK_DGRAM, &utx, &urx) ||
	    stuck_pair(&stx, &srx) || load(&ring, utx, stx))
		_exit(1);
	usleep(100000);
}

/* The task exits with the ring and the sockets still open. */
static int test_exit(bool defer)
{
	int status;
	pid_t pid;

	pid = fork();
	zt_check(pid >= 0, "fork");
	if (!pid) {
		child_load(defer);
		_exit(0);
	}
	zt_check(waitpid(pid, &status, 0) == pid, "waitpid");
	zt_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status 0x%x", status);
	return T_EXIT_PASS;
}

/*
 * The task calls execve() with everything in flight. exec cancels the
 * task's requests and waits until they are gone: nothing a group keeps (an
 * open generation, a batch whose buffers are in flight) may make it wait
 * for a flush that will never come, or exec hangs.
 */
static int test_exec(bool defer)
{
	struct timespec start, now;
	int status, ret;
	pid_t pid;

	pid = fork();
	zt_check(pid >= 0, "fork");
	if (!pid) {
		child_load(defer);
		execl("/bin/true", "true", (char *)NULL);
		_exit(2);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ret = waitpid(pid, &status, WNOHANG);
		zt_check(ret >= 0, "waitpid");
		if (ret == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 30) {
			kill(pid, SIGKILL);
			zt_check(0, "execve() did not return within 30 s");
		}
		usleep(10000);
	}
	zt_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status 0x%x (1: set-up failed, 2: exec failed)", status);
	return T_EXIT_PASS;
}

int main(void)
{
	int i;

	zt_require_zcg();
	for (i = 0; i < 3; i++) {
		zt_run("close ring with sends in flight", test_close(false));
		zt_run("close defer_taskrun ring with sends in flight",
		       test_close(true));
		zt_run("task exit with sends in flight", test_exit(false));
		zt_run("task exit, defer_taskrun ring", test_exit(true));
		zt_run("execve with sends in flight", test_exec(false));
		zt_run("execve, defer_taskrun ring", test_exec(true));
	}
	/* give deferred ring teardown time to run before kmemleak scans */
	sleep(2);
	return T_EXIT_PASS;
}
