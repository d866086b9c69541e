/* SPDX-License-Identifier: MIT */
/*
 * A randomized fuzzer of the zero-copy send SQE space, checked against a
 * model of DESIGN.md section 2.
 *
 * Three threads, each with a ring of its own kind (default, DEFER_TASKRUN +
 * SINGLE_ISSUER, SQPOLL) and its own sockets (UDP, TCP, TCP with 4 KiB
 * buffers so that sends wait for room), submit random SEND_ZC and
 * SENDMSG_ZC SQEs: every ioprio flag of upstream and ours and some reserved
 * ones, group ids (0 included), the reserved SQE bytes 60..63, addr3, SQE
 * flags (CQE_SKIP, IO_LINK, ASYNC, FIXED_FILE), registered and plain
 * buffers, bad buffer indexes, bad fds and MSG_DONTWAIT. Now and then a
 * thread closes or resets one of its connections (updating its registered
 * file), or exits its ring with requests in flight and starts a new one.
 *
 * Every CQE is checked as it arrives:
 *  - a request the model says is invalid (bad flags, fields or flag mixes)
 *    posts exactly one CQE: an error, flags 0; it joins no group;
 *  - except that a request linked after one with CQE_SKIP_SUCCESS may post
 *    no CQE at all: when that one fails, io_uring cancels the rest of the
 *    link without CQEs (REQ_F_SKIP_LINK_CQES, as for any opcode); a
 *    flusher's group CQE still comes;
 *  - a main CQE has F_MORE iff a later CQE carries the request's
 *    notification user_data (its user_data, or addr3 with NOTIF_USER_DATA),
 *    and such a notification comes only after a main CQE with F_MORE or
 *    instead of a main CQE that CQE_SKIP_SUCCESS skipped;
 *  - CQE_SKIP_SUCCESS skips only a full-length success;
 *  - a combined request posts exactly one CQE: F_NOTIF and the send's
 *    result, or flags 0 and an error;
 *  - a group member's main CQE has F_MORE iff it flushed; a group CQE
 *    carries the flusher's notification user_data, flags F_NOTIF, the
 *    number of members of its generation (SQE order; members failing at
 *    issue or cancelled with their link count, invalid requests do not),
 *    and the generations of a group post in flush order.
 * Before a ring is closed normally, every open generation is flushed and
 * every CQE the model expects must arrive: nothing is lost.
 *
 *   zc-fuzz.t            ZCG_FUZZ_SECS (default 20) seconds,
 *                        ZCG_FUZZ_SEED (default: from the clock; printed)
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "zcg-test.h"

#define NTHREAD		3
#define NSOCK		4
#define NGROUP		6
/*
 * The largest group id an SQE may carry: ids above NGROUP come with a
 * stray GROUP flag (a group id without it is invalid, but the random
 * ioprio bit may set it), and the kernel takes any non-zero id.
 */
#define MAXGROUP	100
#define MAXREQ		(1 << 17)
#define MAXPENDING	256
#define REGLEN		(64 * 1024)
#define NOTIF_TAG	(1ULL << 62)
#define ZC_VALID	(IORING_RECVSEND_POLL_FIRST | IORING_RECVSEND_FIXED_BUF | \
			 IORING_SEND_ZC_REPORT_USAGE | IORING_SEND_ZC_NOTIF_USER_DATA | \
			 IORING_SEND_ZC_COMBINE_CQE | IORING_SEND_ZC_GROUP | \
			 IORING_SEND_ZC_GROUP_FLUSH)
#define NMSG		256

enum ring_kind { RING_DEFAULT, RING_DEFER, RING_SQPOLL, NR_KINDS };
static const char *kind_names[] = { "default", "defer_taskrun", "sqpoll" };

struct req {
	unsigned char used, invalid, combine, member, flush, skip, report;
	unsigned char nud, stream, main_seen, more, notif_seen, done;
	/*
	 * counted: a CQE of it is still required (in f->pending); quiet: it
	 * follows a CQE_SKIP_SUCCESS request in its link, and a failure of
	 * that one cancels it with no CQE at all (REQ_F_SKIP_LINK_CQES)
	 */
	unsigned char counted, quiet;
	unsigned char group, sock;
	unsigned int len;
	int gen_count;
	int flush_seq;
	unsigned short ioprio, sqe_flags;
	unsigned char op;
};

