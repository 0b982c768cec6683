#!/bin/bash
# build-images.sh OUTDIR [--force]
#
# Build three OCI image layouts from the Debian binaries installed on this machine:
#   OUTDIR/busybox  one layer: busybox-static + applet symlinks + /etc basics
#   OUTDIR/nginx    the same base layer blob + Debian's nginx, its config and libraries
#   OUTDIR/python   the same base layer blob + Debian's python3.11 (minimal stdlib) and libraries
# Each is an OCI image layout (oci-layout, index.json, blobs/sha256/..) tagged "latest".
#
# Deterministic: the same installed packages and the same script give the same digests
# (sorted tar, mtime 0, uid/gid 0, gzip -n). If OUTDIR holds images built from the same inputs
# (OUTDIR/.stamp) and they validate, nothing is rebuilt unless --force is given.
# Needs root for the chroot checks (nginx -t, python3 -c 'print(6*7)'); without root they are
# skipped with a warning.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3
CREATED=2024-01-01T00:00:00Z
IMG_PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SELF=$(readlink -f "${BASH_SOURCE[0]}")

die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }
log() { [[ -n ${QUIET:-} ]] || printf 'build-images: %s\n' "$*" >&2; }

usage() { echo "usage: $0 OUTDIR [--force] [--quiet]" >&2; exit 2; }

OUT='' FORCE='' QUIET=''
for a in "$@"; do
	case $a in
	--force) FORCE=1 ;;
	--quiet) QUIET=1 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [[ -z $OUT ]] || usage; OUT=$a ;;
	esac
done
[[ -n $OUT ]] || usage

for t in busybox tar gzip sha256sum ldd dpkg dpkg-query flock "$PY"; do
	command -v "$t" >/dev/null || die "'$t' not found"
done
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "'$BUSYBOX' not found (apt-get install busybox-static)"
# busybox-static must really be static: the base layer has no libc
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "'$BUSYBOX' is dynamically linked; need busybox-static"; fi
[[ -x /usr/sbin/nginx ]] || die "'/usr/sbin/nginx' not found (apt-get install nginx-light)"
[[ -x /usr/bin/python3.11 ]] || die "'/usr/bin/python3.11' not found (apt-get install python3.11-minimal)"

mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")

