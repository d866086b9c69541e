/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zcg-test.h"

const char *zt_case;
int zt_failed, zt_skipped;

int zt_status(void)
{
	if (zt_failed) {
		printf("%d case(s) failed\n", zt_failed);
		return T_EXIT_FAIL;
	}
	return zt_skipped ? T_EXIT_SKIP : T_EXIT_PASS;
}

void zt_skip_exit(const char *fmt, ...)
{
	va_list ap;

	printf("skip: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(T_EXIT_SKIP);
}

int zt_reset_socket(int *tx)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd pfd;
	int rx, ret;

	ret = zt_socket_pair(AF_INET, SOCK_STREAM, tx, &rx);
	if (ret)
		return ret;
	if (setsockopt(rx, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		ret = -errno;
	close(rx);
	pfd.fd = *tx;
	pfd.events = POLLIN;
	if (!ret && poll(&pfd, 1, ZT_WAIT_MS) != 1)
		ret = -ETIMEDOUT;
	if (ret) {
		fprintf(stderr, "no reset connection: %s\n", strerror(-ret));
		close(*tx);
	}
	return ret;
}

int zt_full_pair(int *tx, int *rx)
{
	static char fill[1 << 16];
	int small = 4096, fl, ret;

	ret = zt_socket_pair(AF_INET, SOCK_STREAM, tx, rx);
	if (ret)
		return ret;
	setsockopt(*tx, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	fl = fcntl(*tx, F_GETFL);
	fcntl(*tx, F_SETFL, fl | O_NONBLOCK);
	while (send(*tx, fill, sizeof(fill), 0) > 0)
		;
	ret = errno == EAGAIN ? 0 : -errno;
	fcntl(*tx, F_SETFL, fl);
	if (ret) {
		fprintf(stderr, "could not fill the socket: %s\n",
			strerror(-ret));
		close(*tx);
		close(*rx);
	}
	return ret;
}

int zt_ring_init(struct io_uring *ring, unsigned entries, bool defer,
		 void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	unsigned flags = defer ? IORING_SETUP_DEFER_TASKRUN |
				 IORING_SETUP_SINGLE_ISSUER : 0;
	int ret;

	ret = io_uring_queue_init(entries, ring, flags);
	if (ret)
		return ret;
	ret = io_uring_register_buffers(ring, &iov, 1);
	if (ret)
		io_uring_queue_exit(ring);
	return ret;
}

int zt_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

int zt_done(struct io_uring *ring, int n, ...)
{
	va_list ap;

	io_uring_queue_exit(ring);
	va_start(ap, n);
	while (n--)
		close(va_arg(ap, int));
	va_end(ap);
	return T_EXIT_PASS;
}

static socklen_t zt_loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
}

int zt_socket_pair(int family, int type, int *tx, int *rx)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(family, &ss);
	int srv, c, one = 1;

	srv = socket(family, type | SOCK_CLOEXEC, 0);
	if (srv < 0)
		return -errno;
	if (bind(srv, (struct sockaddr *)&ss, len) ||
	    getsockname(srv, (struct sockaddr *)&ss, &len))
		goto err;
	c = socket(family, type | SOCK_CLOEXEC, 0);
	if (c < 0)
		goto err;
	if (type == SOCK_STREAM) {
		if (listen(srv, 8) || connect(c, (struct sockaddr *)&ss, len)) {
			close(c);
			goto err;
		}
		*rx = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
		close(srv);
		if (*rx < 0) {
			close(c);
			return -errno;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	} else {
		if (connect(c, (struct sockaddr *)&ss, len)) {
			close(c);
			goto err;
		}
		*rx = srv;
	}
	*tx = c;
	return 0;
err:
	c = -errno;
	close(srv);
	return c;
}

static void zt_addr4(struct sockaddr_in *a, const char *ip, unsigned short port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
}

/* A socket bound to device dev (so that it can leave through nothing else). */
static int zt_dev_socket(int type, const char *dev)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* connect() that gives up after ZT_WAIT_MS (ARP on the wire, a lost SYN). */
static int zt_connect_wait(int fd, const struct sockaddr_in *to)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t len = sizeof(err);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to))) {
		if (errno != EINPROGRESS)
			return -errno;
		if (poll(&pfd, 1, ZT_WAIT_MS) != 1)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			return -errno;
		if (err)
			return -err;
	}
	fcntl(fd, F_SETFL, fl);
	return 0;
}