struct fuzz {
	int t;
	enum ring_kind kind;
	unsigned long long rnd;
	struct io_uring ring;
	bool ring_up;
	int tx[NSOCK], rx[NSOCK], type[NSOCK];
	struct req *reqs;
	unsigned long next_id;
	long pending;
	int open_count[MAXGROUP + 1];
	bool open_report[MAXGROUP + 1];
	int flushes[MAXGROUP + 1], posted[MAXGROUP + 1];
	struct msghdr msgs[NMSG];
	struct iovec iovs[NMSG];
	unsigned msg_next;
	/* the link being built: an SQE with CQE_SKIP_SUCCESS is in it */
	bool in_link, link_skip;
	unsigned long sqes, cqes, ring_exits, resets, failed;
	char *buf;
};

static unsigned long long seed;
static int secs = 20;
static volatile int stop;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long rnd64(struct fuzz *f)
{
	/* xorshift64* */
	f->rnd ^= f->rnd >> 12;
	f->rnd ^= f->rnd << 25;
	f->rnd ^= f->rnd >> 27;
	return f->rnd * 2685821657736338717ULL;
}

static unsigned rnd(struct fuzz *f, unsigned n)
{
	return (unsigned)((rnd64(f) >> 11) % n);
}

static void describe(struct fuzz *f, unsigned long id)
{
	struct req *r = &f->reqs[id];

	fprintf(stderr, "  request %lu: %s on socket %d len %u ioprio 0x%x sqe flags 0x%x%s%s%s%s group %d%s\n",
		id, r->op == IORING_OP_SEND_ZC ? "SEND_ZC" : "SENDMSG_ZC", r->sock,
		r->len, r->ioprio, r->sqe_flags, r->invalid ? " invalid" : "",
		r->combine ? " combine" : "", r->member ? " member" : "",
		r->flush ? " flush" : "", r->group, r->skip ? " skip" : "");
	fprintf(stderr, "  model: main_seen %d more %d notif_seen %d done %d gen_count %d flush_seq %d\n",
		r->main_seen, r->more, r->notif_seen, r->done, r->gen_count,
		r->flush_seq);
}

