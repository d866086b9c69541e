/* SPDX-License-Identifier: MIT */
/*
 * Example: a batched zero-copy sender using notification groups.
 *
 * The sender owns NBUF buffers, registered with the ring. Each batch fills
 * every buffer, queues NBUF-1 grouped sends and one grouped, flushing send,
 * all with IOSQE_CQE_SKIP_SUCCESS, and submits them. On success the whole
 * batch posts a single CQE: the group CQE, whose res counts the sends. Only
 * then are the buffers written again for the next batch. A failed send
 * posts its own CQE (with the error), so nothing is lost.
 *
 * It runs as a test too: a receiver process checks that every byte of every
 * batch arrives intact (a buffer rewritten too early would show up as
 * corrupt data on a real NIC; over loopback the data is copied, so this
 * checks the CQE protocol, not the NIC), and the sender checks that each
 * batch cost exactly one CQE.
 *
 *   batch-sender.t [batches]      (default 200)
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zcg-test.h"

#define NBUF	16
#define BUFSZ	8192
#define GROUP	1

static char bufs[NBUF][BUFSZ] __attribute__((aligned(4096)));

static void fill(unsigned batch)
{
	int i;

	for (i = 0; i < NBUF; i++)
		zt_fill(bufs[i], BUFSZ, batch * NBUF + i);
}

/* The receiver: read every batch and compare with what was sent. */
static int receiver(int fd, unsigned batches)
{
	static char want[BUFSZ], got[BUFSZ];
	unsigned b;
	int i;

	for (b = 0; b < batches; b++) {
		for (i = 0; i < NBUF; i++) {
			if (zt_recv_all(fd, got, BUFSZ, SOCK_STREAM) != BUFSZ) {
				fprintf(stderr, "receiver: batch %u short\n", b);
				return T_EXIT_FAIL;
			}
			zt_fill(want, BUFSZ, b * NBUF + i);
			if (memcmp(got, want, BUFSZ)) {
				fprintf(stderr, "receiver: batch %u buffer %d corrupt\n",
					b, i);
				return T_EXIT_FAIL;
			}
		}
	}
	return T_EXIT_PASS;
}

static int sender(int fd, unsigned batches)
{
	struct iovec reg = { .iov_base = bufs, .iov_len = sizeof(bufs) };
	struct io_uring_cqe *cqe;
	struct zt_cqe extra[4];
	struct io_uring ring;
	unsigned b, cqes = 0;
	int i, ret;

	ret = io_uring_queue_init(64, &ring, IORING_SETUP_SINGLE_ISSUER |
				  IORING_SETUP_DEFER_TASKRUN);
	zt_check(!ret, "io_uring_queue_init: %d", ret);
	zt_check(io_uring_check_zc_notif_groups(&ring),
		 "no IORING_FEAT_ZC_NOTIF_GROUPS");
	zt_check(!io_uring_register_buffers(&ring, &reg, 1), "register");

	for (b = 0; b < batches; b++) {
		/* the previous batch's group CQE said the buffers are free */
		fill(b);
		for (i = 0; i < NBUF; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_send_zc_group_fixed(sqe, fd, bufs[i], BUFSZ,
							  0, 0, 0, GROUP,
							  i == NBUF - 1);
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
			sqe->user_data = b;
		}
		zt_check(io_uring_submit(&ring) == NBUF, "submit");

		/* wait for the batch: one group CQE, or errors first */
		for (;;) {
			ret = io_uring_wait_cqe(&ring, &cqe);
			zt_check(!ret, "wait: %d", ret);
			cqes++;
			if (cqe->flags & IORING_CQE_F_NOTIF)
				break;
			/* a main CQE: only failures or short sends get here */
			zt_check(0, "batch %u: send failed or short: res %d",
				 b, cqe->res);
		}
		zt_check(cqe->user_data == b, "group CQE for batch %llu, want %u",
			 (unsigned long long)cqe->user_data, b);
		zt_check(io_uring_cqe_zc_group_count(cqe) == NBUF,
			 "group CQE counts %u sends", io_uring_cqe_zc_group_count(cqe));
		io_uring_cqe_seen(&ring, cqe);
	}
	/* each batch cost its one CQE: nothing else may come after them */
	ret = zt_drain(&ring, extra, 4, ZT_QUIET_MS);
	if (ret)
		zt_print_cqes(extra, ret);
	zt_check(ret == 0, "%d CQEs after the last batch's group CQE", ret);
	printf("%u batches of %d sends: %u CQEs (%.4f per send)\n", batches,
	       NBUF, cqes, (double)cqes / (batches * NBUF));
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}

int main(int argc, char *argv[])
{
	unsigned batches = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
	int tx, rx, status, ret;
	pid_t pid;

	zt_require_zcg();
	if (zt_socket_pair(AF_INET, SOCK_STREAM, &tx, &rx))
		return T_EXIT_FAIL;
	pid = fork();
	if (pid < 0)
		return T_EXIT_FAIL;
	if (!pid) {
		close(tx);
		_exit(receiver(rx, batches));
	}
	close(rx);
	zt_case = "batched sender";
	ret = sender(tx, batches);
	close(tx);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "receiver failed (status 0x%x)\n", status);
		return T_EXIT_FAIL;
	}
	return ret;
}