int zt_wire_pair(int type, int *tx, int *rx)
{
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);
	int peer, self, srv = -1, c = -1, ret, one = 1;

	peer = open(ZT_WIRE_NETNS, O_RDONLY | O_CLOEXEC);
	if (peer < 0)
		zt_skip_exit("no wire: %s is missing (the guest's zcg-wire found no "
			     "NICs; boot.sh ZCG_GUEST_WIRE)", ZT_WIRE_NETNS);
	if (if_nametoindex(ZT_WIRE_TX_DEV) == 0)
		zt_skip_exit("no wire: no device %s in the root namespace",
			     ZT_WIRE_TX_DEV);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		close(peer);
		return -errno;
	}
	/* the receiver's socket is made inside zcgpeer and stays there */
	if (setns(peer, CLONE_NEWNET)) {
		ret = -errno;
		goto out;
	}
	srv = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	ret = srv < 0 ? -errno : 0;
	if (!ret) {
		zt_addr4(&addr, ZT_WIRE_RX_ADDR, 0);
		setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(srv, (struct sockaddr *)&addr, sizeof(addr)) ||
		    getsockname(srv, (struct sockaddr *)&addr, &alen) ||
		    (type == SOCK_STREAM && listen(srv, 8)))
			ret = -errno;
	}
	if (setns(self, CLONE_NEWNET)) {
		fprintf(stderr, "cannot return to the root network namespace\n");
		exit(T_EXIT_FAIL);
	}
	if (ret)
		goto out;

	c = zt_dev_socket(type, ZT_WIRE_TX_DEV);
	if (c < 0) {
		ret = c;
		goto out;
	}
	ret = zt_connect_wait(c, &addr);
	if (ret)
		goto out;
	if (type == SOCK_STREAM) {
		struct pollfd pfd = { .fd = srv, .events = POLLIN };

		if (poll(&pfd, 1, ZT_WAIT_MS) != 1) {
			ret = -ETIMEDOUT;
			goto out;
		}
		*rx = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
		if (*rx < 0) {
			ret = -errno;
			goto out;
		}
		close(srv);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	} else {
		*rx = srv;
	}
	srv = -1;
	*tx = c;
	c = -1;
out:
	if (srv >= 0)
		close(srv);
	if (c >= 0)
		close(c);
	close(self);
	close(peer);
	return ret;
}

int zt_dummy_udp(int *tx)
{
	struct sockaddr_in addr;
	int fd, ret;

	if (if_nametoindex(ZT_DUMMY_DEV) == 0)
		zt_skip_exit("no dummy device %s (the guest's zcg-wire sets it up; "
			     "CONFIG_DUMMY)", ZT_DUMMY_DEV);
	fd = zt_dev_socket(SOCK_DGRAM, ZT_DUMMY_DEV);
	if (fd < 0)
		return fd;
	zt_addr4(&addr, ZT_DUMMY_DST, 9);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		close(fd);
		if (ret == -ENETUNREACH)
			zt_skip_exit("no route to %s on %s", ZT_DUMMY_DST,
				     ZT_DUMMY_DEV);
		return ret;
	}
	*tx = fd;
	return 0;
}

int zt_recv_all(int fd, void *buf, size_t len, int type)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, ZT_WAIT_MS) != 1)
			return -ETIMEDOUT;
		r = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		got += r;
		if (type == SOCK_DGRAM)
			break;
	}
	return (int)got;
}

void zt_fill(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
}

int zt_wait(struct io_uring *ring, struct zt_cqe *out, int ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	out->user_data = cqe->user_data;
	out->res = cqe->res;
	out->flags = cqe->flags;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

int zt_drain(struct io_uring *ring, struct zt_cqe *out, int max, int ms)
{
	int n = 0;

	while (n < max && !zt_wait(ring, &out[n], ms))
		n++;
	return n;
}

int zt_collect(struct io_uring *ring, struct zt_cqe *out, int max, int want)
{
	int n = 0;

	while (n < want && n < max && !zt_wait(ring, &out[n], ZT_WAIT_MS))
		n++;
	if (n < want)
		return n;
	return n + zt_drain(ring, out + n, max - n, ZT_QUIET_MS);
}

void zt_print_cqes(const struct zt_cqe *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "  cqe %d: user_data=0x%llx res=%d flags=0x%x\n",
			i, (unsigned long long)c[i].user_data, c[i].res,
			c[i].flags);
}

