/* SPDX-License-Identifier: MIT */
/*
 * Checks the fork's feature test io_uring_check_zc_notif_groups(): as an
 * inline (C, and C++20 where IOURINGINLINE is plain inline) and, with
 * -DZCG_FFI_LIB=\"path\", as the liburing-ffi export under LIBURING_ZCG_1.
 * Exits 0 on success, prints what failed otherwise.
 */
#define _GNU_SOURCE	/* dlvsym() */
#include <stdio.h>
#include <string.h>
#include <liburing.h>
#ifdef ZCG_FFI_LIB
#include <dlfcn.h>
#endif

typedef bool (*check_fn)(const struct io_uring *);

static int try_fn(const char *what, check_fn fn)
{
	struct io_uring ring;
	int bad = 0;

	memset(&ring, 0, sizeof(ring));
	bad |= fn(&ring) != false;
	ring.features = IORING_FEAT_ZC_NOTIF_GROUPS;
	bad |= fn(&ring) != true;
	ring.features = ~(unsigned) IORING_FEAT_ZC_NOTIF_GROUPS;
	bad |= fn(&ring) != false;
	if (bad)
		printf("%s: wrong result\n", what);
	return bad;
}

static bool inline_check(const struct io_uring *ring)
{
	return io_uring_check_zc_notif_groups(ring);
}

int main(void)
{
	int bad = try_fn("inline", inline_check);
#ifdef ZCG_FFI_LIB
	void *h = dlopen(ZCG_FFI_LIB, RTLD_NOW | RTLD_LOCAL);
	void *sym = h ? dlvsym(h, "io_uring_check_zc_notif_groups",
			       "LIBURING_ZCG_1") : NULL;
	check_fn fn;

	if (!sym) {
		printf("ffi: %s\n", dlerror());
		return 1;
	}
	memcpy(&fn, &sym, sizeof(fn));
	bad |= try_fn("ffi", fn);
#endif
	return bad;
}