/* A model violation: print why, with the seed that reproduces the run. */
static int violation(struct fuzz *f, unsigned long id, struct io_uring_cqe *cqe,
		     const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	fprintf(stderr, "zc-fuzz: seed %llu thread %d (%s ring): ", seed, f->t,
		kind_names[f->kind]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (cqe)
		fprintf(stderr, "  CQE user_data 0x%llx res %d flags 0x%x\n",
			(unsigned long long)cqe->user_data, cqe->res, cqe->flags);
	if (id && id < MAXREQ && f->reqs[id].used)
		describe(f, id);
	pthread_mutex_unlock(&out_lock);
	f->failed++;
	stop = 1;
	return -1;
}

static void finish(struct fuzz *f, struct req *r)
{
	r->done = 1;
	if (r->counted)
		f->pending--;
	r->counted = 0;
}

/* From now on a CQE of r is required. */
static void require(struct fuzz *f, struct req *r)
{
	if (!r->counted) {
		r->counted = 1;
		f->pending++;
	}
}

/* The result a send may have: all of it, a part over TCP, or an error. */
static bool res_ok(const struct req *r, int res)
{
	return res < 0 || (unsigned)res == r->len ||
	       (r->stream && res > 0 && (unsigned)res < r->len);
}

static int on_cqe(struct fuzz *f, struct io_uring_cqe *cqe)
{
	unsigned long id = cqe->user_data & ~NOTIF_TAG;
	bool tag = cqe->user_data & NOTIF_TAG;
	bool notif = cqe->flags & IORING_CQE_F_NOTIF;
	bool more = cqe->flags & IORING_CQE_F_MORE;
	struct req *r;
	int count;

	f->cqes++;
	if (!id || id >= MAXREQ || !f->reqs[id].used)
		return violation(f, 0, cqe, "CQE of no request");
	r = &f->reqs[id];
	if (r->done)
		return violation(f, id, cqe, "CQE of a finished request");

	if (r->invalid) {
		if (tag || notif || more || cqe->flags || cqe->res >= 0)
			return violation(f, id, cqe, "an invalid request must post one error CQE, flags 0");
		finish(f, r);
		return 0;
	}
	if (r->combine) {
		if (tag || more)
			return violation(f, id, cqe, "combined CQE with F_MORE or a notification tag");
		if (notif ? cqe->flags != IORING_CQE_F_NOTIF || !res_ok(r, cqe->res)
			  : cqe->flags || cqe->res >= 0)
			return violation(f, id, cqe, "combined CQE: F_NOTIF and the result, or flags 0 and an error");
		finish(f, r);
		return 0;
	}
	if (tag && !r->nud)
		return violation(f, id, cqe, "addr3 user_data without NOTIF_USER_DATA");

	if (!notif) {
		/* the main CQE */
		if (tag)
			return violation(f, id, cqe, "a main CQE with the notification's user_data");
		if (r->main_seen || r->notif_seen)
			return violation(f, id, cqe, "a main CQE after the main or notification CQE");
		if (cqe->flags & ~IORING_CQE_F_MORE)
			return violation(f, id, cqe, "main CQE flags");
		if (!res_ok(r, cqe->res))
			return violation(f, id, cqe, "main CQE res");
		if (r->skip && cqe->res >= 0 && (unsigned)cqe->res == r->len)
			return violation(f, id, cqe, "CQE_SKIP_SUCCESS posted a full success");
		r->main_seen = 1;
		r->more = more;
		if (r->member) {
			if (more != r->flush)
				return violation(f, id, cqe, "member F_MORE %d, flush %d", more, r->flush);
			/* the flusher stays pending for its group CQE */
			if (!r->flush)
				finish(f, r);
			return 0;
		}
		if (more)
			require(f, r);	/* its notification */
		else
			finish(f, r);
		return 0;
	}

	/* a notification, or a group's CQE */
	if (r->nud != tag)
		return violation(f, id, cqe, "notification user_data: want %s",
				 r->nud ? "addr3" : "the request's");
	if (cqe->flags != IORING_CQE_F_NOTIF)
		return violation(f, id, cqe, "notification flags");
	if (r->main_seen ? !r->more : !(r->skip || r->quiet))
		return violation(f, id, cqe, "a notification without a main CQE with F_MORE before it");
	if (r->member) {
		if (!r->flush)
			return violation(f, id, cqe, "a group CQE for a member that did not flush");
		count = cqe->res & ~IORING_NOTIF_USAGE_ZC_COPIED;
		if (count != r->gen_count)
			return violation(f, id, cqe, "group %d CQE counts %d members, want %d",
					 r->group, count, r->gen_count);
		if ((cqe->res & IORING_NOTIF_USAGE_ZC_COPIED) && !r->report)
			return violation(f, id, cqe, "ZC_COPIED without REPORT_USAGE in the generation");
		if (r->flush_seq != f->posted[r->group])
			return violation(f, id, cqe, "group %d posted generation %d, want %d",
					 r->group, r->flush_seq, f->posted[r->group]);
		f->posted[r->group]++;
	} else if (cqe->res && (cqe->res != (int)IORING_NOTIF_USAGE_ZC_COPIED || !r->report)) {
		return violation(f, id, cqe, "notification res");
	}
	r->notif_seen = 1;
	finish(f, r);
	return 0;
}

static int reap(struct fuzz *f, int wait_ms)
{
	struct __kernel_timespec ts = { .tv_nsec = wait_ms * 1000000LL };
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	int i, ret;

	for (i = 0; i < NSOCK; i++)
		while (recv(f->rx[i], f->buf + REGLEN, REGLEN, MSG_DONTWAIT) > 0)
			;
	if (wait_ms) {
		ret = io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts);
		if (ret && ret != -ETIME && ret != -EINTR)
			return violation(f, 0, NULL, "wait: %s", strerror(-ret));
	} else {
		io_uring_get_events(&f->ring);
	}
	io_uring_for_each_cqe(&f->ring, head, cqe) {
		n++;
		if (on_cqe(f, cqe)) {
			io_uring_cq_advance(&f->ring, n);
			return -1;
		}
	}
	io_uring_cq_advance(&f->ring, n);
	return 0;
}