void zt_require_zc_cqe_skip(void)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct zt_cqe c[4];
	char buf[16] = "probe";
	int tx, rx, ret, n;

	ret = io_uring_queue_init(8, &ring, 0);
	if (ret)
		zt_skip_exit("io_uring_queue_init: %s", strerror(-ret));
	ret = zt_socket_pair(AF_INET, SOCK_DGRAM, &tx, &rx);
	if (ret) {
		fprintf(stderr, "socket pair: %s\n", strerror(-ret));
		exit(T_EXIT_FAIL);
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send_zc(sqe, tx, buf, sizeof(buf), 0, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = 1;
	io_uring_submit(&ring);
	n = zt_drain(&ring, c, 4, 1000);
	io_uring_queue_exit(&ring);
	close(tx);
	close(rx);
	if (n >= 1 && !(c[0].flags & IORING_CQE_F_NOTIF) && c[0].res == -EINVAL)
		zt_skip_exit("kernel rejects IOSQE_CQE_SKIP_SUCCESS on zero-copy sends (not a zcg kernel)");
}

void zt_require_zcg(void)
{
	struct io_uring ring;
	bool ok;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		zt_skip_exit("io_uring_queue_init: %s", strerror(-ret));
	ok = io_uring_check_zc_notif_groups(&ring);
	io_uring_queue_exit(&ring);
	if (!ok)
		zt_skip_exit("kernel lacks IORING_FEAT_ZC_NOTIF_GROUPS (not a zcg kernel)");
}

int zt_find(const struct zt_cqe *c, int n, __u64 user_data, bool notif)
{
	int i;

	for (i = 0; i < n; i++)
		if (c[i].user_data == user_data &&
		    !!(c[i].flags & IORING_CQE_F_NOTIF) == notif)
			return i;
	return -1;
}

long long zt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int zt_wait_nr(struct io_uring *ring, unsigned nr, int ms, struct zt_cqe *out,
	       int max, int *ret, long long *done_ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;

	*ret = io_uring_wait_cqes(ring, &cqe, nr, &ts, NULL);
	*done_ms = zt_now_ms();
	return zt_reap(ring, out, max);
}

int zt_reap(struct io_uring *ring, struct zt_cqe *out, int max)
{
	struct io_uring_cqe *cqe;
	unsigned head;
	int n = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		if (n == max)
			break;
		out[n].user_data = cqe->user_data;
		out[n].res = cqe->res;
		out[n].flags = cqe->flags;
		n++;
	}
	io_uring_cq_advance(ring, n);
	return n;
}

int zt_expect_one(struct io_uring *ring, struct zt_cqe *out, int ms,
		  const char *when)
{
	struct zt_cqe c[16];
	int n;

	n = zt_wait(ring, &c[0], ms) ? 0 : 1;
	n += zt_drain(ring, c + n, 16 - n, ZT_QUIET_MS);
	if (n != 1)
		zt_print_cqes(c, n);
	zt_check(n == 1, "%d CQEs %s (within %d ms), want one", n, when, ms);
	*out = c[0];
	return T_EXIT_PASS;
}

int zt_check_group(const struct zt_cqe *c, __u64 user_data, unsigned count)
{
	zt_check(c->user_data == user_data,
		 "group CQE user_data 0x%llx, want 0x%llx",
		 (unsigned long long)c->user_data,
		 (unsigned long long)user_data);
	zt_check(c->flags == IORING_CQE_F_NOTIF, "group CQE flags 0x%x",
		 c->flags);
	zt_check((unsigned)c->res == count, "group CQE res %d, want %u",
		 c->res, count);
	return T_EXIT_PASS;
}

struct io_uring_sqe *zt_member(struct io_uring *ring, int fd, const void *buf,
			       size_t len, __u32 g, bool flush, int buf_index,
			       unsigned sqe_flags, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		fprintf(stderr, "FAIL [%s]: submission queue full\n",
			zt_case ? zt_case : "-");
		exit(T_EXIT_FAIL);
	}
	if (buf_index >= 0)
		io_uring_prep_send_zc_group_fixed(sqe, fd, buf, len, 0, 0,
						  buf_index, g, flush);
	else
		io_uring_prep_send_zc_group(sqe, fd, buf, len, 0, 0, g, flush);
	sqe->flags |= sqe_flags;
	sqe->user_data = user_data;
	return sqe;
}

int zt_stalled_pair(int *tx, int *rx)
{
	return zt_stalled_pair_af(AF_INET, tx, rx);
}

