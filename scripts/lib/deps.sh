# Installs the Debian packages fastbackup builds, tests and benchmarks with.
# Sourced by the scripts in scripts/ and Benchmarks/. Installs only what is
# missing, and only when it can (root, or sudo without a password).

FASTBACKUP_APT_PACKAGES=(
  zlib1g-dev libzstd-dev libisal-dev libdeflate-dev libmariadb-dev libcurl4-openssl-dev libssl-dev pkg-config
  mariadb-server mariadb-client
  tar gzip pigz zstd p7zip-full libarchive-tools time python3 python3-pil acl groff-base
)

fastbackup_install_deps() {
  local missing=() p
  for p in "${FASTBACKUP_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "fastbackup: missing packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
      return 1
    fi
  fi
  echo "fastbackup: installing ${missing[*]}" >&2
  # One update per script run; a fresh machine has no package lists yet.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
