// SPDX-License-Identifier: MIT
/*
 * zcg-bench: what each io_uring zero-copy send notification model costs,
 * measured the same way for every model.
 *
 * For every row (transport x ring x mode x message size) the program forks a
 * receiver process, which drains its socket with recv(), and a sender
 * process, which sends from a pool of buffers for a fixed time and reports
 * its own counters and getrusage() to the parent through a pipe. A buffer is
 * reused only once the kernel released it: after its copy CQE, its
 * notification CQE, the CQE of its notification group generation, or (for
 * MSG_ZEROCOPY) its error-queue notification. Rows run in rounds, round
 * robin, and the CSV gives the median and the spread (min..max) over the
 * rounds of every metric.
 *
 * Transports. Copy-free paths, set up by the zcg guests' zcg-wire
 * (tests/guest/wire.sh), where a zero-copy send is really zero copy:
 *   udp-dummy  UDP into the dummy device zd0 (connected to 198.19.0.2,
 *              routed to zd0): the skb is counted and freed at transmit, in
 *              the sender's context; sender only, no receiver
 *   wire-tcp   TCP over the guest's wire: from zw0 (198.18.0.1, root
 *              namespace) through two emulated NICs to zw1 (198.18.0.2)
 *              in network namespace zcgpeer, where the receiver runs; the
 *              device reads the pages, the skb is freed at TX completion
 *   wire-udp   UDP over the same wire, datagrams within its MTU (1500): UDP
 *              copies what it must fragment
 *   (wire      both wire transports)
 * Copying paths (every zero-copy skb is copied when it is delivered to the
 * local socket, skb_orphan_frags_rx(): what they measure is that copy):
 *   tcp   loopback TCP, 127.0.0.1
 *   udp   loopback UDP, 127.0.0.1 (64 KiB rows send 65507-byte datagrams)
 *   veth  TCP over a veth pair between two network namespaces that the
 *         program creates (ip netns, addresses 10.77.0.1/24 and
 *         10.77.0.2/24 exist only inside them) and deletes at exit
 *
 * Modes:
 *   copy          IORING_OP_SEND (the data is copied; one CQE per send)
 *   msg_zerocopy  send(MSG_ZEROCOPY | MSG_DONTWAIT) on a socket with
 *                 SO_ZEROCOPY, buffers released by recvmsg(MSG_ERRQUEUE)
 *                 notifications, read after every batch; waits in poll()
 *                 (no ring)
 *   msg_zerocopy_lazy  the same the way of the recorded runs before issue
 *                 11: blocking send(), notifications read only when the next
 *                 buffer is still busy (bench/README.md says why it changed)
 *   zc            IORING_OP_SEND_ZC, default: result CQE + notification CQE
 *   zc_skip       SEND_ZC + IOSQE_CQE_SKIP_SUCCESS (notification CQE only)
 *   combine       SEND_ZC + IORING_SEND_ZC_COMBINE_CQE (one CQE per send)
 *   groupN        SEND_ZC in notification group 1, every Nth send flushes
 *                 (one result CQE per send + one CQE per N sends)
 *   groupN_skip   the same + IOSQE_CQE_SKIP_SUCCESS (one CQE per N sends)
 * Zero-copy modes use registered (fixed) buffers when the ring accepts the
 * pool (the CSV says so in the fixed column). Rings are DEFER_TASKRUN +
 * SINGLE_ISSUER ("defer"); --default-ring adds rows on a ring without setup
 * flags ("default"). Modes the kernel rejects (-EINVAL, -EOPNOTSUPP before
 * anything was sent) are reported as "unsupported" rows.
 *
 * Checks on the copy-free transports: every row starts with a check pass,
 * before its warm-up: 32 sends (groups: whole generations) with
 * IORING_SEND_ZC_REPORT_USAGE, one at a time (see ring_sender()), combine
 * excepted (the kernel rejects the two together); MSG_ZEROCOPY's
 * notifications say SO_EE_CODE_ZEROCOPY_COPIED in every run. The row
 * fails if any notification reports a copy. The row also fails unless the
 * device's TX counter (/sys/class/net/DEV/statistics/tx_bytes of zd0 or
 * zw0) grew by at least the payload bytes sent. The raw CSV has the
 * counts (zc_checked, zc_copied, dev_tx_bytes) for every transport.
 *
 * Metrics per row (sender side; MB = 10^6 bytes):
 *   req_s            sends per second
 *   mb_s             payload MB per second
 *   cqe_per_send     CQEs reaped per send (msg_zerocopy: error-queue
 *                    notifications read per send)
 *   enter_per_send   io_uring_enter calls per send (msg_zerocopy: 0)
 *   syscalls_per_send every syscall of the send loop per send (ring modes:
 *                    the io_uring_enter calls; msg_zerocopy: send, recvmsg
 *                    and poll calls)
 *   nvcsw_per_send   voluntary context switches of the sender per send:
 *                    its wake-ups (each one is a sleep the sender woke from)
 *   cpu_us_per_mb    sender user+system CPU time per MB
 *   all_cpu_us_per_mb busy time of all CPUs of the machine per MB (from
 *                    /proc/stat: the receiver, softirqs run by ksoftirqd
 *                    and anything else running count too)
 *
 * Each run is: warm-up, wait until nothing is in flight, then the measured
 * window of --time seconds plus the final drain (until every buffer is
 * released), so every send counted was started and finished inside it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "liburing.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif

#define MAX_ITEMS	64
#define UDP_MAX_PAYLOAD	65507
#define ZC_GROUP_ID	1

enum kind { K_COPY, K_MSGZC, K_ZC, K_COMBINE, K_GROUP };
enum transport { T_TCP, T_UDP, T_VETH, T_DUMMY, T_WIRE_TCP, T_WIRE_UDP,
		 NR_TRANSPORTS };
enum ring_kind { R_DEFER, R_DEFAULT, R_NONE };
enum status { S_OK, S_UNSUPPORTED, S_ERROR };

static const char *const transport_names[] = {
	"tcp", "udp", "veth", "udp-dummy", "wire-tcp", "wire-udp",
};
/* default message sizes per transport (when --sizes is not given) */
static const char *const transport_sizes[] = {
	"1K,4K,16K,64K", "4K,64K", "4K,64K", "600,1K,1200,4000,4K,8000",
	"1K,4K,16K,64K", "1K,1400",
};

/* the wire and the dummy device of tests/guest/wire.sh */
#define WIRE_NETNS	"/run/netns/zcgpeer"
#define WIRE_TX_DEV	"zw0"
#define WIRE_TX_ADDR	"198.18.0.1"
#define WIRE_RX_ADDR	"198.18.0.2"
#define DUMMY_DEV	"zd0"
#define DUMMY_DST	"198.19.0.2"

static bool is_udp(enum transport t)
{
	return t == T_UDP || t == T_DUMMY || t == T_WIRE_UDP;
}

static bool is_wire(enum transport t)
{
	return t == T_WIRE_TCP || t == T_WIRE_UDP;
}

/* where a zero-copy send is really zero copy */
static bool copy_free(enum transport t)
{
	return t == T_DUMMY || is_wire(t);
}

/* the device whose TX counter a row of the transport checks, or NULL */
static const char *tx_dev(enum transport t)
{
	return t == T_DUMMY ? DUMMY_DEV : is_wire(t) ? WIRE_TX_DEV : NULL;
}
static const char *const ring_names[] = { "defer", "default", "none" };
static const char *const status_names[] = { "ok", "unsupported", "error" };

struct mode {
	char name[32];
	enum kind kind;
	unsigned group;
	bool skip;
	bool lazy;	/* msg_zerocopy_lazy */
};

struct row {
	enum transport transport;
	enum ring_kind ring;
	struct mode mode;
	unsigned size;		/* nominal message size */
	unsigned len;		/* bytes per send (UDP caps at 65507) */
};

