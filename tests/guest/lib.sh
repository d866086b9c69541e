# shellcheck shell=bash
# Helpers shared by the guest image scripts.  Sourced, never executed.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

GUEST_DIR=$ZCG_TOP/tests/guest
# Where the guest init lives inside the image (kernel command line init=).
GUEST_INIT=/usr/local/sbin/zcg-init
# The guest's wire and dummy device (tests/guest/wire.sh), run by the init.
GUEST_WIRE=/usr/local/sbin/zcg-wire

now() { date +%s.%N; }
# since START: seconds elapsed since START (a now value), one decimal.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# guest_private_ns "$@": re-run the calling script in a private mount
# namespace, so whatever it mounts disappears when it exits, however it
# exits.  The EXIT trap below unmounts in order on the normal paths.
guest_private_ns() {
	[ -n "${ZCG_GUEST_NS:-}" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "building guest images needs root (chroot, mounts, file ownership)"
	exec unshare --mount --propagation private env ZCG_GUEST_NS=1 bash "$0" "$@"
}

GUEST_MOUNTS=()
# guest_mount ARGS... TARGET: mount and remember TARGET for guest_umount_all.
guest_mount() {
	mount "$@" || die "mount $* failed"
	GUEST_MOUNTS+=("${!#}")
}
guest_umount_all() {
	local i m
	for ((i = ${#GUEST_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${GUEST_MOUNTS[i]}
		mountpoint -q "$m" || continue
		umount "$m" 2>/dev/null || umount -l "$m" ||
			log "warning: cannot unmount $m"
	done
	GUEST_MOUNTS=()
}
# guest_chroot_mounts ROOT: /proc, /sys and /dev for package scripts.
guest_chroot_mounts() {
	guest_mount -t proc proc "$1/proc"
	guest_mount -t sysfs sysfs "$1/sys"
	guest_mount --bind /dev "$1/dev"
}

# guest_extract ROOT: fresh ROOT from the cached base tarball.
guest_extract() {
	local root=$1 tarball t
	tarball=$(bash "$GUEST_DIR/rootfs.sh")
	t=$(now)
	if [ -e "$root" ]; then
		# A stale mount from an earlier killed run would make rm walk
		# into the host's /proc or /dev; refuse instead.
		if awk -v r="$root/" 'index($5, r) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
			die "something is still mounted under $root"
		fi
		rm -rf "$root"
	fi
	mkdir -p "$root"
	tar --numeric-owner -xpf "$tarball" -C "$root"
	log "extracted $(basename "$tarball") in $(since "$t") s"
}

# guest_finish ROOT OUTDIR KREL KERNEL-IN-ROOT: add the init and zcg-wire, copy the
# installed kernel out (and its initramfs, if any, as OUTDIR/initrd.img),
# make OUTDIR/root.img from ROOT.  With
# ZCG_GUEST_LIBURING_TESTS=DIR (a built upstream liburing test directory)
# the image also gets DIR as /opt/liburing-upstream/test.
guest_finish() {
	local root=$1 out=$2 krel=$3 kernel=$4 t used size
	[ -f "$root$kernel" ] || die "the installed kernel $kernel is not in the image"
	install -D -m 0755 "$GUEST_DIR/init.sh" "$root$GUEST_INIT"
	install -D -m 0755 "$GUEST_DIR/wire.sh" "$root$GUEST_WIRE"
	install -D -m 0755 "$ZCG_TOP/tests/liburing/guest-run.sh" "$root/usr/local/sbin/zcg-liburing-run"
	# make test-liburing: upstream liburing's suite (tests/liburing/).
	if [ -n "${ZCG_GUEST_LIBURING_TESTS:-}" ]; then
		mkdir -p "$root/opt/liburing-upstream"
		cp -a "$ZCG_GUEST_LIBURING_TESTS" "$root/opt/liburing-upstream/test"
	fi
	echo zcg-guest > "$root/etc/hostname"
	# The init mounts all of this with one mount -a; X-mount.mkdir makes
	# the mount points.
	cat > "$root/etc/fstab" <<-'EOF'
	# zcg test guest (tests/guest/lib.sh); / is the kernel's root=.
	proc     /proc             proc     defaults                           0 0
	sysfs    /sys              sysfs    defaults                           0 0
	devtmpfs /dev              devtmpfs mode=0755                          0 0
	devpts   /dev/pts          devpts   X-mount.mkdir,gid=5,mode=620,ptmxmode=666 0 0
	tmpfs    /dev/shm          tmpfs    X-mount.mkdir,mode=1777            0 0
	tmpfs    /run              tmpfs    X-mount.mkdir,mode=0755            0 0
	tmpfs    /tmp              tmpfs    X-mount.mkdir,mode=1777            0 0
	debugfs  /sys/kernel/debug debugfs  defaults                           0 0
	cgroup2  /sys/fs/cgroup    cgroup2  nofail                             0 0
	EOF
	cp "$root$kernel" "$out/vmlinuz"
	rm -f "$out/initrd.img"
	if [ -f "$root/boot/initrd.img-$krel" ]; then
		cp "$root/boot/initrd.img-$krel" "$out/initrd.img"
	fi
	log "kernel to boot: $kernel from the image ($(du -h "$out/vmlinuz" | cut -f1))"
	echo "$krel" > "$out/kernelrelease"
	rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/var/tmp/*
	t=$(now)
	used=$(du -sm --apparent-size "$root" | cut -f1)
	# Room for what the tests write on disk (most use /tmp, a tmpfs).
	size=$((used + used / 4 + 1024))
	rm -f "$out/root.img"
	mkfs.ext4 -q -F -L zcg-root -d "$root" "$out/root.img" "${size}M" >&2 ||
		die "mkfs.ext4 failed"
	log "root.img: ${used} MiB of files in a ${size} MiB ext4 image, made in $(since "$t") s"
}