# One builder at a time per OUTDIR; readers (tests/lib.sh push_images) take it shared.
exec 9>"$OUT/.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# Validation of an OCI layout: every blob's sha256 is its name, index -> manifest -> config and
# layers present with the right sizes, and rootfs.diff_ids are the layers' uncompressed digests.
validate_layout() {
	"$PY" - "$1" <<'EOF'
import gzip, hashlib, json, os, sys
d = sys.argv[1]
def fail(msg):
    sys.exit("invalid layout %s: %s" % (d, msg))
def blob(desc):
    algo, hexd = desc["digest"].split(":", 1)
    if algo != "sha256":
        fail("unexpected algorithm %s" % algo)
    p = os.path.join(d, "blobs", "sha256", hexd)
    if not os.path.isfile(p):
        fail("missing blob %s" % desc["digest"])
    if os.path.getsize(p) != desc["size"]:
        fail("size mismatch for %s" % desc["digest"])
    return p
if json.load(open(os.path.join(d, "oci-layout"))) != {"imageLayoutVersion": "1.0.0"}:
    fail("bad oci-layout")
bdir = os.path.join(d, "blobs", "sha256")
for name in os.listdir(bdir):
    h = hashlib.sha256()
    with open(os.path.join(bdir, name), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != name:
        fail("blob %s has sha256 %s" % (name, h.hexdigest()))
idx = json.load(open(os.path.join(d, "index.json")))
if idx.get("schemaVersion") != 2:
    fail("index schemaVersion")
tags = [m for m in idx["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"]
if len(tags) != 1:
    fail("no single manifest tagged latest")
man = json.load(open(blob(tags[0])))
if man.get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
    fail("manifest mediaType")
cfg = json.load(open(blob(man["config"])))
diff_ids = []
for layer in man["layers"]:
    with gzip.open(blob(layer), "rb") as f:
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    diff_ids.append("sha256:" + h.hexdigest())
if cfg["rootfs"] != {"type": "layers", "diff_ids": diff_ids}:
    fail("rootfs.diff_ids do not match the layers")
if (cfg.get("architecture"), cfg.get("os")) != ("amd64", "linux"):
    fail("platform")
EOF
}

# ---------------------------------------------------------------------------------------------
# Inputs fingerprint: this script, the installed package versions, the config trees we copy.
stamp() {
	{
		sha256sum <"$SELF"
		dpkg-query -W -f '${Package} ${Version} ${Architecture}\n'
		find /etc/nginx /etc/python3.11 /usr/share/nginx -printf '%p %s %T@ %m %l\n' 2>/dev/null | sort
	} | sha256sum | cut -d' ' -f1
}
STAMP=$(stamp)
if [[ -z $FORCE && -f $OUT/.stamp && $(cat "$OUT/.stamp") == "$STAMP" ]]; then
	ok=1
	for n in busybox nginx python; do
		validate_layout "$OUT/$n" 2>/dev/null || { ok=; break; }
	done
	if [[ -n $ok ]]; then
		log "up to date in $OUT"
		exit 0
	fi
fi

WORK=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------
# add_path STAGE HOSTPATH: copy HOSTPATH into STAGE at the same path, recreating every symlink
# met on the way (usrmerge: /lib -> usr/lib, /lib64 -> usr/lib64, lib.so.1 -> lib.so.1.2.3) and
# then the file the chain ends at. Directories are created empty with the host's mode.
add_path() {
	local stage=$1 rest=${2#/} prefix='' comp cur target
	while [[ -n $rest ]]; do
		comp=${rest%%/*}
		if [[ $rest == */* ]]; then rest=${rest#*/}; else rest=; fi
		case $comp in
		'' | .) continue ;;
		..) prefix=${prefix%/*}; continue ;;
		esac
		cur=$prefix/$comp
		if [[ -L $cur ]]; then
			if [[ ! -L $stage$cur ]]; then
				[[ ! -e $stage$cur ]] || die "'$cur' is a symlink on the host but not in the stage"
				cp -P "$cur" "$stage$cur"
			fi
			target=$(readlink "$cur")
			[[ $target == /* ]] || target=$prefix/$target
			add_path "$stage" "$target${rest:+/$rest}"
			return
		elif [[ -d $cur ]]; then
			if [[ ! -d $stage$cur ]]; then
				mkdir "$stage$cur"
				chmod "$(stat -c %a "$cur")" "$stage$cur"
			fi
		elif [[ -f $cur ]]; then
			[[ -z $rest ]] || die "'$cur' is not a directory"
			[[ -e $stage$cur ]] || cp --preserve=mode "$cur" "$stage$cur"
		else
			die "'$cur' missing or not a regular file, directory or symlink"
		fi
		prefix=$cur
	done
}

# add_libs STAGE ELF...: add every shared library the ELF files need, and the dynamic loader
add_libs() {
	local stage=$1 lib
	shift
	for lib in $(ldd "$@" 2>/dev/null |
		sed -n -e 's/^.*=> \(\/[^ ]*\) (0x.*$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*$/\1/p' |
		sort -u); do
		add_path "$stage" "$lib"
	done
}

# pkg_files PKG...: the package's paths, without docs, manuals and other non-runtime files
pkg_files() {
	dpkg -L "$@" | grep -v -E '^/\.$|^/usr/share/(doc|man|lintian|binfmts|apport|vim)(/|$)|^/usr/lib/binfmt\.d(/|$)'
}

# ---------------------------------------------------------------------------------------------
# Blobs and layers
BLOBS=$WORK/blobs
mkdir -p "$BLOBS"

# put_blob FILE: move FILE into the shared blob pool, print "sha256:<hex> <size>"
put_blob() {
	local hex size
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv -f "$1" "$BLOBS/$hex"
	echo "sha256:$hex $size"
}

# make_layer STAGE NAME: tar+gzip STAGE; sets LAYER_<NAME>_{DIGEST,SIZE,DIFFID}
make_layer() {
	local stage=$1 name=$2 tarf=$WORK/$2.tar entries d s
	mapfile -t entries < <(cd "$stage" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
	tar -C "$stage" --create --file "$tarf" --format=gnu --sort=name --mtime=@0 \
		--owner=0 --group=0 --numeric-owner --no-acls --no-xattrs --no-selinux -- "${entries[@]}"
	printf -v "LAYER_${name}_DIFFID" 'sha256:%s' "$(sha256sum "$tarf" | cut -d' ' -f1)"
	gzip -n -6 "$tarf"
	read -r d s < <(put_blob "$tarf.gz")
	printf -v "LAYER_${name}_DIGEST" '%s' "$d"
	printf -v "LAYER_${name}_SIZE" '%s' "$s"
	log "layer $name: $d ($s bytes)"
}

# write_json TEXT: store TEXT as a blob, print "sha256:<hex> <size>"
write_json() {
	printf '%s' "$1" >"$WORK/json.tmp"
	put_blob "$WORK/json.tmp"
}

json_strings() { # json_strings a b c -> "a","b","c"
	local out='' s
	for s in "$@"; do
		s=${s//\\/\\\\}
		s=${s//\"/\\\"}
		out+=${out:+,}\"$s\"
	done
	printf '%s' "$out"
}

# make_image NAME CONFIG_EXTRA CMD_JSON ENV_JSON HISTORY_JSON LAYERNAME...
make_image() {
	local name=$1 extra=$2 cmd=$3 env=$4 history=$5 l diff_ids='' layers='' cfg man cd cs md ms dir
	shift 5
	for l in "$@"; do
		local dv=LAYER_${l}_DIFFID gv=LAYER_${l}_DIGEST sv=LAYER_${l}_SIZE
		diff_ids+=${diff_ids:+,}\"${!dv}\"
		layers+=${layers:+,}$(printf '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}' "${!gv}" "${!sv}")
	done
	printf -v cfg '{"architecture":"amd64","config":{%s"Env":[%s],"Cmd":[%s]},"created":"%s","history":[%s],"os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$extra" "$env" "$cmd" "$CREATED" "$history" "$diff_ids"
	read -r cd cs < <(write_json "$cfg")
	printf -v man '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$cd" "$cs" "$layers"
	read -r md ms < <(write_json "$man")

	dir=$WORK/out/$name
	mkdir -p "$dir/blobs/sha256"
	printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
		"$md" "$ms" >"$dir/index.json"
	cp "$BLOBS/${md#sha256:}" "$BLOBS/${cd#sha256:}" "$dir/blobs/sha256/"
	for l in "$@"; do
		local gv=LAYER_${l}_DIGEST
		cp "$BLOBS/${!gv#sha256:}" "$dir/blobs/sha256/"
	done
	validate_layout "$dir" || die "image '$name' failed validation"
	log "image $name: manifest $md"
}

pkgver() { dpkg-query -W -f '${Package} ${Version}' "$1"; }
hist() { printf '{"created":"%s","created_by":"testdata/build-images.sh: %s"}' "$CREATED" "$1"; }

# ---------------------------------------------------------------------------------------------
# Base layer: busybox
S=$WORK/stage-base
mkdir -p "$S"/{bin,dev,etc,home,proc,root,sys,tmp,var}
chmod 700 "$S/root"
chmod 1777 "$S/tmp"
cp --preserve=mode "$BUSYBOX" "$S/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[[ $applet == busybox ]] && continue
	ln -s busybox "$S/bin/$applet"
done
cat >"$S/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$S/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
EOF
cat >"$S/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
EOF
echo localhost >"$S/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$S/etc/hosts"
: >"$S/etc/resolv.conf"
make_layer "$S" base

# ---------------------------------------------------------------------------------------------
# nginx layer: binary, config from the packages, the dirs it writes to, its libraries
S=$WORK/stage-nginx
mkdir -p "$S"
nginx_pkgs=(nginx-common)
for p in nginx nginx-light; do
	dpkg -L "$p" 2>/dev/null | grep -qx /usr/sbin/nginx && nginx_pkgs+=("$p")
done
[[ ${#nginx_pkgs[@]} -gt 1 ]] || die "no installed package ships /usr/sbin/nginx"
while read -r f; do
	add_path "$S" "$f"
done < <(pkg_files "${nginx_pkgs[@]}" | grep -E '^/usr/sbin/nginx$|^/etc/nginx(/|$)|^/usr/share/nginx(/|$)|^/var/(lib|log)/nginx$')
# what nginx-common's postinst creates
ln -s /etc/nginx/sites-available/default "$S/etc/nginx/sites-enabled/default"
mkdir -p "$S/var/www/html" "$S/run"
cp --preserve=mode /usr/share/nginx/html/index.html "$S/var/www/html/index.nginx-debian.html"
add_libs "$S" /usr/sbin/nginx
make_layer "$S" nginx

# ---------------------------------------------------------------------------------------------
# python layer: interpreter, minimal stdlib, libraries of the interpreter and its extensions
S=$WORK/stage-python
mkdir -p "$S"
while read -r f; do
	add_path "$S" "$f"
done < <(pkg_files libpython3.11-minimal python3.11-minimal)
add_path "$S" /usr/bin/python3
[[ $(readlink "$S/usr/bin/python3") == python3.11 ]] || die "unexpected /usr/bin/python3 link"
mapfile -t elves < <(find "$S/usr/lib/python3.11/lib-dynload" -name '*.so' -printf '/usr/lib/python3.11/lib-dynload/%P\n' | sort)
add_libs "$S" /usr/bin/python3.11 "${elves[@]}"
make_layer "$S" python

# ---------------------------------------------------------------------------------------------
make_image busybox '' "$(json_strings sh)" "$(json_strings "$IMG_PATH_ENV")" \
	"$(hist "$(pkgver busybox-static)")" base
make_image nginx '"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGQUIT",' \
	"$(json_strings nginx -g 'daemon off;')" "$(json_strings "$IMG_PATH_ENV")" \
	"$(hist "$(pkgver busybox-static)"),$(hist "$(pkgver nginx) + $(pkgver nginx-common)")" base nginx
make_image python '' "$(json_strings python3)" "$(json_strings "$IMG_PATH_ENV" LANG=C.UTF-8)" \
	"$(hist "$(pkgver busybox-static)"),$(hist "$(pkgver python3.11-minimal)")" base python

# ---------------------------------------------------------------------------------------------
# Smoke tests: unpack the layers in order and run the programs in a chroot.
rootfs() { # rootfs DIR LAYERNAME...
	local dir=$1 l
	shift
	mkdir "$dir"
	for l in "$@"; do
		local gv=LAYER_${l}_DIGEST
		tar -C "$dir" -xzf "$BLOBS/${!gv#sha256:}"
	done
}
if [[ $EUID -eq 0 ]]; then
	R=$WORK/rootfs-busybox
	rootfs "$R" base
	got=$(env -i "$IMG_PATH_ENV" chroot "$R" /bin/sh -c 'echo hi; id -un') || die "busybox chroot: sh failed"
	[[ $got == $'hi\nroot' ]] || die "busybox chroot: got '$got'"
	R=$WORK/rootfs-nginx
	rootfs "$R" base nginx
	got=$(env -i "$IMG_PATH_ENV" chroot "$R" /usr/sbin/nginx -t 2>&1) || die "nginx chroot: nginx -t failed: $got"
	R=$WORK/rootfs-python
	rootfs "$R" base python
	got=$(env -i "$IMG_PATH_ENV" PYTHONDONTWRITEBYTECODE=1 chroot "$R" /usr/bin/python3 -c 'print(6*7)' 2>&1) ||
		die "python chroot failed: $got"
	[[ $got == 42 ]] || die "python chroot: got '$got'"
	log "chroot checks passed"
else
	log "warning: not root, chroot checks skipped"
fi

# ---------------------------------------------------------------------------------------------
for n in busybox nginx python; do
	rm -rf --one-file-system "${OUT:?}/$n"
	mv "$WORK/out/$n" "$OUT/$n"
done
echo "$STAMP" >"$OUT/.stamp"
# shellcheck disable=SC2154 # set by make_layer through printf -v
log "built busybox nginx python in $OUT (base layer $LAYER_base_DIGEST)"
