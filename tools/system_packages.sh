#!/bin/sh
# The Debian packages named as arguments that are not installed, on one line (nothing when all are); exit 1 if any.
# Asked of dpkg's own records, so it answers the same for any user: a binary such as dockerd lives in /usr/sbin,
# off a user's PATH, and the Python modules in Debian's Python, not in whichever python3 comes first.
# Usage: tools/system_packages.sh PACKAGE...   (make env runs it; it installs nothing)
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "tools/system_packages.sh: no dpkg-query (not Debian): cannot check for $*; install their equivalents" >&2
	exit 0
fi
missing=""
for package in "$@"; do
	case "$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null)" in
		ii*) ;;
		*) missing="$missing $package" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "${missing# }"
exit 1