static int open_socket(struct fuzz *f, int i)
{
	int small = 4096, ret;

	f->type[i] = i & 1 ? SOCK_DGRAM : SOCK_STREAM;
	ret = zt_socket_pair(i & 2 ? AF_INET6 : AF_INET, f->type[i], &f->tx[i],
			     &f->rx[i]);
	if (ret)
		return violation(f, 0, NULL, "socket pair: %s", strerror(-ret));
	if (i == 0) {
		/*
		 * Sends wait for room in a small send buffer, freed as the
		 * peer acknowledges. Not a small receive buffer: a receive
		 * window closed again and again leaves the sender to TCP's
		 * persist timer, whose backoff can hold data for many seconds.
		 */
		setsockopt(f->tx[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	}
	small = 1 << 20;
	setsockopt(f->rx[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	return 0;
}

static int ring_up(struct fuzz *f)
{
	struct io_uring_params p = { 0 };
	struct iovec iov = { .iov_base = f->buf, .iov_len = REGLEN };
	int ret;

	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
	p.cq_entries = 4096;
	if (f->kind == RING_DEFER)
		p.flags |= IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
	else if (f->kind == RING_SQPOLL)
		p.flags |= IORING_SETUP_SQPOLL, p.sq_thread_idle = 50;
	ret = io_uring_queue_init_params(64, &f->ring, &p);
	if (ret)
		return violation(f, 0, NULL, "%s ring: %s", kind_names[f->kind],
				 strerror(-ret));
	ret = io_uring_register_buffers(&f->ring, &iov, 1);
	if (!ret)
		ret = io_uring_register_files(&f->ring, f->tx, NSOCK);
	if (ret)
		return violation(f, 0, NULL, "register: %s", strerror(-ret));
	f->ring_up = true;
	memset(f->reqs, 0, MAXREQ * sizeof(*f->reqs));
	f->next_id = 1;
	f->pending = 0;
	memset(f->open_count, 0, sizeof(f->open_count));
	memset(f->open_report, 0, sizeof(f->open_report));
	memset(f->flushes, 0, sizeof(f->flushes));
	memset(f->posted, 0, sizeof(f->posted));
	f->in_link = f->link_skip = false;
	return 0;
}

/*
 * Close (sometimes with a reset) and reopen connection i, updating the
 * registered file, while sends on it may be in flight.
 *
 * The new sockets take over the old descriptor numbers with dup2(), which
 * closes the old sockets: a request that is yet to look up its plain fd
 * (an SQE the SQPOLL thread has not taken yet, an IOSQE_ASYNC one in
 * io-wq) finds connection i, old or new. Closing first would free the
 * numbers for the sockets zt_socket_pair() makes, its listener included,
 * and a POLL_FIRST send on a listening socket waits for POLLOUT forever.
 */
static int reopen_socket(struct fuzz *f, int i)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int old_tx = f->tx[i], old_rx = f->rx[i], ret;

	if (rnd(f, 2))
		setsockopt(old_rx, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (open_socket(f, i))
		return -1;
	if (dup2(f->rx[i], old_rx) < 0 || dup2(f->tx[i], old_tx) < 0)
		return violation(f, 0, NULL, "dup2: %s", strerror(errno));
	close(f->rx[i]);
	close(f->tx[i]);
	f->rx[i] = old_rx;
	f->tx[i] = old_tx;
	ret = io_uring_register_files_update(&f->ring, i, &f->tx[i], 1);
	if (ret != 1)
		return violation(f, 0, NULL, "files update: %d", ret);
	f->resets++;
	return 0;
}

/*
 * An SQE. Only an SQPOLL ring's SQ can be full (its thread takes SQEs when
 * it gets to them): then hand it what is there and wait for room.
 */
static struct io_uring_sqe *get_sqe(struct fuzz *f)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&f->ring))) {
		io_uring_submit(&f->ring);
		io_uring_sqring_wait(&f->ring);
	}
	return sqe;
}

