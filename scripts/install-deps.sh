#!/bin/bash
# scripts/install-deps.sh: make sure the build and test dependencies exist
#
# Idempotent and fast when nothing is missing: packages are checked with
# dpkg first, and apt-get runs (update once, then install) only when
# something is absent. Without root it only reports what to install.
# Also makes sure the "postgres" OS account exists, since the server and the
# tests run as that account when we are root.

set -euo pipefail

PACKAGES=(
	postgresql-15
	postgresql-server-dev-15
	libzstd-dev
	libipc-run-perl
	redis-server
	redis-tools
	build-essential
)

# True if Debian package $1 is installed
installed()
{
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps.sh: missing packages: ${missing[*]}" >&2
		echo "install them as root:  sudo apt-get install -y ${missing[*]}" >&2
		echo "(or run 'sudo make deps')" >&2
		exit 1
	fi
	echo "install-deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y "${missing[@]}"
fi

# The postgresql-common package creates this account; recreate it the same
# way if someone removed it.
if ! id postgres >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps.sh: no 'postgres' OS user and not root to create it" >&2
		exit 1
	fi
	echo "install-deps.sh: creating the postgres OS user"
	adduser --system --quiet --group --home /var/lib/postgresql \
		--no-create-home --shell /bin/bash postgres
fi

echo "install-deps.sh: all dependencies present"
