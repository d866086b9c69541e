/* SPDX-License-Identifier: MIT */
/*
 * A program that imports one LIBURING_ZCG_1 symbol of liburing-ffi, as a
 * binary built from another language's bindings does (liburing.h would make
 * the helper inline). Never run: dpkg-shlibdeps reads its imports.
 */
#include <stddef.h>

struct io_uring_sqe;
void io_uring_sqe_set_zc_group(struct io_uring_sqe *sqe, unsigned int group,
			       _Bool flush);

int main(void)
{
	void (*volatile f)(struct io_uring_sqe *, unsigned int, _Bool) =
		io_uring_sqe_set_zc_group;

	return f == NULL;
}
