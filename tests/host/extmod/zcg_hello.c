// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest out-of-tree module: tests/host/run.sh (kernel-devel:*) builds
 * it against the kernel-devel rpm and the linux-headers deb of the test
 * kernel, as a host with DKMS would.
 */
#include <linux/module.h>
#include <linux/init.h>

static int __init zcg_hello_init(void)
{
	pr_info("zcg_hello: loaded\n");
	return 0;
}

static void __exit zcg_hello_exit(void)
{
}

module_init(zcg_hello_init);
module_exit(zcg_hello_exit);
MODULE_DESCRIPTION("zcg out-of-tree module build check");
MODULE_LICENSE("GPL");