/* What a sender reports for one run. */
struct result {
	int status;
	int fixed;
	char msg[120];
	double secs;		/* measured window incl. final drain */
	double drain_secs;	/* of which the final drain */
	uint64_t sends, bytes, cqes, enters, syscalls, shorts;
	uint64_t nvcsw, nivcsw, cpu_us, all_cpu_us;
	/* the whole run, warm-up included */
	uint64_t total_bytes;	/* payload bytes sent */
	uint64_t zc_checked;	/* notifications that reported their usage */
	uint64_t zc_copied;	/* ... of which reported a copy */
	uint64_t msgzc_waits;	/* msg_zerocopy: polls for a notification */
	uint64_t msgzc_nobufs;	/* msg_zerocopy: sends refused with ENOBUFS */
	int64_t dev_tx_bytes;	/* the TX counter's growth, -1 if none */
};

struct metrics {
	double req_s, mb_s, cqe, enter, sys, nvcsw, cpu_us_mb, all_cpu_us_mb;
};
#define NR_METRICS 8
static const char *const metric_names[NR_METRICS] = {
	"req_s", "mb_s", "cqe_per_send", "enter_per_send",
	"syscalls_per_send", "nvcsw_per_send", "cpu_us_per_mb",
	"all_cpu_us_per_mb",
};

/* options */
static double opt_time = 2.0;
static double opt_warmup = -1;
static unsigned opt_rounds = 3;
static unsigned opt_batch = 32;
static unsigned opt_pool = 256;
static int opt_cpu_tx = -2, opt_cpu_rx = -2;	/* -2: default, -1: none */
static const char *opt_kernel;
static const char *opt_out;
static const char *opt_raw;
static bool opt_quiet;
static bool opt_list;
static bool opt_rx_copy;
static bool opt_reverse;
/* TCP socket buffers (SO_SNDBUFFORCE/SO_RCVBUFFORCE); 0: autotuning */
static unsigned opt_sockbuf = 4 << 20;

static struct row rows[4096];
static unsigned nr_rows;

/* veth namespaces */
static char ns_tx[32], ns_rx[32], if_tx[16], if_rx[16];
static bool netns_made;
static int netns_orig_fd = -1;
static int netns_tx_fd = -1, netns_rx_fd = -1;
static int wire_ns_fd = -1;
static pid_t main_pid;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "zcg-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* The integer argument of option --name, within lo..hi. */
static int int_arg(const char *name, int lo, int hi)
{
	int v = atoi(optarg);

	if (v < lo || v > hi)
		die("bad --%s", name);
	return v;
}

#define STR_ARG(buf)	snprintf(buf, sizeof(buf), "%s", optarg)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* option parsing */

static bool parse_mode(const char *name, struct mode *m)
{
	unsigned n;
	char tail[16];

	memset(m, 0, sizeof(*m));
	if (strlen(name) >= sizeof(m->name))
		return false;
	strcpy(m->name, name);
	if (!strcmp(name, "copy"))
		m->kind = K_COPY;
	else if (!strcmp(name, "msg_zerocopy"))
		m->kind = K_MSGZC;
	else if (!strcmp(name, "msg_zerocopy_lazy"))
		m->kind = K_MSGZC, m->lazy = true;
	else if (!strcmp(name, "zc"))
		m->kind = K_ZC;
	else if (!strcmp(name, "zc_skip"))
		m->kind = K_ZC, m->skip = true;
	else if (!strcmp(name, "combine"))
		m->kind = K_COMBINE;
	else if (sscanf(name, "group%u%15s", &n, tail) == 1 && n >= 1 && n <= 4096)
		m->kind = K_GROUP, m->group = n;
	else if (sscanf(name, "group%u%15s", &n, tail) == 2 && n >= 1 &&
		 n <= 4096 && !strcmp(tail, "_skip"))
		m->kind = K_GROUP, m->group = n, m->skip = true;
	else
		return false;
	return true;
}

static bool parse_transport(const char *s, enum transport *t)
{
	for (unsigned i = 0; i < NR_TRANSPORTS; i++) {
		if (!strcmp(s, transport_names[i])) {
			*t = i;
			return true;
		}
	}
	return false;
}

/*
 * A byte count with an optional K (and, if m_ok, M) suffix into *v; false
 * if something else follows the number.
 */
static bool parse_bytes(const char *s, bool m_ok, unsigned long *v)
{
	char *end;

	*v = strtoul(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		*v *= 1024, end++;
	else if (m_ok && (*end == 'M' || *end == 'm'))
		*v *= 1024 * 1024, end++;
	return !*end;
}

static unsigned parse_size(const char *s)
{
	unsigned long v;

	if (!parse_bytes(s, false, &v) || !v || v > (1U << 20))
		die("bad message size '%s' (1..1M, K suffix allowed)", s);
	return v;
}

/* a buffer size: 0 or 4K..1G, K and M suffixes allowed */
static unsigned sockbuf_arg(const char *s)
{
	unsigned long v;

	if (!parse_bytes(s, true, &v) || (v && (v < 4096 || v > (1UL << 30))))
		die("bad --sockbuf '%s' (0 or 4K..1G, K and M suffixes allowed)", s);
	return v;
}

/* split a comma separated list in place */
static unsigned split(char *s, char **items)
{
	unsigned n = 0;
	char *save = NULL;

	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == MAX_ITEMS)
			die("too many list items");
		items[n++] = t;
	}
	return n;
}