/* Fill one SQE at random and enter the request in the model. */
static void queue_one(struct fuzz *f, bool last)
{
	struct io_uring_sqe *sqe = get_sqe(f);
	unsigned long id = f->next_id++;
	struct req *r = &f->reqs[id];
	unsigned ioprio = 0, group = 0, pad = 0, buf_index = 0, off, len;
	unsigned long long addr3 = 0;
	int s = rnd(f, NSOCK), fd = f->tx[s], msg_flags = 0;
	bool sendmsg = !rnd(f, 4), fixed_file = !rnd(f, 5);

	memset(r, 0, sizeof(*r));
	r->used = 1;
	r->sock = s;
	r->stream = f->type[s] == SOCK_STREAM;
	len = 1 + rnd(f, 1400);
	off = rnd(f, REGLEN - len);

	if (!rnd(f, 8))
		ioprio |= IORING_RECVSEND_POLL_FIRST;
	if (sendmsg ? !rnd(f, 30) : !rnd(f, 3))
		ioprio |= IORING_RECVSEND_FIXED_BUF;
	if (!rnd(f, 6))
		ioprio |= IORING_SEND_ZC_REPORT_USAGE;
	if (!rnd(f, 6))
		ioprio |= IORING_SEND_ZC_NOTIF_USER_DATA;
	if (!rnd(f, 8))
		ioprio |= IORING_SEND_ZC_COMBINE_CQE;
	if (rnd(f, 5) < 2) {
		ioprio |= IORING_SEND_ZC_GROUP;
		group = 1 + rnd(f, NGROUP);
		if (!rnd(f, 4))
			ioprio |= IORING_SEND_ZC_GROUP_FLUSH;
		if (!rnd(f, 60))
			group = 0;
	} else {
		if (!rnd(f, 60))
			ioprio |= IORING_SEND_ZC_GROUP_FLUSH;
		if (!rnd(f, 60))
			group = 1 + rnd(f, MAXGROUP);
	}
	if (!rnd(f, 60))
		ioprio |= 1U << (1 + rnd(f, 15));	/* maybe one we do not know */
	if (!rnd(f, 60))
		pad = 1 + rnd(f, 1000);
	if (ioprio & IORING_SEND_ZC_NOTIF_USER_DATA)
		addr3 = id | NOTIF_TAG;
	else if (!rnd(f, 60))
		addr3 = 1 + rnd(f, 1000);
	if ((ioprio & IORING_RECVSEND_FIXED_BUF) && !rnd(f, 30))
		buf_index = 1 + rnd(f, 3);
	if (!rnd(f, 10))
		msg_flags = MSG_DONTWAIT;

	if (fixed_file)
		fd = rnd(f, 40) ? s : NSOCK + 3;	/* sometimes an empty slot */
	else if (!rnd(f, 50))
		fd = 1000;
	if (sendmsg) {
		struct msghdr *m = &f->msgs[f->msg_next % NMSG];
		struct iovec *v = &f->iovs[f->msg_next++ % NMSG];

		v->iov_base = f->buf + off;
		v->iov_len = len;
		memset(m, 0, sizeof(*m));
		m->msg_iov = v;
		m->msg_iovlen = 1;
		io_uring_prep_sendmsg_zc(sqe, fd, m, msg_flags);
	} else {
		io_uring_prep_send_zc(sqe, fd, f->buf + off, len, msg_flags, 0);
	}
	sqe->ioprio = ioprio;
	sqe->buf_index = buf_index;
	sqe->addr3 = addr3;
	sqe->zc_group = group;
	sqe->__zc_group_pad = pad;
	sqe->user_data = id;
	if (fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	if (!rnd(f, 3))
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	if (!rnd(f, 8))
		sqe->flags |= IOSQE_ASYNC;
	if (!last && !rnd(f, 10))
		sqe->flags |= IOSQE_IO_LINK;

	r->quiet = f->in_link && f->link_skip;
	if (sqe->flags & IOSQE_IO_LINK) {
		f->link_skip |= !!(sqe->flags & IOSQE_CQE_SKIP_SUCCESS);
		f->in_link = true;
	} else {
		f->in_link = f->link_skip = false;
	}
	r->op = sqe->opcode;
	r->ioprio = ioprio;
	r->sqe_flags = sqe->flags;
	r->len = len;
	r->skip = !!(sqe->flags & IOSQE_CQE_SKIP_SUCCESS);
	r->nud = !!(ioprio & IORING_SEND_ZC_NOTIF_USER_DATA);
	r->report = !!(ioprio & IORING_SEND_ZC_REPORT_USAGE);
	r->combine = !!(ioprio & IORING_SEND_ZC_COMBINE_CQE);
	r->group = group;
	/* DESIGN.md 2.0-2.4: what prep rejects */
	r->invalid = (ioprio & ~ZC_VALID) || pad ||
		((ioprio & IORING_SEND_ZC_GROUP_FLUSH) && !(ioprio & IORING_SEND_ZC_GROUP)) ||
		((ioprio & IORING_SEND_ZC_GROUP) && !group) ||
		(!(ioprio & IORING_SEND_ZC_GROUP) && group) ||
		(!r->nud && addr3) ||
		(r->combine && (r->report || r->nud || r->skip ||
				(ioprio & (IORING_SEND_ZC_GROUP | IORING_SEND_ZC_GROUP_FLUSH)))) ||
		((ioprio & IORING_RECVSEND_FIXED_BUF) && (sendmsg || buf_index));
	/* a CQE is required, unless it may be cancelled without one */
	if (!r->quiet)
		require(f, r);
	if (r->invalid || r->combine)
		return;
	if (ioprio & IORING_SEND_ZC_GROUP) {
		/* a member from prep on, whatever happens at issue */
		r->member = 1;
		r->flush = !!(ioprio & IORING_SEND_ZC_GROUP_FLUSH);
		f->open_count[group]++;
		f->open_report[group] |= r->report;
		if (r->flush) {
			r->gen_count = f->open_count[group];
			r->report = f->open_report[group];
			r->flush_seq = f->flushes[group]++;
			f->open_count[group] = 0;
			f->open_report[group] = false;
			/* its generation's CQE comes whatever becomes of it */
			require(f, r);
		} else if (r->skip && r->counted) {
			/* nothing is required of a skipping, non-flushing member */
			r->counted = 0;
			f->pending--;
		}
	}
}

/* Flush every open generation, then wait for every CQE the model expects. */
static int drain(struct fuzz *f)
{
	long long end;
	int g, n = 0;

	for (g = 1; g <= MAXGROUP; g++) {
		struct io_uring_sqe *sqe;
		unsigned long id;
		struct req *r;

		if (!f->open_count[g])
			continue;
		sqe = get_sqe(f);
		id = f->next_id++;
		r = &f->reqs[id];
		memset(r, 0, sizeof(*r));
		r->used = r->member = r->flush = 1;
		r->group = g;
		r->len = 64;
		r->op = IORING_OP_SEND_ZC;
		r->ioprio = IORING_SEND_ZC_GROUP | IORING_SEND_ZC_GROUP_FLUSH;
		r->gen_count = f->open_count[g] + 1;
		r->report = f->open_report[g];
		r->flush_seq = f->flushes[g]++;
		f->open_count[g] = 0;
		io_uring_prep_send_zc_group(sqe, f->tx[1], f->buf, 64, 0, 0, g, true);
		sqe->user_data = id;
		require(f, r);
		n++;
	}
	if (n && io_uring_submit(&f->ring) < 0)
		return violation(f, 0, NULL, "submit of the final flushes");
	end = zt_now_ms() + 20000;
	while (f->pending > 0 && zt_now_ms() < end)
		if (reap(f, 10))
			return -1;
	if (f->pending > 0) {
		unsigned long id;
		int shown = 0;

		violation(f, 0, NULL, "%ld CQEs the model expects never came (lost)",
			  f->pending);
		for (id = 1; id < f->next_id && shown < 5; id++) {
			struct req *r = &f->reqs[id];

			if (r->used && !r->done && r->counted) {
				describe(f, id);
				shown++;
			}
		}
		return -1;
	}
	return 0;
}

static void *thread_fn(void *arg)
{
	struct fuzz *f = arg;
	long long end = zt_now_ms() + secs * 1000LL;
	int i, n, ret;

	for (i = 0; i < NSOCK; i++)
		if (open_socket(f, i))
			return NULL;
	if (ring_up(f))
		return NULL;
	while (!stop && zt_now_ms() < end) {
		if (f->pending < MAXPENDING && f->next_id < MAXREQ - 64) {
			n = 1 + rnd(f, 8);
			for (i = 0; i < n; i++)
				queue_one(f, i == n - 1);
			ret = io_uring_submit(&f->ring);
			/*
			 * SQPOLL: submit counts what its thread has not taken
			 * yet, and get_sqe() may have submitted part already
			 */
			if (f->kind == RING_SQPOLL ? ret < 0 : ret != n) {
				violation(f, 0, NULL, "submit %d of %d", ret, n);
				break;
			}
			f->sqes += n;
		}
		if (reap(f, f->pending >= MAXPENDING ? 10 : 0))
			break;
		if (!rnd(f, 400) && reopen_socket(f, rnd(f, NSOCK)))
			break;
		if (f->next_id >= MAXREQ - 64 || !rnd(f, 300)) {
			if (f->next_id >= MAXREQ - 64 || rnd(f, 2)) {
				/* a normal end: nothing may be lost */
				if (drain(f))
					break;
			} else {
				f->ring_exits++;	/* exit with requests in flight */
			}
			io_uring_queue_exit(&f->ring);
			f->ring_up = false;
			if (ring_up(f))
				break;
		}
	}
	/* time is up: a normal end, where nothing may be lost */
	if (f->ring_up && !stop)
		drain(f);
	if (f->ring_up)
		io_uring_queue_exit(&f->ring);
	for (i = 0; i < NSOCK; i++) {
		close(f->tx[i]);
		close(f->rx[i]);
	}
	return NULL;
}

int main(void)
{
	const char *env = getenv("ZCG_FUZZ_SECS");
	struct fuzz *fz;
	pthread_t th[NTHREAD];
	unsigned long sqes = 0, cqes = 0, exits = 0, resets = 0, failed = 0;
	int t;

	zt_require_zcg();
	if (env)
		secs = atoi(env);
	env = getenv("ZCG_FUZZ_SEED");
	seed = env ? strtoull(env, NULL, 0) :
		(unsigned long long)time(NULL) * 2654435761ULL;
	if (!seed)
		seed = 1;
	printf("zc-fuzz: seed %llu, %d s, %d threads (ZCG_FUZZ_SEED=%llu reproduces the SQEs of each thread)\n",
	       seed, secs, NTHREAD, seed);
	fflush(stdout);
	if (geteuid() != 0)
		printf("zc-fuzz: not root, so no SQPOLL ring: its thread uses a default ring\n");

	fz = calloc(NTHREAD, sizeof(*fz));
	if (!fz)
		return T_EXIT_FAIL;
	for (t = 0; t < NTHREAD; t++) {
		struct fuzz *f = &fz[t];

		f->t = t;
		f->kind = (enum ring_kind)((seed + t) % NR_KINDS);
		if (f->kind == RING_SQPOLL && geteuid() != 0)
			f->kind = RING_DEFAULT;
		f->rnd = seed * (t + 1) + 0x9e3779b97f4a7c15ULL;
		f->reqs = calloc(MAXREQ, sizeof(*f->reqs));
		f->buf = aligned_alloc(4096, 2 * REGLEN);
		if (!f->reqs || !f->buf)
			return T_EXIT_FAIL;
		memset(f->buf, 0x5a, 2 * REGLEN);
		if (pthread_create(&th[t], NULL, thread_fn, f))
			return T_EXIT_FAIL;
	}
	for (t = 0; t < NTHREAD; t++) {
		pthread_join(th[t], NULL);
		sqes += fz[t].sqes;
		cqes += fz[t].cqes;
		exits += fz[t].ring_exits;
		resets += fz[t].resets;
		failed += fz[t].failed;
		printf("zc-fuzz: thread %d (%s ring): %lu SQEs, %lu CQEs\n", t,
		       kind_names[fz[t].kind], fz[t].sqes, fz[t].cqes);
	}
	printf("zc-fuzz: %lu SQEs, %lu CQEs, %lu ring exits in flight, %lu connections reopened\n",
	       sqes, cqes, exits, resets);
	if (failed) {
		printf("zc-fuzz: FAILED, seed %llu\n", seed);
		return T_EXIT_FAIL;
	}
	if (!sqes) {
		printf("zc-fuzz: no SQE was submitted\n");
		return T_EXIT_FAIL;
	}
	printf("ok zc-fuzz: every CQE as the model says, nothing lost\n");
	return T_EXIT_PASS;
}
