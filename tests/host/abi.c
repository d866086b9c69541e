/* SPDX-License-Identifier: MIT */
/*
 * Checks the zcg uapi of an io_uring.h (liburing's or the kernel's) against
 * DESIGN.md section 2. Build with -DZCG_UAPI_HEADER='<path or name>'.
 * Prints one "PASS name" or "FAIL name (...)" line per item; exits 1 on
 * any failure. A missing name fails the compilation instead.
 */
#include <stddef.h>
#include <stdio.h>
#include ZCG_UAPI_HEADER

static int failed;

static void check(const char *name, unsigned long long got,
		  unsigned long long want)
{
	if (got == want) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s (got %#llx, want %#llx)\n", name, got, want);
		failed = 1;
	}
}

#define OFF(field) offsetof(struct io_uring_sqe, field)
#define SZ(field) sizeof(((struct io_uring_sqe *)0)->field)

int main(void)
{
	/* The group id and its reserved pad. */
	check("sqe-size", sizeof(struct io_uring_sqe), 64);
	check("sqe-zc_group-offset", OFF(zc_group), 56);
	check("sqe-zc_group-size", SZ(zc_group), 4);
	check("sqe-__zc_group_pad-offset", OFF(__zc_group_pad), 60);
	check("sqe-__zc_group_pad-size", SZ(__zc_group_pad), 4);
	/* Upstream names in the same union keep their place. */
	check("sqe-addr3-offset", OFF(addr3), 48);
	check("sqe-__pad2-offset", OFF(__pad2), 56);
#ifdef IORING_RW_ATTR_FLAG_PI	/* attr_ptr came with it (Linux 6.13) */
	check("sqe-attr_ptr-offset", OFF(attr_ptr), 48);
	check("sqe-attr_type_mask-offset", OFF(attr_type_mask), 56);
#endif
	check("sqe-optval-offset", OFF(optval), 48);
	check("sqe-cmd-offset", OFF(cmd), 48);

	/* Flag values (sqe->ioprio) and the feature bit. */
	check("IORING_SEND_ZC_NOTIF_USER_DATA", IORING_SEND_ZC_NOTIF_USER_DATA, 1U << 6);
	check("IORING_SEND_ZC_COMBINE_CQE", IORING_SEND_ZC_COMBINE_CQE, 1U << 13);
	check("IORING_SEND_ZC_GROUP", IORING_SEND_ZC_GROUP, 1U << 14);
	check("IORING_SEND_ZC_GROUP_FLUSH", IORING_SEND_ZC_GROUP_FLUSH, 1U << 15);
	check("IORING_FEAT_ZC_NOTIF_GROUPS", IORING_FEAT_ZC_NOTIF_GROUPS, 1U << 31);

	/* Our bits never reuse an upstream send flag. */
	{
		unsigned long long up = IORING_RECVSEND_POLL_FIRST |
			IORING_RECV_MULTISHOT | IORING_RECVSEND_FIXED_BUF |
			IORING_SEND_ZC_REPORT_USAGE | IORING_RECVSEND_BUNDLE;
#ifdef IORING_SEND_VECTORIZED
		up |= IORING_SEND_VECTORIZED;
#endif
		check("zc-flags-disjoint-from-upstream",
		      up & (IORING_SEND_ZC_COMBINE_CQE | IORING_SEND_ZC_GROUP |
			    IORING_SEND_ZC_GROUP_FLUSH |
			    IORING_SEND_ZC_NOTIF_USER_DATA), 0);
	}
	return failed;
}
