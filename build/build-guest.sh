#!/usr/bin/env bash
# Builds the lab's guest into build/out (or $FARFETCHD_LAB_OUT), in three cached stages:
#   kernel  Debian's linux-source-6.12 + kernel-module/patch + build/kernel.config
#   rootfs  debootstrap --variant=minbase bookworm + build/guest-packages.txt, trimmed
#   image   rootfs + kernel headers and module build kit + reference modules, tools,
#           targets and init  ->  ext4  ->  qcow2, next to the bzImage
# Each stage's output folder is named by a hash of its inputs, so an unchanged input set is
# never rebuilt. The finished image is build/out/image (a symlink to image-<hash>).
#
# Usage: build/build-guest.sh [--rebuild] [--print-key]
#   --rebuild    ignore the cached stages and build all three again
#   --print-key  print the image's input hash and exit (nothing is built)
# Needs root (debootstrap, file ownership in the image) and the apt packages listed in
# build/host-packages.txt.
# The whole script is one braced block: bash reads it completely before running any of it, so
# editing this file while a build runs cannot change what that build does.
{
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${FARFETCHD_LAB_OUT:-$repo/build/out}
rebuild=0
print_key=0
for arg in "$@"; do
	case $arg in
	--rebuild) rebuild=1 ;;
	--print-key) print_key=1 ;;
	*) echo "build-guest.sh: unknown argument '$arg' (use --rebuild or --print-key)" >&2; exit 2 ;;
	esac
done

suite=bookworm
mirror=${FARFETCHD_LAB_MIRROR:-http://deb.debian.org/debian}
ksrc_tar=/usr/src/linux-source-6.12.tar.xz
jobs=$(nproc)

started=$(date +%s.%N)
log() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $started" | bc)" "$*"; }
die() { echo "build-guest.sh: $*" >&2; exit 1; }