static void add_row(enum transport t, enum ring_kind ring,
		    const struct mode *m, unsigned size)
{
	struct row *r;

	if (nr_rows == sizeof(rows) / sizeof(rows[0]))
		die("too many rows");
	r = &rows[nr_rows++];
	r->transport = t;
	r->mode = *m;
	r->ring = m->kind == K_MSGZC ? R_NONE : ring;
	r->size = size;
	r->len = size;
	if (is_udp(t) && r->len > UDP_MAX_PAYLOAD)
		r->len = UDP_MAX_PAYLOAD;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: zcg-bench [options]\n"
"  -t, --time SEC        measured time per row and round (default 2)\n"
"  -w, --warmup SEC      warm-up before each measurement (default time/5, max 0.5)\n"
"  -r, --rounds N        interleaved rounds, median and spread (default 3)\n"
"  -T, --transports L    udp-dummy,wire-tcp,wire-udp (wire: both wire ones),\n"
"                        tcp,udp,veth (default all six, in this order)\n"
"  -m, --modes L         copy,msg_zerocopy,msg_zerocopy_lazy,zc,zc_skip,combine,\n"
"                        groupN,groupN_skip\n"
"                        (default copy,msg_zerocopy,zc,zc_skip,combine,\n"
"                        group8,group32,group128,group8_skip,group32_skip,\n"
"                        group128_skip)\n"
"  -s, --sizes L         message sizes, K suffix allowed (default per transport:\n"
"                        udp-dummy 600,1K,1200,4000,4K,8000; wire-tcp and tcp\n"
"                        1K,4K,16K,64K; wire-udp 1K,1400 (the wire's MTU is\n"
"                        1500: larger datagrams are fragmented, and UDP copies\n"
"                        what it fragments); udp and veth 4K,64K)\n"
"  -d, --default-ring L  extra rows on a ring without setup flags,\n"
"                        TRANSPORT:MODE:SIZE,... or 'none'\n"
"                        (default zc and group32_skip on udp-dummy 4000,\n"
"                        wire-tcp 4K and tcp 4K)\n"
"  -b, --batch N         most SQEs (or sends) per submission (default 32)\n"
"  -p, --pool N          buffers per sender (default 256; at least 2 x group)\n"
"  -c, --cpus TX,RX      pin sender and receiver (default 0,1 with 2+ CPUs;\n"
"                        'none' to not pin)\n"
"  -k, --kernel LABEL    kernel column (default: uname -r)\n"
"  -o, --output FILE     CSV of medians (default standard output)\n"
"      --raw FILE        CSV of every run (one line per row and round)\n"
"      --reverse         run the first round's rows in reverse order (rounds\n"
"                        alternate the order anyway, to cancel drift)\n"
"      --rx-copy         the receiver copies the data (default: discards it\n"
"                        with MSG_TRUNC)\n"
"      --sockbuf BYTES   TCP send and receive buffer of every row, K and M\n"
"                        suffixes allowed (default 4M; 0: the kernel's\n"
"                        autotuning)\n"
"  -l, --list            print the rows and exit\n"
"  -q, --quiet           no progress on standard error\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "transports", required_argument, NULL, 'T' },
		{ "modes", required_argument, NULL, 'm' },
		{ "sizes", required_argument, NULL, 's' },
		{ "default-ring", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'b' },
		{ "pool", required_argument, NULL, 'p' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "raw", required_argument, NULL, 'R' },
		{ "rx-copy", no_argument, NULL, 'X' },
		{ "reverse", no_argument, NULL, 'V' },
		{ "sockbuf", required_argument, NULL, 'B' },
		{ "list", no_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char transports[256] = "udp-dummy,wire-tcp,wire-udp,tcp,udp,veth";
	char modes[1024] = "copy,msg_zerocopy,zc,zc_skip,combine,group8,group32,"
			   "group128,group8_skip,group32_skip,group128_skip";
	char sizes[256] = "";
	char dring[1024] = "udp-dummy:zc:4000,udp-dummy:group32_skip:4000,"
			   "wire-tcp:zc:4K,wire-tcp:group32_skip:4K,"
			   "tcp:zc:4K,tcp:group32_skip:4K";
	char *ml[MAX_ITEMS], *sl[MAX_ITEMS], *dl[MAX_ITEMS];
	enum transport tv[MAX_ITEMS];
	struct {
		enum transport transport;
		struct mode mode;
		unsigned size;
		bool done;
	} dr[MAX_ITEMS] = { 0 };
	unsigned nt, nm, ns, nd;
	int c;

	while ((c = getopt_long(argc, argv, "t:w:r:T:m:s:d:b:p:c:k:o:lqh", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			opt_time = atof(optarg);
			if (opt_time <= 0)
				die("bad --time");
			break;
		case 'w':
			opt_warmup = atof(optarg);
			break;
		case 'r':
			opt_rounds = int_arg("rounds", 1, 100);
			break;
		case 'T':
			STR_ARG(transports);
			break;
		case 'm':
			STR_ARG(modes);
			break;
		case 's':
			STR_ARG(sizes);
			break;
		case 'd':
			STR_ARG(dring);
			break;
		case 'b':
			opt_batch = int_arg("batch", 1, 1024);
			break;
		case 'p':
			opt_pool = int_arg("pool", 1, 65536);
			break;
		case 'c':
			if (!strcmp(optarg, "none"))
				opt_cpu_tx = opt_cpu_rx = -1;
			else if (sscanf(optarg, "%d,%d", &opt_cpu_tx, &opt_cpu_rx) != 2 ||
				 opt_cpu_tx < 0 || opt_cpu_rx < 0)
				die("bad --cpus (TX,RX or none)");
			break;
		case 'k':
			opt_kernel = optarg;
			break;
		case 'o':
			opt_out = optarg;
			break;
		case 'R':
			opt_raw = optarg;
			break;
		case 'X':
			opt_rx_copy = true;
			break;
		case 'V':
			opt_reverse = true;
			break;
		case 'B':
			opt_sockbuf = sockbuf_arg(optarg);
			break;
		case 'l':
			opt_list = true;
			break;
		case 'q':
			opt_quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (opt_warmup < 0)
		opt_warmup = opt_time / 5 > 0.5 ? 0.5 : opt_time / 5;

	nt = 0;
	{
		char *items[MAX_ITEMS];
		unsigned n = split(transports, items);

		for (unsigned i = 0; i < n; i++) {
			bool wire = !strcmp(items[i], "wire");

			if (nt + 2 > MAX_ITEMS)
				die("too many transports");
			if (wire || !strcmp(items[i], "wire-tcp"))
				tv[nt++] = T_WIRE_TCP;
			if (wire || !strcmp(items[i], "wire-udp"))
				tv[nt++] = T_WIRE_UDP;
			if (wire || !strncmp(items[i], "wire-", 5))
				continue;
			if (!parse_transport(items[i], &tv[nt]))
				die("unknown transport '%s'", items[i]);
			nt++;
		}
	}
	nm = split(modes, ml);
	/* the default-ring rows, parsed first to go next to their peers */
	nd = 0;
	if (strcmp(dring, "none") && dring[0]) {
		nd = split(dring, dl);
		for (unsigned i = 0; i < nd; i++) {
			char *p1 = strchr(dl[i], ':'), *p2 = p1 ? strchr(p1 + 1, ':') : NULL;

			if (!p2)
				die("bad --default-ring item '%s' (TRANSPORT:MODE:SIZE)", dl[i]);
			*p1++ = 0;
			*p2++ = 0;
			if (!parse_transport(dl[i], &dr[i].transport))
				die("unknown transport '%s'", dl[i]);
			if (!parse_mode(p1, &dr[i].mode))
				die("unknown mode '%s'", p1);
			if (dr[i].mode.kind == K_MSGZC)
				die("msg_zerocopy uses no ring");
			dr[i].size = parse_size(p2);
		}
	}
	/*
	 * Row order: transport, size, mode, so that the modes compared with
	 * each other run close together in time; default-ring rows follow the
	 * rows of their transport and size.
	 */
	for (unsigned t = 0; t < nt; t++) {
		enum transport tr = tv[t];
		char tsizes[256];

		snprintf(tsizes, sizeof(tsizes), "%s", sizes[0] ? sizes : transport_sizes[tr]);
		ns = split(tsizes, sl);
		for (unsigned sz = 0; sz < ns; sz++) {
			unsigned size = parse_size(sl[sz]);

			for (unsigned m = 0; m < nm; m++) {
				struct mode mode;

				if (!parse_mode(ml[m], &mode))
					die("unknown mode '%s'", ml[m]);
				add_row(tr, R_DEFER, &mode, size);
			}
			for (unsigned i = 0; i < nd; i++) {
				if (dr[i].done || dr[i].transport != tr || dr[i].size != size)
					continue;
				add_row(tr, R_DEFAULT, &dr[i].mode, size);
				dr[i].done = true;
			}
		}
	}
	/* default-ring rows of a size not in the list, on a chosen transport */
	for (unsigned i = 0; i < nd; i++) {
		for (unsigned t = 0; t < nt && !dr[i].done; t++) {
			if (tv[t] != dr[i].transport)
				continue;
			add_row(dr[i].transport, R_DEFAULT, &dr[i].mode, dr[i].size);
			dr[i].done = true;
		}
	}
	if (!nr_rows)
		die("nothing to run");
}

/* ------------------------------------------------------------------ */
/* network namespaces for the veth transport */

static int run_cmd(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = system(cmd);
	if (ret != 0)
		fprintf(stderr, "zcg-bench: '%s' failed (%d)\n", cmd, ret);
	return ret;
}

static void netns_cleanup(void)
{
	if (!netns_made || getpid() != main_pid)
		return;
	netns_made = false;
	if (netns_orig_fd >= 0)
		setns(netns_orig_fd, CLONE_NEWNET);
	/* deleting the namespaces deletes the veth pair */
	run_cmd("ip netns del %s 2>/dev/null", ns_tx);
	run_cmd("ip netns del %s 2>/dev/null", ns_rx);
}

static void on_signal(int sig)
{
	netns_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int open_netns(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Returns NULL on success, else why the veth rows cannot run. */
static const char *netns_setup(void)
{
	int pid = getpid();

	snprintf(ns_tx, sizeof(ns_tx), "zcgb%d-tx", pid);
	snprintf(ns_rx, sizeof(ns_rx), "zcgb%d-rx", pid);
	snprintf(if_tx, sizeof(if_tx), "zcgb%dt", pid);
	snprintf(if_rx, sizeof(if_rx), "zcgb%dr", pid);
	netns_orig_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns_orig_fd < 0)
		return "cannot open /proc/self/ns/net";
	if (run_cmd("ip netns add %s", ns_tx))
		return "ip netns add failed (needs root and iproute2)";
	netns_made = true;
	if (run_cmd("ip netns add %s", ns_rx) ||
	    run_cmd("ip link add %s type veth peer name %s", if_tx, if_rx) ||
	    run_cmd("ip link set %s netns %s", if_tx, ns_tx) ||
	    run_cmd("ip link set %s netns %s", if_rx, ns_rx) ||
	    run_cmd("ip -n %s addr add 10.77.0.1/24 dev %s", ns_tx, if_tx) ||
	    run_cmd("ip -n %s addr add 10.77.0.2/24 dev %s", ns_rx, if_rx) ||
	    run_cmd("ip -n %s link set lo up", ns_tx) ||
	    run_cmd("ip -n %s link set lo up", ns_rx) ||
	    run_cmd("ip -n %s link set %s up", ns_tx, if_tx) ||
	    run_cmd("ip -n %s link set %s up", ns_rx, if_rx))
		return "veth setup failed";
	netns_tx_fd = open_netns(ns_tx);
	netns_rx_fd = open_netns(ns_rx);
	if (netns_tx_fd < 0 || netns_rx_fd < 0)
		return "cannot open the namespaces in /run/netns";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* connections */

static int enter_ns(int fd)
{
	if (fd >= 0 && setns(fd, CLONE_NEWNET))
		return -errno;
	return 0;
}

/*
 * A fixed TCP buffer (--sockbuf) for every row. With the kernel's
 * autotuning, loopback TCP at 16 and 64 KiB ran in one of two states
 * decided by how far the buffers had grown when the row started (the sender
 * never sleeping, or sleeping on a full send buffer 80-220 times in 0.4 s,
 * 0.9x its speed; MSG_ZEROCOPY 2x), in every mode and on every kernel.
 */
static int set_sockbuf(int fd, int opt)
{
	int val = (int)opt_sockbuf;

	if (!opt_sockbuf)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, opt, &val, sizeof(val)) &&
	    setsockopt(fd, SOL_SOCKET, opt == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF,
		       &val, sizeof(val)))
		return -errno;
	return 0;
}

/*
 * Make a connected pair for the row: *txfd in the sender's namespace,
 * *rxfd in the receiver's. Returns 0 or a negative errno.
 */
static int make_pair(const struct row *row, int *txfd, int *rxfd, const char **why)
{
	bool tcp = !is_udp(row->transport);
	int type = tcp ? SOCK_STREAM : SOCK_DGRAM;
	int lfd = -1, tfd = -1, afd = -1, ret, one = 1;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int txns = -1, rxns = -1;
	const char *dev = tx_dev(row->transport);
	struct timeval tv = { 0 };

	if (row->transport == T_DUMMY) {
		/* sender only: bound to zd0, connected to the address routed there */
		*why = "udp-dummy socket";
		*rxfd = -1;
		tfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		addr.sin_port = htons(9);
		inet_pton(AF_INET, DUMMY_DST, &addr.sin_addr);
		if (tfd < 0 ||
		    setsockopt(tfd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1) ||
		    connect(tfd, (struct sockaddr *)&addr, sizeof(addr)))
			goto err;
		*txfd = tfd;
		return 0;
	}
	if (row->transport == T_VETH) {
		txns = netns_tx_fd;
		rxns = netns_rx_fd;
		inet_pton(AF_INET, "10.77.0.2", &addr.sin_addr);
	} else if (is_wire(row->transport)) {
		/* the receiver's socket lives in zcgpeer, the sender's here */
		rxns = wire_ns_fd;
		inet_pton(AF_INET, WIRE_RX_ADDR, &addr.sin_addr);
	} else {
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}

	*why = "receiver socket";
	if ((ret = enter_ns(rxns)))
		goto out;
	lfd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		goto err;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* before listen(): the accepted socket inherits it, and its window */
	if (tcp && (ret = set_sockbuf(lfd, SO_RCVBUFFORCE)))
		goto out;
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) ||
	    (tcp && listen(lfd, 4)))
		goto err;

	*why = "sender socket";
	if ((ret = enter_ns(txns >= 0 ? txns : rxns >= 0 ? netns_orig_fd : -1)))
		goto out;
	tfd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (tfd < 0 ||
	    (dev && setsockopt(tfd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev) + 1)))
		goto err;
	if (tcp && (ret = set_sockbuf(tfd, SO_SNDBUFFORCE)))
		goto out;
	/* a broken wire fails the row in seconds, not after the SYN retries */
	tv.tv_sec = 10;
	setsockopt(tfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(tfd, (struct sockaddr *)&addr, sizeof(addr)))
		goto err;
	tv.tv_sec = 0;
	setsockopt(tfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((ret = enter_ns(txns >= 0 ? netns_orig_fd : -1)))
		goto out;

	if (tcp) {
		*why = "accept";
		afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (afd < 0)
			goto err;
		close(lfd);
		lfd = -1;
	} else {
		afd = lfd;
		lfd = -1;
	}
	*txfd = tfd;
	*rxfd = afd;
	return 0;
err:
	ret = -errno;
out:
	if (txns >= 0 || rxns >= 0)
		enter_ns(netns_orig_fd);
	if (lfd >= 0)
		close(lfd);
	if (tfd >= 0)
		close(tfd);
	if (afd >= 0)
		close(afd);
	return ret ? ret : -EIO;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Drain the socket until EOF (TCP) or until killed. By default the data is
 * discarded with MSG_TRUNC (no copy to user space, as liburing's
 * send-zerocopy example does) so that the receiver stays cheap next to the
 * sender being measured; --rx-copy copies it into a buffer instead.
 */
static void __attribute__((noreturn)) receiver(int fd, bool udp, int ns)
{
	size_t sz = 256 * 1024;
	char *buf = malloc(sz);
	int flags = opt_rx_copy ? 0 : MSG_TRUNC;

	/* the wire's receiver runs where its socket is, in zcgpeer */
	if (ns >= 0 && setns(ns, CLONE_NEWNET))
		_exit(1);
	pin(opt_cpu_rx);
	if (!buf)
		_exit(1);
	/* MSG_TRUNC on a datagram socket still copies up to the length given */
	if (udp && !opt_rx_copy)
		sz = 64;
	for (;;) {
		ssize_t n = recv(fd, buf, sz, flags);

		if (n == 0)
			_exit(0);
		if (n < 0 && errno != EINTR)
			_exit(errno == ECONNRESET ? 0 : 1);
	}
}

/* ------------------------------------------------------------------ */
/* the sender */

struct sender {
	const struct row *row;
	const struct mode *m;
	struct result *res;
	int fd;
	unsigned len;
	unsigned pool;
	char *bufs;
	size_t stride;
	unsigned *freel;	/* stack of free buffer indices */
	unsigned nfree;
	bool ok_seen;		/* a send has succeeded (for "unsupported") */
	bool failed;

	/* counters since the start of the run */
	uint64_t sends, bytes, cqes, enters, syscalls, shorts;
	uint64_t zc_checked, zc_copied, msgzc_waits, msgzc_nobufs;
	bool checking;		/* the check pass: sends report their usage */

	/* ring modes */
	struct io_uring ring;
	bool fixed;
	int msg_flags;
	/* notification groups: generations in flight, by slot */
	unsigned nslots, cur_slot;
	unsigned *slot_n;	/* members per slot */
	unsigned *slot_bufs;	/* nslots x group buffer indices */
	bool *slot_busy;

	/* msg_zerocopy */
	uint8_t *busy;
	uint32_t next_id;
	unsigned inflight;
};

struct snapshot {
	double t;
	uint64_t sends, bytes, cqes, enters, syscalls, shorts;
	uint64_t all_cpu_us;
	struct rusage ru;
};

/* Busy time of all CPUs so far (/proc/stat), in microseconds; 0 if unknown. */
static uint64_t all_cpu_busy_us(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return 0;
	/* cpu user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 7 || hz <= 0)
		return 0;
	return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1000000ULL / hz;
}

static void take_snapshot(struct sender *s, struct snapshot *sn)
{
	sn->t = now_s();
	sn->sends = s->sends;
	sn->bytes = s->bytes;
	sn->cqes = s->cqes;
	sn->enters = s->enters;
	sn->syscalls = s->syscalls;
	sn->shorts = s->shorts;
	sn->all_cpu_us = all_cpu_busy_us();
	getrusage(RUSAGE_SELF, &sn->ru);
}

static uint64_t tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void fill_result(struct sender *s, const struct snapshot *a,
			const struct snapshot *b, double t_deadline)
{
	struct result *r = s->res;

	r->secs = b->t - a->t;
	r->drain_secs = b->t > t_deadline ? b->t - t_deadline : 0;
	r->sends = b->sends - a->sends;
	r->bytes = b->bytes - a->bytes;
	r->cqes = b->cqes - a->cqes;
	r->enters = b->enters - a->enters;
	r->syscalls = b->syscalls - a->syscalls;
	r->shorts = b->shorts - a->shorts;
	r->nvcsw = b->ru.ru_nvcsw - a->ru.ru_nvcsw;
	r->nivcsw = b->ru.ru_nivcsw - a->ru.ru_nivcsw;
	r->cpu_us = tv_us(&b->ru.ru_utime) + tv_us(&b->ru.ru_stime) -
		    tv_us(&a->ru.ru_utime) - tv_us(&a->ru.ru_stime);
	r->all_cpu_us = b->all_cpu_us - a->all_cpu_us;
	r->total_bytes = s->bytes;
	r->zc_checked = s->zc_checked;
	r->zc_copied = s->zc_copied;
	r->msgzc_waits = s->msgzc_waits;
	r->msgzc_nobufs = s->msgzc_nobufs;
}

static void set_status(struct sender *s, int status, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	s->res->status = status;
	va_start(ap, fmt);
	vsnprintf(s->res->msg, sizeof(s->res->msg), fmt, ap);
	va_end(ap);
}

/* A send failed with res (negative errno). */
static void send_failed(struct sender *s, int res, const char *what)
{
	if (!s->ok_seen && (res == -EINVAL || res == -EOPNOTSUPP))
		set_status(s, S_UNSUPPORTED, "%s: %s", what, strerror(-res));
	else
		set_status(s, S_ERROR, "%s: %s", what, strerror(-res));
}

static void release(struct sender *s, unsigned idx)
{
	s->freel[s->nfree++] = idx;
}

/* one CQE of a ring mode */
static void handle_cqe(struct sender *s, const struct io_uring_cqe *cqe)
{
	const struct mode *m = s->m;
	unsigned idx = (unsigned)(cqe->user_data & 0xffffffffu);
	unsigned slot = (unsigned)(cqe->user_data >> 32);
	bool notif = cqe->flags & IORING_CQE_F_NOTIF;

	s->cqes++;
	if (idx >= s->pool) {
		set_status(s, S_ERROR, "CQE with unknown user_data %llu",
			   (unsigned long long)cqe->user_data);
		return;
	}
	if (!notif) {
		/* a result CQE */
		if (cqe->res < 0) {
			send_failed(s, cqe->res, "send");
			return;
		}
		s->ok_seen = true;
		if (m->kind == K_COMBINE) {
			/* its result travels in the notification */
			set_status(s, S_ERROR, "combined send posted a result CQE (res %d)",
				   cqe->res);
			return;
		}
		if (m->skip) {
			/* only short sends post it; count what was not sent */
			if ((unsigned)cqe->res < s->len) {
				s->shorts++;
				s->bytes -= s->len - cqe->res;
			}
		} else {
			s->bytes += cqe->res;
			if ((unsigned)cqe->res < s->len)
				s->shorts++;
		}
		if (m->kind == K_COPY)
			release(s, idx);
		return;
	}

	/* a notification */
	s->ok_seen = true;
	if (s->checking && m->kind != K_COMBINE) {
		s->zc_checked++;
		if (cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			s->zc_copied++;
	}
	switch (m->kind) {
	case K_ZC:
		release(s, idx);
		break;
	case K_COMBINE:
		if (cqe->res < 0) {
			send_failed(s, cqe->res, "send");
			return;
		}
		s->bytes += cqe->res;
		if ((unsigned)cqe->res < s->len)
			s->shorts++;
		release(s, idx);
		break;
	case K_GROUP: {
		unsigned n = io_uring_cqe_zc_group_count(cqe);

		if (slot >= s->nslots || !s->slot_busy[slot] || n != s->slot_n[slot]) {
			set_status(s, S_ERROR, "group CQE res %d for slot %u with %u members",
				   cqe->res, slot, slot < s->nslots ? s->slot_n[slot] : 0);
			return;
		}
		for (unsigned i = 0; i < n; i++)
			release(s, s->slot_bufs[slot * m->group + i]);
		s->slot_busy[slot] = false;
		s->slot_n[slot] = 0;
		break;
	}
	default:
		set_status(s, S_ERROR, "unexpected notification CQE");
	}
}

static void prep_one(struct sender *s, bool flush)
{
	const struct mode *m = s->m;
	unsigned idx = s->freel[--s->nfree];
	char *buf = s->bufs + (size_t)idx * s->stride;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	uint64_t ud = idx;

	/* the caller never asks for more than the SQ holds */
	switch (m->kind) {
	case K_COPY:
		io_uring_prep_send(sqe, 0, buf, s->len, s->msg_flags);
		break;
	case K_GROUP: {
		unsigned slot = s->cur_slot;

		if (s->fixed)
			io_uring_prep_send_zc_group_fixed(sqe, 0, buf, s->len,
					s->msg_flags, 0, idx, ZC_GROUP_ID, flush);
		else
			io_uring_prep_send_zc_group(sqe, 0, buf, s->len,
					s->msg_flags, 0, ZC_GROUP_ID, flush);
		s->slot_busy[slot] = true;
		s->slot_bufs[slot * m->group + s->slot_n[slot]++] = idx;
		ud |= (uint64_t)slot << 32;
		if (flush)
			s->cur_slot = (slot + 1) % s->nslots;
		break;
	}
	default:
		if (s->fixed)
			io_uring_prep_send_zc_fixed(sqe, 0, buf, s->len,
						    s->msg_flags, 0, idx);
		else
			io_uring_prep_send_zc(sqe, 0, buf, s->len, s->msg_flags, 0);
		if (m->kind == K_COMBINE)
			io_uring_sqe_set_zc_combine_cqe(sqe);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	if (m->skip)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	/* the check pass (COMBINE_CQE and REPORT_USAGE exclude each other) */
	if (s->checking && m->kind != K_COPY && m->kind != K_COMBINE)
		sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
	io_uring_sqe_set_data64(sqe, ud);
	s->sends++;
	if (m->skip)
		s->bytes += s->len;
}

enum phase { P_CHECK, P_WARM, P_DRAIN_WARM, P_MEASURE, P_DRAIN };

/* sends of the check pass (at least; groups: whole generations) */
#define CHECK_SENDS	32

static void ring_sender(struct sender *s)
{
	const struct mode *m = s->m;
	struct io_uring_params p = { 0 };
	unsigned sq_entries = 128;
	struct iovec *iov;
	struct snapshot a = { 0 }, b;
	enum phase phase;
	double t_end, t_deadline = 0;
	unsigned check_sent = 0, check_target = 0;
	int ret;

	while (sq_entries < opt_batch)
		sq_entries <<= 1;
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 4 * s->pool + 64;
	if (s->row->ring == R_DEFER)
		p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init_params(sq_entries, &s->ring, &p);
	if (ret) {
		set_status(s, ret == -EINVAL ? S_UNSUPPORTED : S_ERROR,
			   "io_uring_queue_init: %s", strerror(-ret));
		return;
	}
	ret = io_uring_register_files(&s->ring, &s->fd, 1);
	if (ret) {
		set_status(s, S_ERROR, "register_files: %s", strerror(-ret));
		return;
	}
	io_uring_register_ring_fd(&s->ring);	/* an optimisation only */

	/* registered buffers for the zero-copy modes (plain send has none) */
	if (m->kind != K_COPY) {
		iov = calloc(s->pool, sizeof(*iov));
		for (unsigned i = 0; i < s->pool; i++) {
			iov[i].iov_base = s->bufs + (size_t)i * s->stride;
			iov[i].iov_len = s->len;
		}
		s->fixed = io_uring_register_buffers(&s->ring, iov, s->pool) == 0;
		free(iov);
	}
	s->res->fixed = s->fixed;
	s->msg_flags = s->row->transport == T_UDP ? 0 : MSG_WAITALL;

	if (m->kind == K_GROUP) {
		s->nslots = s->pool / m->group + 2;
		s->slot_n = calloc(s->nslots, sizeof(*s->slot_n));
		s->slot_busy = calloc(s->nslots, sizeof(*s->slot_busy));
		s->slot_bufs = calloc((size_t)s->nslots * m->group, sizeof(*s->slot_bufs));
		if (!s->slot_n || !s->slot_busy || !s->slot_bufs) {
			set_status(s, S_ERROR, "out of memory");
			return;
		}
	}

	/*
	 * The check pass, before the warm-up: CHECK_SENDS sends with
	 * IORING_SEND_ZC_REPORT_USAGE, one at a time (a generation at a time
	 * for groups). One at a time because a notification stacked on
	 * another one's skb (TCP, io_link_skb()) never learns that its data
	 * went out without a copy and reports IORING_NOTIF_USAGE_ZC_COPIED
	 * regardless (6.12); what is checked is the path, not the batching.
	 * copy has nothing to check, combine cannot report its usage.
	 */
	if (m->kind == K_COPY || m->kind == K_COMBINE) {
		phase = P_WARM;
	} else {
		phase = P_CHECK;
		check_target = m->kind == K_GROUP ?
			(CHECK_SENDS + m->group - 1) / m->group * m->group : CHECK_SENDS;
	}
	t_end = now_s() + opt_warmup;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n, nprep = 0, inflight;
		bool stopping;
		double t = now_s();

		if (phase == P_CHECK && check_sent == check_target &&
		    s->nfree == s->pool) {
			phase = P_WARM;
			t_end = t + opt_warmup;
		}
		if (phase == P_WARM && t >= t_end)
			phase = P_DRAIN_WARM;
		else if (phase == P_MEASURE && t >= t_deadline)
			phase = P_DRAIN;
		stopping = phase == P_DRAIN_WARM || phase == P_DRAIN;
		s->checking = phase == P_CHECK;

		while (s->nfree && nprep < opt_batch) {
			bool flush = false;

			if (phase == P_CHECK &&
			    (check_sent == check_target ||
			     s->pool - s->nfree >= (m->kind == K_GROUP ? m->group : 1)))
				break;

			if (m->kind == K_GROUP) {
				unsigned open = s->slot_n[s->cur_slot];

				if (s->slot_busy[s->cur_slot] && open == 0) {
					/* every slot in flight: wait */
					break;
				}
				if (stopping) {
					/* seal a partial generation, then stop */
					if (!open)
						break;
					flush = true;
				} else if (open + 1 == m->group) {
					flush = true;
				}
			} else if (stopping) {
				break;
			}
			prep_one(s, flush);
			nprep++;
			check_sent += phase == P_CHECK;
			if (stopping)
				break;
		}

		inflight = s->pool - s->nfree;
		if (stopping && !nprep && !inflight) {
			if (phase == P_DRAIN)
				break;
			take_snapshot(s, &a);
			t_deadline = a.t + opt_time;
			phase = P_MEASURE;
			continue;
		}

		if (nprep && s->nfree)
			ret = io_uring_submit_and_get_events(&s->ring);
		else
			ret = io_uring_submit_and_wait(&s->ring, 1);
		s->enters++;
		s->syscalls++;
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
		    ret != -ETIME) {
			set_status(s, S_ERROR, "io_uring_enter: %s", strerror(-ret));
			return;
		}

		n = 0;
		io_uring_for_each_cqe(&s->ring, head, cqe) {
			handle_cqe(s, cqe);
			n++;
		}
		io_uring_cq_advance(&s->ring, n);
		if (s->failed)
			return;
	}
	take_snapshot(s, &b);
	fill_result(s, &a, &b, t_deadline);
}

/* Read every pending MSG_ZEROCOPY notification; returns how many. */
static int read_errqueue(struct sender *s)
{
	int got = 0;

	for (;;) {
		char control[128];
		struct msghdr msg = {
			.msg_control = control,
			.msg_controllen = sizeof(control),
		};
		struct sock_extended_err *serr;
		struct cmsghdr *cm;
		ssize_t ret;

		ret = recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		s->syscalls++;
		if (ret < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return got;
			if (errno == EINTR)
				continue;
			send_failed(s, -errno, "recvmsg(MSG_ERRQUEUE)");
			return got;
		}
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_level != SOL_IP || cm->cmsg_type != IP_RECVERR)
			continue;
		serr = (struct sock_extended_err *)CMSG_DATA(cm);
		if (serr->ee_origin != SO_EE_ORIGIN_ZEROCOPY) {
			if (serr->ee_errno) {
				send_failed(s, -(int)serr->ee_errno, "socket error");
				return got;
			}
			continue;
		}
		s->cqes++;
		got++;
		s->zc_checked += serr->ee_data - serr->ee_info + 1;
		if (serr->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
			s->zc_copied += serr->ee_data - serr->ee_info + 1;
		for (uint32_t id = serr->ee_info; ; id++) {
			uint8_t *b = &s->busy[id % s->pool];

			if (*b) {
				*b = 0;
				s->inflight--;
			}
			if (id == serr->ee_data)
				break;
		}
	}
}

static void msgzc_sender(struct sender *s)
{
	struct snapshot a = { 0 }, b;
	enum phase phase = P_WARM;
	double t_end, t_deadline = 0;
	int one = 1;

	s->res->fixed = 0;
	if (setsockopt(s->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one))) {
		set_status(s, S_UNSUPPORTED, "SO_ZEROCOPY: %s", strerror(errno));
		return;
	}
	s->busy = calloc(s->pool, 1);
	if (!s->busy) {
		set_status(s, S_ERROR, "out of memory");
		return;
	}

	t_end = now_s() + opt_warmup;
	for (;;) {
		unsigned n = 0;
		bool stopping, nobufs = false, again = false, need;
		double t = now_s();

		if (phase == P_WARM && t >= t_end)
			phase = P_DRAIN_WARM;
		else if (phase == P_MEASURE && t >= t_deadline)
			phase = P_DRAIN;
		stopping = phase == P_DRAIN_WARM || phase == P_DRAIN;

		while (!stopping && n < opt_batch) {
			unsigned idx = s->next_id % s->pool;
			ssize_t ret;

			if (s->busy[idx])
				break;
			ret = send(s->fd, s->bufs + (size_t)idx * s->stride, s->len,
				   MSG_ZEROCOPY | MSG_NOSIGNAL |
				   (s->m->lazy ? 0 : MSG_DONTWAIT));
			s->syscalls++;
			if (ret < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					/* the socket is full (non-blocking sends) */
					again = true;
					break;
				}
				if (errno == ENOBUFS) {
					s->msgzc_nobufs++;
					/* optmem is full of notifications */
					nobufs = true;
					break;
				}
				send_failed(s, -errno, "send(MSG_ZEROCOPY)");
				return;
			}
			s->ok_seen = true;
			/* buffer i carries the sends whose id is i modulo the pool */
			s->busy[idx] = 1;
			s->inflight++;
			s->next_id++;
			s->sends++;
			s->bytes += ret;
			if ((unsigned)ret < s->len)
				s->shorts++;
			n++;
		}

		if (stopping && !s->inflight) {
			if (phase == P_DRAIN)
				break;
			take_snapshot(s, &a);
			t_deadline = a.t + opt_time;
			phase = P_MEASURE;
			continue;
		}

		need = stopping || nobufs || again || s->busy[s->next_id % s->pool];
		if (s->m->lazy) {
			/*
			 * The old way (msg_zerocopy_lazy): blocking sends, and
			 * notifications read only when a buffer is needed.
			 */
			if (!need)
				continue;
			if (read_errqueue(s) == 0 && !s->failed) {
				struct pollfd pfd = { .fd = s->fd, .events = POLLERR };

				s->msgzc_waits++;
				poll(&pfd, 1, 1000);
				s->syscalls++;
				read_errqueue(s);
			}
		} else {
			/*
			 * Like the ring modes reap their CQEs after every
			 * submission: the error queue is read after every batch,
			 * and a sender that can do nothing else waits in poll()
			 * for a notification or room in the socket, never inside
			 * a blocking send(), where every notification would wake
			 * it only to sleep again.
			 */
			if (read_errqueue(s) == 0 && need && !s->failed) {
				struct pollfd pfd = {
					.fd = s->fd,
					.events = again && !nobufs && !stopping &&
						  !s->busy[s->next_id % s->pool] ? POLLOUT : 0,
				};

				s->msgzc_waits++;
				poll(&pfd, 1, 1000);
				s->syscalls++;
				read_errqueue(s);
			}
		}
		if (s->failed)
			return;
	}
	take_snapshot(s, &b);
	fill_result(s, &a, &b, t_deadline);
}

static void __attribute__((noreturn)) sender(const struct row *row, int fd, int resfd)
{
	struct result res = { .status = S_OK };
	struct sender s = {
		.row = row, .m = &row->mode, .res = &res, .fd = fd,
		.len = row->len, .pool = opt_pool,
	};
	size_t total;

	pin(opt_cpu_tx);
	if (s.m->kind == K_GROUP && s.pool < 2 * s.m->group)
		s.pool = 2 * s.m->group;
	s.stride = (s.len + 4095) & ~(size_t)4095;
	total = s.stride * s.pool;
	s.bufs = mmap(NULL, total, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	s.freel = calloc(s.pool, sizeof(*s.freel));
	if (s.bufs == MAP_FAILED || !s.freel) {
		set_status(&s, S_ERROR, "cannot allocate %zu bytes of buffers", total);
	} else {
		for (size_t i = 0; i < total; i++)
			s.bufs[i] = 'a' + i % 26;
		for (unsigned i = 0; i < s.pool; i++)
			s.freel[i] = s.pool - 1 - i;
		s.nfree = s.pool;
		if (s.m->kind == K_MSGZC)
			msgzc_sender(&s);
		else
			ring_sender(&s);
		/*
		 * The device's TX counter is read once this is done: a copy
		 * CQE comes when the data is queued, not sent, so wait (up to
		 * 5 s, after the measurement) until the socket has nothing
		 * left to send or to be acknowledged.
		 */
		if (copy_free(row->transport)) {
			for (int i = 0, q = 1; i < 500 && q > 0; i++) {
				if (ioctl(fd, SIOCOUTQ, &q) || q <= 0)
					break;
				usleep(10000);
			}
		}
	}
	if (write(resfd, &res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* one run of one row */

/* /sys/class/net/DEV/statistics/tx_bytes, or -1 */
static int64_t dev_tx_bytes(const char *dev)
{
	char path[128];
	unsigned long long v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_bytes", dev);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	return n == 1 ? (int64_t)v : -1;
}

/*
 * The checks of a copy-free row (see the top of the file): nothing reported
 * as copied, something checked (combine cannot be), and the device sent at
 * least the payload.
 */
static void check_copy_free(const struct row *row, struct result *res)
{
	const struct mode *m = &row->mode;

	if (res->status != S_OK || !copy_free(row->transport))
		return;
	if (res->zc_copied) {
		res->status = S_ERROR;
		snprintf(res->msg, sizeof(res->msg), "copy check: %" PRIu64 " of %" PRIu64
			 " checked sends reported as copied", res->zc_copied, res->zc_checked);
	} else if (!res->zc_checked && m->kind != K_COPY && m->kind != K_COMBINE) {
		res->status = S_ERROR;
		snprintf(res->msg, sizeof(res->msg), "copy check: no notification checked");
	} else if (res->dev_tx_bytes < 0 || (uint64_t)res->dev_tx_bytes < res->total_bytes) {
		res->status = S_ERROR;
		snprintf(res->msg, sizeof(res->msg), "TX counter: %s sent %" PRId64
			 " bytes, the payload was %" PRIu64, tx_dev(row->transport),
			 res->dev_tx_bytes, res->total_bytes);
	}
}

static void run_row(const struct row *row, const char *veth_err,
		    const char *wire_err, const char *dummy_err, struct result *res)
{
	int txfd, rxfd, pfd[2], ret;
	const char *why, *dev = tx_dev(row->transport);
	pid_t rpid = 0, spid;
	struct pollfd pl;
	double limit;
	int64_t tx0 = -1;

	memset(res, 0, sizeof(*res));
	res->status = S_ERROR;
	res->dev_tx_bytes = -1;
	why = row->transport == T_VETH ? veth_err : is_wire(row->transport) ? wire_err :
	      row->transport == T_DUMMY ? dummy_err : NULL;
	if (why) {
		snprintf(res->msg, sizeof(res->msg), "%s", why);
		return;
	}
	ret = make_pair(row, &txfd, &rxfd, &why);
	if (ret) {
		snprintf(res->msg, sizeof(res->msg), "%s: %s", why, strerror(-ret));
		return;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(res->msg, sizeof(res->msg), "pipe: %s", strerror(errno));
		close(txfd);
		if (rxfd >= 0)
			close(rxfd);
		return;
	}
	if (dev)
		tx0 = dev_tx_bytes(dev);
	fflush(NULL);
	/* udp-dummy has no receiver */
	if (rxfd >= 0)
		rpid = fork();
	if (rpid == 0 && rxfd >= 0) {
		close(txfd);
		close(pfd[0]);
		close(pfd[1]);
		receiver(rxfd, is_udp(row->transport),
			 is_wire(row->transport) ? wire_ns_fd : -1);
	}
	spid = rpid < 0 ? -1 : fork();
	if (spid == 0) {
		if (rxfd >= 0)
			close(rxfd);
		close(pfd[0]);
		sender(row, txfd, pfd[1]);
	}
	close(txfd);
	if (rxfd >= 0)
		close(rxfd);
	close(pfd[1]);
	if (rpid < 0 || spid < 0) {
		snprintf(res->msg, sizeof(res->msg), "fork: %s", strerror(errno));
		goto out;
	}

	limit = opt_warmup + opt_time + 60;
	pl.fd = pfd[0];
	pl.events = POLLIN;
	for (;;) {
		ret = poll(&pl, 1, (int)(limit * 1000));
		if (ret < 0 && errno == EINTR)
			continue;
		break;
	}
	if (ret == 0) {
		snprintf(res->msg, sizeof(res->msg), "timeout: no result after %.0f s", limit);
	} else if (read(pfd[0], res, sizeof(*res)) != sizeof(*res)) {
		memset(res, 0, sizeof(*res));
		res->status = S_ERROR;
		snprintf(res->msg, sizeof(res->msg), "sender died without a result");
	} else {
		int64_t tx1 = dev ? dev_tx_bytes(dev) : -1;

		res->dev_tx_bytes = tx0 >= 0 && tx1 >= 0 ? tx1 - tx0 : -1;
		check_copy_free(row, res);
	}
out:
	close(pfd[0]);
	if (spid > 0) {
		kill(spid, SIGKILL);
		waitpid(spid, NULL, 0);
	}
	if (rpid > 0) {
		kill(rpid, SIGKILL);
		waitpid(rpid, NULL, 0);
	}
}

/* ------------------------------------------------------------------ */
/* statistics and output */

static bool metrics_of(const struct result *r, struct metrics *m)
{
	double sends = r->sends, mb = r->bytes / 1e6;

	if (r->status != S_OK || !r->sends || r->secs <= 0)
		return false;
	m->req_s = sends / r->secs;
	m->mb_s = mb / r->secs;
	m->cqe = r->cqes / sends;
	m->enter = r->enters / sends;
	m->sys = r->syscalls / sends;
	m->nvcsw = r->nvcsw / sends;
	m->cpu_us_mb = mb > 0 ? r->cpu_us / mb : 0;
	m->all_cpu_us_mb = mb > 0 ? r->all_cpu_us / mb : 0;
	return true;
}

static double metric_get(const struct metrics *m, int i)
{
	const double v[NR_METRICS] = {
		m->req_s, m->mb_s, m->cqe, m->enter, m->sys, m->nvcsw, m->cpu_us_mb,
		m->all_cpu_us_mb,
	};
	return v[i];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void csv_clean(char *s)
{
	for (; *s; s++)
		if (*s == ',' || *s == '"' || *s == '\n')
			*s = ';';
}

static const char *fmt_num(char *buf, double v)
{
	if (v == 0)
		return "0";
	if (v >= 100)
		snprintf(buf, 32, "%.0f", v);
	else if (v >= 1)
		snprintf(buf, 32, "%.3f", v);
	else
		snprintf(buf, 32, "%.5f", v);
	return buf;
}

static void print_row_prefix(FILE *f, const char *kernel, const struct row *r)
{
	fprintf(f, "%s,%s,%s,%s,%u,%u", kernel, transport_names[r->transport],
		ring_names[r->ring], r->mode.name, r->size, r->len);
}

int main(int argc, char **argv)
{
	struct result *results;
	const char *veth_err = NULL, *wire_err = NULL, *dummy_err = NULL;
	struct utsname uts;
	FILE *out = stdout, *raw = NULL;
	bool need_veth = false, need_wire = false, need_dummy = false;
	char kernel[128];
	double t0 = now_s();
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	long ncpu;

	parse_args(argc, argv);
	main_pid = getpid();
	if (opt_kernel) {
		snprintf(kernel, sizeof(kernel), "%s", opt_kernel);
	} else {
		uname(&uts);
		snprintf(kernel, sizeof(kernel), "%s", uts.release);
	}
	csv_clean(kernel);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (opt_cpu_tx == -2) {
		opt_cpu_tx = ncpu >= 2 ? 0 : -1;
		opt_cpu_rx = ncpu >= 2 ? 1 : -1;
	}

	if (opt_list) {
		for (unsigned i = 0; i < nr_rows; i++) {
			print_row_prefix(stdout, kernel, &rows[i]);
			putchar('\n');
		}
		return 0;
	}

	/* registered buffers count against RLIMIT_MEMLOCK without CAP_IPC_LOCK */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < nr_rows; i++) {
		need_veth |= rows[i].transport == T_VETH;
		need_wire |= is_wire(rows[i].transport);
		need_dummy |= rows[i].transport == T_DUMMY;
	}
	if (need_wire) {
		if (netns_orig_fd < 0)
			netns_orig_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		wire_ns_fd = open(WIRE_NETNS, O_RDONLY | O_CLOEXEC);
		if (netns_orig_fd < 0)
			wire_err = "cannot open /proc/self/ns/net";
		else if (wire_ns_fd < 0 || access("/sys/class/net/" WIRE_TX_DEV, F_OK))
			wire_err = "no wire (" WIRE_NETNS " or " WIRE_TX_DEV
				   " missing: the zcg guests' zcg-wire sets it up)";
		if (wire_err)
			fprintf(stderr, "zcg-bench: wire rows will fail: %s\n", wire_err);
	}
	if (need_dummy && access("/sys/class/net/" DUMMY_DEV, F_OK)) {
		dummy_err = "no dummy device " DUMMY_DEV " (the zcg guests' zcg-wire sets it up)";
		fprintf(stderr, "zcg-bench: udp-dummy rows will fail: %s\n", dummy_err);
	}
	if (need_veth) {
		atexit(netns_cleanup);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		veth_err = netns_setup();
		if (veth_err)
			fprintf(stderr, "zcg-bench: veth rows will fail: %s\n", veth_err);
	}
	if (opt_out && !(out = fopen(opt_out, "w")))
		die("cannot write %s: %s", opt_out, strerror(errno));
	if (opt_raw) {
		if (!(raw = fopen(opt_raw, "w")))
			die("cannot write %s: %s", opt_raw, strerror(errno));
		fprintf(raw, "kernel,transport,ring,mode,size,msg_bytes,round,status,fixed,"
			"secs,drain_secs,sends,bytes,cqes,enters,syscalls,shorts,nvcsw,"
			"nivcsw,cpu_us,all_cpu_us,total_bytes,zc_checked,zc_copied,"
			"dev_tx_bytes,msgzc_waits,msgzc_nobufs,note\n");
	}
	results = calloc((size_t)nr_rows * opt_rounds, sizeof(*results));
	if (!results)
		die("out of memory");

	if (!opt_quiet) {
		char sockbuf[32] = "autotuned";

		if (opt_sockbuf)
			snprintf(sockbuf, sizeof(sockbuf), "%u B", opt_sockbuf);
		fprintf(stderr, "zcg-bench: kernel %s, %u rows x %u rounds, %.2f s + %.2f s "
			"warm-up each, batch %u, pool %u, cpus %d,%d, tcp buffers %s\n",
			kernel, nr_rows, opt_rounds, opt_time, opt_warmup, opt_batch,
			opt_pool, opt_cpu_tx, opt_cpu_rx, sockbuf);
	}

	for (unsigned round = 0; round < opt_rounds; round++) {
		/* odd rounds run the rows backwards: slow drift of the machine
		 * then biases no row against its neighbours */
		bool back = (round % 2) ^ opt_reverse;

		for (unsigned k = 0; k < nr_rows; k++) {
			unsigned i = back ? nr_rows - 1 - k : k;
			struct result *r = &results[(size_t)i * opt_rounds + round];
			const struct row *row = &rows[i];
			struct metrics m;

			run_row(row, veth_err, wire_err, dummy_err, r);
			csv_clean(r->msg);
			if (raw) {
				print_row_prefix(raw, kernel, row);
				fprintf(raw, ",%u,%s,%d,%.6f,%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
					",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
					",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
					",%" PRId64 ",%" PRIu64 ",%" PRIu64 ",%s\n", round + 1,
					status_names[r->status], r->fixed, r->secs, r->drain_secs,
					r->sends, r->bytes, r->cqes, r->enters, r->syscalls, r->shorts,
					r->nvcsw, r->nivcsw, r->cpu_us, r->all_cpu_us, r->total_bytes,
					r->zc_checked, r->zc_copied, r->dev_tx_bytes,
					r->msgzc_waits, r->msgzc_nobufs, r->msg);
				fflush(raw);
			}
			if (opt_quiet)
				continue;
			fprintf(stderr, "zcg-bench: [%u/%u %3u/%u %4.0fs] %s %s %s %u: ",
				round + 1, opt_rounds, k + 1, nr_rows, now_s() - t0,
				transport_names[row->transport], ring_names[row->ring],
				row->mode.name, row->size);
			if (metrics_of(r, &m))
				fprintf(stderr, "%.0f req/s, %.3f CQE/send, %.3f enter/send, "
					"%.4f wake-ups/send, %.0f us/MB, copied %" PRIu64 "/%" PRIu64
					"\n", m.req_s, m.cqe, m.enter, m.nvcsw, m.cpu_us_mb,
					r->zc_copied, r->zc_checked);
			else
				fprintf(stderr, "%s: %s\n", status_names[r->status], r->msg);
		}
	}

	fprintf(out, "kernel,transport,ring,mode,size,msg_bytes,fixed,status,rounds_ok");
	for (int k = 0; k < NR_METRICS; k++)
		fprintf(out, ",%s,%s_min,%s_max", metric_names[k], metric_names[k],
			metric_names[k]);
	fprintf(out, ",note\n");
	for (unsigned i = 0; i < nr_rows; i++) {
		struct result *rr = &results[(size_t)i * opt_rounds];
		double vals[NR_METRICS][100];
		unsigned nok = 0, nunsup = 0, fixed = 0;
		const char *status = "ok", *note = "";

		for (unsigned k = 0; k < opt_rounds; k++) {
			struct metrics m;

			if (metrics_of(&rr[k], &m)) {
				for (int j = 0; j < NR_METRICS; j++)
					vals[j][nok] = metric_get(&m, j);
				nok++;
				fixed |= rr[k].fixed;
			} else if (rr[k].status == S_UNSUPPORTED) {
				nunsup++;
				note = rr[k].msg;
			} else {
				note = rr[k].msg[0] ? rr[k].msg : "no sends";
			}
		}
		if (nunsup && !nok)
			status = "unsupported";
		else if (nok < opt_rounds)
			status = "error";
		print_row_prefix(out, kernel, &rows[i]);
		fprintf(out, ",%u,%s,%u", fixed, status, nok);
		for (int j = 0; j < NR_METRICS; j++) {
			char b1[32], b2[32], b3[32];
			double med;

			if (!nok) {
				fprintf(out, ",,,");
				continue;
			}
			qsort(vals[j], nok, sizeof(double), cmp_double);
			med = nok % 2 ? vals[j][nok / 2] :
			      (vals[j][nok / 2 - 1] + vals[j][nok / 2]) / 2;
			fprintf(out, ",%s,%s,%s", fmt_num(b1, med), fmt_num(b2, vals[j][0]),
				fmt_num(b3, vals[j][nok - 1]));
		}
		fprintf(out, ",%s\n", note);
	}
	if (out != stdout)
		fclose(out);
	else
		fflush(out);
	if (raw)
		fclose(raw);
	if (!opt_quiet)
		fprintf(stderr, "zcg-bench: done in %.0f s\n", now_s() - t0);
	return 0;
}