int zt_stalled_pair_af(int family, int *tx, int *rx)
{
	static char fill[ZT_FILL_LEN];
	int small = 4096, big = 1 << 20, unsent = 0, ret;

	ret = zt_socket_pair(family, SOCK_STREAM, tx, rx);
	if (ret)
		return ret;
	setsockopt(*tx, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (send(*tx, fill, sizeof(fill), MSG_EOR) != sizeof(fill))
		ret = errno ? -errno : -EIO;
	else if ((unsent = zt_unsent(*tx)) < 0)
		ret = unsent;
	else if (!unsent)
		ret = -EAGAIN;
	if (ret) {
		fprintf(stderr, "could not close the receive window: %s\n",
			strerror(-ret));
		close(*tx);
		close(*rx);
	}
	return ret;
}

int zt_unsent(int fd)
{
	int unsent;

	return ioctl(fd, SIOCOUTQNSD, &unsent) ? -errno : unsent;
}

int zt_read_bytes(int fd, size_t len)
{
	static char sink[1 << 16];
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		size_t want = len - got < sizeof(sink) ? len - got : sizeof(sink);
		ssize_t r;

		if (poll(&pfd, 1, ZT_WAIT_MS) != 1)
			return -ETIMEDOUT;
		r = recv(fd, sink, want, MSG_DONTWAIT);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		got += r;
	}
	return 0;
}

int zt_wait_acked(int fd, int ms)
{
	long long end = zt_now_ms() + ms;
	int outq;

	do {
		if (ioctl(fd, SIOCOUTQ, &outq))
			return -errno;
		if (!outq)
			return 0;
		usleep(1000);
	} while (zt_now_ms() < end);
	return -ETIMEDOUT;
}

static void zt_sigalrm(int sig)
{
	(void)sig;
}

void zt_alarm_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = zt_sigalrm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

int zt_run_unprivileged(int (*fn)(void *), void *arg, unsigned long memlock,
			unsigned timeout_s)
{
	struct rlimit rl = { memlock, memlock };
	int status, ret;
	pid_t pid;

	if (geteuid() != 0) {
		printf("skip: not root, cannot drop privileges to run as an unprivileged user\n");
		return T_EXIT_SKIP;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		return T_EXIT_FAIL;
	}
	if (!pid) {
		signal(SIGALRM, SIG_DFL);
		alarm(timeout_s);
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
		    setgid(65534) || setuid(65534)) {
			fprintf(stderr, "dropping privileges: %s\n",
				strerror(errno));
			_exit(T_EXIT_FAIL);
		}
		if (!setuid(0)) {
			fprintf(stderr, "still privileged after setuid(65534)\n");
			_exit(T_EXIT_FAIL);
		}
		ret = fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(ret);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "waitpid: %s\n", strerror(errno));
			return T_EXIT_FAIL;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "unprivileged child killed by signal %d%s\n",
		WTERMSIG(status),
		WTERMSIG(status) == SIGALRM ? " (it hung: timed out)" : "");
	return T_EXIT_FAIL;
}

int zt_zc_copied(struct io_uring *ring, int tx, int rx, int type,
		 const void *buf, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct zt_cqe c[4];
	char *got = NULL;
	int n, r, k;

	if (!sqe) {
		fprintf(stderr, "zt_zc_copied: no SQE\n");
		return -1;
	}
	/*
	 * MSG_WAITALL: a nonblocking TCP send may take only part of the buffer
	 * (seen over the wire with 64 KiB and a small send buffer); without it
	 * the request completes short, with it io_uring sends the rest.
	 */
	io_uring_prep_send_zc(sqe, tx, buf, len,
			      type == SOCK_STREAM ? MSG_WAITALL : 0,
			      IORING_SEND_ZC_REPORT_USAGE);
	sqe->user_data = 0x2c0b1eedULL;
	if (io_uring_submit(ring) != 1) {
		fprintf(stderr, "zt_zc_copied: submit failed\n");
		return -1;
	}
	if (rx >= 0) {
		got = malloc(len);
		r = got ? zt_recv_all(rx, got, len, type) : -ENOMEM;
		if (r != (int)len || memcmp(got, buf, len)) {
			fprintf(stderr, "zt_zc_copied: received %d of %zu bytes%s\n",
				r, len, r == (int)len ? ", different data" : "");
			free(got);
			return -1;
		}
		free(got);
	}
	n = zt_collect(ring, c, 4, 2);
	k = zt_find(c, n, 0x2c0b1eedULL, true);
	if (n != 2 || k < 0 || c[!k].res != (int)len) {
		fprintf(stderr, "zt_zc_copied: want a result CQE of %zu and a "
			"notification, got %d CQEs\n", len, n);
		zt_print_cqes(c, n);
		return -1;
	}
	return !!(c[k].res & IORING_NOTIF_USAGE_ZC_COPIED);
}
