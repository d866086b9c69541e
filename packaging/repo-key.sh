#!/usr/bin/env bash
# repo-key.sh: make sure the repositories' signing key exists and print
# "GNUPGHOME KEYID" for it.
#
# By default the key is generated once (RSA 3072, which apt and rpm both
# verify; signing only, no passphrase) into $ZCG_CACHE/repo-key, so every
# build on this machine signs with the same key and hosts keep trusting it. To sign with a key of your own,
# set ZCG_REPO_GNUPGHOME (a GnuPG home holding its secret key) and
# ZCG_REPO_KEYID; nothing is generated then.
. "$(dirname "$0")/../scripts/common.sh"

if [ -n "${ZCG_REPO_GNUPGHOME:-}" ]; then
	[ -n "${ZCG_REPO_KEYID:-}" ] || die "ZCG_REPO_GNUPGHOME needs ZCG_REPO_KEYID"
	GNUPGHOME=$ZCG_REPO_GNUPGHOME gpg --batch --list-secret-keys "$ZCG_REPO_KEYID" > /dev/null 2>&1 ||
		die "no secret key $ZCG_REPO_KEYID in $ZCG_REPO_GNUPGHOME"
	echo "$ZCG_REPO_GNUPGHOME $ZCG_REPO_KEYID"
	exit 0
fi

home=$ZCG_CACHE/repo-key
uid="${ZCG_REPO_KEY_UID:-zcg repository signing key <${DEBEMAIL:-zcg-packages@example.org}>}"
mkdir -p "$home"
chmod 700 "$home"
if [ ! -s "$home/keyid" ]; then
	log "generating the repository signing key in $home"
	GNUPGHOME=$home gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$uid" rsa3072 sign never >&2 ||
		die "gpg could not generate the signing key"
	GNUPGHOME=$home gpg --batch --with-colons --list-secret-keys |
		awk -F: '$1 == "fpr" { print $10; exit }' > "$home/keyid"
fi
echo "$home $(cat "$home/keyid")"