# Hash of the named files' contents and of extra strings, stable across machines. Host-side
# tests (*.ts) are not part of the guest, so they do not count.
hash_inputs() {
	local f
	{
		for f in "$@"; do
			if [ -d "$repo/$f" ]; then
				(cd "$repo" && find "$f" -type f ! -name '*.o' ! -name '*.ko' ! -name '*.cmd' \
					! -name '*.mod*' ! -name 'modules.order' ! -name 'Module.symvers' ! -name '*.ts' \
					! -name '.kbuild-started*' \
					! -path '*/bin/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
			elif [ -f "$repo/$f" ]; then
				(cd "$repo" && sha256sum "$f")
			else
				echo "literal $f"
			fi
		done
	} | sha256sum | cut -c1-16
}

command -v dpkg-query >/dev/null || die "dpkg-query not found: the image is built on Debian"
ksrc_version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed: apt-get install linux-source-6.12 (see build/host-packages.txt)"

kernel_key=$(hash_inputs "linux-source-6.12=$ksrc_version" build/kernel.config \
	kernel-module/patch/farfetch.patch "kernel-stage-v1")
# The tests' debug kernel (KASAN, lockdep, DEBUG_VM ...): the same tree and fragment plus
# build/kernel-debug.config, so any change to the main kernel's inputs rebuilds it too.
debug_kernel_key=$(hash_inputs "$kernel_key" build/kernel-debug.config "kernel-debug-stage-v1")
rootfs_key=$(hash_inputs "$suite" build/guest-packages.txt "rootfs-stage-v1")
image_key=$(hash_inputs "$kernel_key" "$debug_kernel_key" "$rootfs_key" build/build-guest.sh \
	build/guest kernel-module targets)

if [ "$print_key" = 1 ]; then
	echo "$image_key"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "building the guest image needs root (debootstrap, file ownership): run it with sudo"

mkdir -p "$out"
kernel_dir=$out/kernel-$kernel_key
debug_kernel_dir=$out/kernel-debug-$debug_kernel_key
rootfs_dir=$out/rootfs-$rootfs_key
image_dir=$out/image-$image_key
if [ "$rebuild" = 1 ]; then
	rm -rf "$kernel_dir" "$debug_kernel_dir" "$rootfs_dir" "$rootfs_dir.build-seconds" "$image_dir"
fi

# ---------------------------------------------------------------- kernel
# ccache's hits so far in $CCACHE_DIR; nothing from a ccache without --print-stats (before 4.7).
ccache_hits() {
	ccache --print-stats 2>/dev/null |
		awk '$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { n += $2; seen = 1 }
			END { if (seen) print n }'
}

# recorded FILE: a stage's recorded number for the manifest, or null when it has none.
recorded() {
	local n
	n=$(cat "$1" 2>/dev/null || true)
	if [[ $n =~ ^[0-9]+$ ]]; then echo "$n"; else echo null; fi
}

# build_kernel NAME DIR FRAGMENT...: Debian's tree + our patch, `make tinyconfig`, then each
# fragment merged in order (a later one wins for the same option), built into DIR.
build_kernel() {
	local name=$1 dir=$2 work=$out/work-$1 src obj t0 frag
	shift 2
	src=$work/linux-source-6.12
	obj=$work/obj
	t0=$(date +%s)
	log "$name: extracting $ksrc_tar ($ksrc_version)"
	rm -rf "$src" "$dir.tmp"
	mkdir -p "$work" "$obj"
	tar -C "$work" -xJf "$ksrc_tar"
	log "$name: applying kernel-module/patch/farfetch.patch"
	(cd "$src" && patch -p1 --quiet <"$repo/kernel-module/patch/farfetch.patch")
	log "$name: configuring (tinyconfig + $*)"
	make -s -C "$src" O="$obj" tinyconfig >/dev/null
	for frag in "$@"; do
		"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
			"$repo/$frag" >/dev/null
	done
	make -s -C "$src" O="$obj" olddefconfig >/dev/null
	# Every option the fragments set (the last one's value, if several set it) must have
	# survived olddefconfig, or the kernel lacks it.
	local line missing=0
	while IFS= read -r line; do
		grep -qxF "$line" "$obj/.config" || { echo "  not set: $line" >&2; missing=1; }
	done < <(cat "${@/#/$repo/}" | sed -n 's/^\(# \)\{0,1\}\(CONFIG_[A-Za-z0-9_]*\)[= ].*/\2 &/p' |
		awk '{ last[$1] = substr($0, length($1) + 2); if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
			END { for (i = 0; i < n; i++) print last[order[i]] }')
	[ "$missing" = 0 ] || die "kernel config fragments did not apply (see above)"
	local cc=gcc hits0=
	if command -v ccache >/dev/null; then
		export CCACHE_DIR=$out/ccache
		cc="ccache gcc"
		hits0=$(ccache_hits || true)
	fi
	log "$name: make -j$jobs bzImage modules (a clean build takes a few minutes)"
	make -s -C "$src" O="$obj" CC="$cc" -j"$jobs" bzImage modules
	local release
	release=$(make -s -C "$src" O="$obj" kernelrelease)
	mkdir -p "$dir.tmp"
	cp "$obj/arch/x86/boot/bzImage" "$dir.tmp/bzImage"
	cp "$obj/.config" "$dir.tmp/config"
	log "$name: module build kit and uapi headers"
	make -s -C "$src" O="$obj" run-command \
		KBUILD_RUN_COMMAND="\$(srctree)/scripts/package/install-extmod-build $dir.tmp/kit"
	make -s -C "$src" O="$obj" headers_install INSTALL_HDR_PATH="$dir.tmp/headers"
	cp "$src/scripts/checkpatch.pl" "$src/scripts/spelling.txt" \
		"$src/scripts/const_structs.checkpatch" "$dir.tmp/"
	echo "$release" >"$dir.tmp/release"
	echo "$(($(date +%s) - t0))" >"$dir.tmp/build-seconds"
	# How much of the build ccache answered: a figure of a clean build is one with none.
	local hits1
	hits1=$(ccache_hits || true)
	if [ -n "$hits0" ] && [ -n "$hits1" ]; then echo "$((hits1 - hits0))" >"$dir.tmp/ccache-hits"; fi
	mv "$dir.tmp" "$dir"
	rm -rf "$src"
	log "$name: built $release in $(($(date +%s) - t0)) s"
}

# ---------------------------------------------------------------- rootfs
build_rootfs() {
	local t0 pkgs
	t0=$(date +%s)
	command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
	pkgs=$(grep -v '^#' "$repo/build/guest-packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
	rm -rf "$rootfs_dir.tmp"
	log "rootfs: debootstrap --variant=minbase $suite ($pkgs)"
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$rootfs_dir.tmp" "$mirror" \
		>"$out/debootstrap.log" 2>&1 || {
		tail -20 "$out/debootstrap.log" >&2
		die "debootstrap failed (full log: $out/debootstrap.log)"
	}
	log "rootfs: trimming docs, man pages, locales, apt caches"
	rm -rf "$rootfs_dir.tmp"/usr/share/{doc,man,info,locale,lintian,linda} \
		"$rootfs_dir.tmp"/var/cache/apt/* "$rootfs_dir.tmp"/var/lib/apt/lists/* \
		"$rootfs_dir.tmp"/var/cache/debconf/*-old "$rootfs_dir.tmp"/var/log/*
	mkdir -p "$rootfs_dir.tmp"/usr/share/{doc,man,locale}
	# Beside the tree, not in it (everything in it goes into the guest), and before the tree is
	# in place: a rootfs that is there always has its time.
	echo "$(($(date +%s) - t0))" >"$rootfs_dir.build-seconds"
	mv "$rootfs_dir.tmp" "$rootfs_dir"
	log "rootfs: built in $(($(date +%s) - t0)) s ($(du -sh "$rootfs_dir" | cut -f1))"
}

# ---------------------------------------------------------------- image
# install_kernel_modules KERNEL_DIR STAGE: what a kernel's release needs in the rootfs — the
# module build kit at /lib/modules/<release>/build, the reference modules (built on the host
# against that kit) in .../extra, and the suite's fixture modules in
# /usr/local/libexec/farfetch/modules/<release>. Both kernels' trees live side by side; the
# release strings (-farfetch, -farfetch-debug) keep them apart.
install_kernel_modules() {
	local kdir=$1 stage=$2 release mods fixtures m hooks=$repo/kernel-module/tests/hooks
	release=$(cat "$kdir/release")
	mods=$stage/lib/modules/$release
	log "image: $release: module build kit, reference and fixture modules"
	mkdir -p "$mods/extra"
	cp -a "$kdir/kit" "$mods/build"
	# try-run remembers its answers (build/guest/kbuild-try-run-cache.mk); recorded in build_image.
	sed -i 's/^try-run = \$(shell set -e;/lab-try-run-uncached = $(shell set -e;/' \
		"$mods/build/scripts/Makefile.compiler"
	grep -q '^lab-try-run-uncached = ' "$mods/build/scripts/Makefile.compiler" ||
		die "the kit's scripts/Makefile.compiler has no try-run to wrap"
	cat "$repo/build/guest/kbuild-try-run-cache.mk" >>"$mods/build/scripts/Makefile.compiler"
	for m in farfetch_p1 farfetch_p2 farfetch_p3 lab_introspect; do
		make -s -C "$repo/kernel-module/$m" KDIR="$kdir/kit" clean >/dev/null
		make -s -C "$repo/kernel-module/$m" KDIR="$kdir/kit" >/dev/null ||
			die "module $m failed to build against $release"
		cp "$repo/kernel-module/$m/$m.ko" "$mods/extra/"
		make -s -C "$repo/kernel-module/$m" KDIR="$kdir/kit" clean >/dev/null
	done
	# depmod wants the lists a full `make modules_install` writes; this kernel has no
	# loadable in-tree modules, so they are empty.
	touch "$mods/modules.order" "$mods/modules.builtin" "$mods/modules.builtin.modinfo"
	depmod -b "$stage" "$release"
	# Handout-style hook modules the suite loads itself (out-of-order unloads): fixtures, so
	# beside the suite rather than in /lib/modules.
	fixtures=$stage/usr/local/libexec/farfetch/modules/$release
	make -s -C "$hooks" KDIR="$kdir/kit" clean >/dev/null
	make -s -C "$hooks" KDIR="$kdir/kit" >/dev/null ||
		die "the suite's hook modules failed to build against $release"
	install -D -m 0644 -t "$fixtures" "$hooks/handout_hook_a.ko" "$hooks/handout_hook_b.ko"
	make -s -C "$hooks" KDIR="$kdir/kit" clean >/dev/null
}

build_image() {
	local t0 stage release kit mods tmp
	t0=$(date +%s)
	release=$(cat "$kernel_dir/release")
	tmp=$image_dir.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	stage=$tmp/root
	log "image: copying the rootfs"
	cp -a "$rootfs_dir" "$stage"

	log "image: kernel uapi headers to /usr/include (linux/farfetch.h, __NR_farfetch)"
	cp -a "$kernel_dir/headers/include/." "$stage/usr/include/"
	# Debian's multiarch asm/ comes first in gcc's search path: ours must be there too, or
	# <asm/unistd.h> has no __NR_farfetch.
	cp -a "$kernel_dir/headers/include/asm/." "$stage/usr/include/x86_64-linux-gnu/asm/"

	install_kernel_modules "$kernel_dir" "$stage"
	install_kernel_modules "$debug_kernel_dir" "$stage"
	local m
	mkdir -p "$stage/usr/src/farfetch"
	for m in farfetch_p1 farfetch_p2 farfetch_p3 lab_introspect; do
		cp -a "$repo/kernel-module/$m" "$stage/usr/src/farfetch/"
	done
	cp -a "$repo/kernel-module/common" "$stage/usr/src/farfetch/"
	local r
	for r in "$release" "$(cat "$debug_kernel_dir/release")"; do
		log "image: $r: the kit's start-up answers (getconf, uname -m, gcc --version), from the image"
		install -m 0755 "$repo/build/guest/kbuild-shell-answers.sh" "$stage/tmp/kbuild-shell-answers.sh"
		chroot "$stage" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			LANG=C.UTF-8 /bin/sh /tmp/kbuild-shell-answers.sh "/lib/modules/$r/build" ||
			die "recording the start-up answers of $r's kit failed"
		rm -f "$stage/tmp/kbuild-shell-answers.sh"
		log "image: $r: the kit's try-run answers, from one build with the image's own compiler"
		rm -rf "$stage/tmp/lab-try-run"
		cp -a "$stage/usr/src/farfetch" "$stage/tmp/lab-try-run"
		chroot "$stage" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 LAB_TRY_RUN_RECORD=1 \
			make -s -C /tmp/lab-try-run/farfetch_p3 KDIR="/lib/modules/$r/build" >/dev/null ||
			die "recording the try-run answers of $r's kit failed"
		rm -rf "$stage/tmp/lab-try-run"
		[ -s "$stage/lib/modules/$r/build/.lab-try-run-cache.mk" ] ||
			die "no try-run answers were recorded for $r"
	done

	log "image: tools and targets"
	make -s -C "$repo/targets" clean >/dev/null
	make -s -C "$repo/targets" CFLAGS_EXTRA="-I$kernel_dir/headers/include" >/dev/null
	make -s -C "$repo/targets" DESTDIR="$stage" PREFIX=/usr/local install >/dev/null
	make -s -C "$repo/targets" clean >/dev/null
	cp -a "$repo/targets" "$stage/usr/src/farfetch/"
	rm -rf "$stage/usr/src/farfetch/targets/bin"

	log "image: the in-guest test suite (/usr/local/libexec/farfetch)"
	make -s -C "$repo/kernel-module/tests" clean >/dev/null
	make -s -C "$repo/kernel-module/bench" clean >/dev/null
	make -s -C "$repo/kernel-module/bench" >/dev/null
	install -D -m 0755 "$repo/kernel-module/bench/bin/farfetch_bench" \
		"$stage/usr/local/libexec/farfetch/farfetch_bench"
	make -s -C "$repo/kernel-module/bench" clean >/dev/null
	make -s -C "$repo/kernel-module/tests" CFLAGS_EXTRA="-I$kernel_dir/headers/include" >/dev/null
	install -D -m 0755 "$repo/kernel-module/tests/bin/farfetch_tests" \
		"$stage/usr/local/libexec/farfetch/farfetch_tests"
	make -s -C "$repo/kernel-module/tests" clean >/dev/null
	make -s -C "$repo/kernel-module/tests/fuzz" clean >/dev/null
	make -s -C "$repo/kernel-module/tests/fuzz" CFLAGS_EXTRA="-I$kernel_dir/headers/include" >/dev/null
	install -D -m 0755 "$repo/kernel-module/tests/fuzz/bin/farfetch_fuzz" \
		"$stage/usr/local/libexec/farfetch/farfetch_fuzz"
	make -s -C "$repo/kernel-module/tests/fuzz" clean >/dev/null

	log "image: init, profile, lab commands"
	install -m 0755 "$repo/build/guest/lab-init" "$stage/sbin/lab-init"
	install -m 0755 "$repo/build/guest/lab-ptwalk" "$stage/usr/local/bin/lab-ptwalk"
	# minbase has no init package, hence no poweroff, reboot or halt: ours (build/guest/lab-power.c).
	gcc -O2 -Wall -Wextra -Werror -o "$tmp/lab-power" "$repo/build/guest/lab-power.c"
	install -m 0755 "$tmp/lab-power" "$stage/usr/sbin/poweroff"
	ln -f "$stage/usr/sbin/poweroff" "$stage/usr/sbin/reboot"
	ln -f "$stage/usr/sbin/poweroff" "$stage/usr/sbin/halt"
	rm "$tmp/lab-power"
	# The clock, the workspace mount and the console size in one static program run (the host's
	# first command in a machine restored from a snapshot: build/guest/lab-settle.c says why).
	gcc -O2 -static -Wall -Wextra -Werror -o "$tmp/lab-settle" "$repo/build/guest/lab-settle.c"
	install -D -m 0755 "$tmp/lab-settle" "$stage/usr/local/sbin/lab-settle"
	rm "$tmp/lab-settle"
	install -m 0644 "$repo/build/guest/profile.sh" "$stage/etc/profile.d/farfetchd-lab.sh"
	echo farfetchd-lab >"$stage/etc/hostname"
	printf '127.0.0.1 localhost farfetchd-lab\n' >"$stage/etc/hosts"
	# lab-init mounts all of these with one `mount -a` (each program it starts costs a cold boot
	# tens of milliseconds under TCG); the kernel has mounted / and /dev already.
	cat >"$stage/etc/fstab" <<-'EOF'
		/dev/vda / ext4 rw 0 1
		proc /proc proc defaults 0 0
		sysfs /sys sysfs defaults 0 0
		devtmpfs /dev devtmpfs defaults 0 0
		devpts /dev/pts devpts gid=5,mode=620,ptmxmode=666,X-mount.mkdir 0 0
		tmpfs /dev/shm tmpfs mode=1777,X-mount.mkdir 0 0
		tmpfs /tmp tmpfs mode=1777 0 0
		tmpfs /run tmpfs mode=755 0 0
		debugfs /sys/kernel/debug debugfs defaults 0 0
		tracefs /sys/kernel/tracing tracefs defaults 0 0
	EOF
	# The login shell's start-up runs two programs of its own, `id -u` (Debian's /etc/profile)
	# and `mesg n` (root's ~/.profile: no other user writes to this console anyway): bash knows
	# its uid ($EUID, which sh lacks, hence the fallback), and mesg goes.
	sed -i 's/"$(id -u)"/"${EUID:-$(id -u)}"/' "$stage/etc/profile"
	sed -i '/^mesg n/d' "$stage/root/.profile"
	grep -q 'EUID:-' "$stage/etc/profile" && ! grep -q '^mesg' "$stage/root/.profile" ||
		die "image: /etc/profile or /root/.profile is not what the image expects any more"
	# A student account for the non-root cases of the assignment (farfetch needs root).
	chroot "$stage" /usr/sbin/useradd -m -s /bin/bash -u 1000 student 2>/dev/null || true
	chroot "$stage" /usr/bin/passwd -d root >/dev/null

	log "image: ext4 (mkfs.ext4 -d) and qcow2"
	mkfs.ext4 -q -F -L farfetchd-lab -d "$stage" "$tmp/rootfs.raw" 2G
	qemu-img convert -q -c -o compression_type=zstd -O qcow2 "$tmp/rootfs.raw" "$tmp/rootfs.qcow2"
	local raw_bytes raw_used qcow_bytes
	raw_bytes=$(stat -c %s "$tmp/rootfs.raw")
	raw_used=$(du -sb "$stage" | cut -f1)
	qcow_bytes=$(stat -c %s "$tmp/rootfs.qcow2")
	rm -rf "$stage" "$tmp/rootfs.raw"
	cp "$kernel_dir/bzImage" "$tmp/bzImage"
	cp "$debug_kernel_dir/bzImage" "$tmp/bzImage-debug"
	cat >"$tmp/manifest.json" <<-EOF
		{
		  "key": "$image_key",
		  "kernelKey": "$kernel_key",
		  "rootfsKey": "$rootfs_key",
		  "kernelRelease": "$release",
		  "kernel": "bzImage",
		  "debugKernelKey": "$debug_kernel_key",
		  "debugKernelRelease": "$(cat "$debug_kernel_dir/release")",
		  "debugKernel": "bzImage-debug",
		  "disk": "rootfs.qcow2",
		  "diskVirtualBytes": $raw_bytes,
		  "rootfsBytes": $raw_used,
		  "qcow2Bytes": $qcow_bytes,
		  "buildSeconds": {
		    "kernel": $(recorded "$kernel_dir/build-seconds"),
		    "kernelDebug": $(recorded "$debug_kernel_dir/build-seconds"),
		    "rootfs": $(recorded "$rootfs_dir.build-seconds"),
		    "image": $(($(date +%s) - t0))
		  },
		  "kernelCcacheHits": {
		    "kernel": $(recorded "$kernel_dir/ccache-hits"),
		    "kernelDebug": $(recorded "$debug_kernel_dir/ccache-hits")
		  },
		  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		}
	EOF
	mv "$tmp" "$image_dir"
	log "image: built in $(($(date +%s) - t0)) s (rootfs $((raw_used / 1048576)) MiB, qcow2 $((qcow_bytes / 1048576)) MiB)"
}

if [ -f "$kernel_dir/bzImage" ]; then
	log "kernel: cached ($kernel_key)"
else
	build_kernel kernel "$kernel_dir" build/kernel.config
fi
if [ -f "$debug_kernel_dir/bzImage" ]; then
	log "kernel-debug: cached ($debug_kernel_key)"
else
	build_kernel kernel-debug "$debug_kernel_dir" build/kernel.config build/kernel-debug.config
fi
if [ -d "$rootfs_dir/usr/bin" ]; then log "rootfs: cached ($rootfs_key)"; else build_rootfs; fi
if [ -f "$image_dir/manifest.json" ]; then log "image: cached ($image_key)"; else build_image; fi
ln -sfn "image-$image_key" "$out/image"
# Only the newest of each stage is kept.
find "$out" -maxdepth 1 \( -name 'kernel-*' -o -name 'rootfs-*' -o -name 'image-*' \) \
	! -name "kernel-$kernel_key" ! -name "kernel-debug-$debug_kernel_key" \
	! -name "rootfs-$rootfs_key" ! -name "rootfs-$rootfs_key.build-seconds" ! -name "image-$image_key" \
	-exec rm -rf {} +
log "done: image $image_key at $out/image (kernel $(cat "$kernel_dir/release"))"
exit 0
}
