#!/usr/bin/env bash
# The Debian package as a user meets it (issue 18, "How to prove it"):
#   1. scripts/package.sh builds the .deb; `apt install ./ringflow_*.deb`;
#   2. the files, the system user, the conffile (kept when changed, on
#      reinstall), `man -w`, `systemd-analyze verify` of the installed unit,
#      and the `systemd-analyze security` score docs/install.md states;
#   3. the installed binary runs once against the installed config, as the
#      unit runs it (its User=, AmbientCapabilities=, NoNewPrivileges= and
#      WorkingDirectory=, applied with setpriv: systemd is not PID 1 on CI),
#      with the listen and metrics ports overridden, and receives a burst from
#      the installed ringflow-gen: every flow sent is in its interval file,
#      which the ringflow user owns, and the collector runs with no capability;
#   4. `apt purge` leaves nothing but what Debian policy keeps: the system
#      user ringflow (see packaging/debian/postrm), which the test then
#      removes itself when it created it.
# A ringflow package already installed is no reason to skip: it is saved
# first (dpkg-repack, conffiles as they are now), the build under test is
# installed over it, and the saved package is put back at the end, pass or
# fail. tests/CMakeLists.txt gives the test RESOURCE_LOCK system_package, so
# no other test runs while the package and its user come and go.
# Every failure names its step ("FAIL [2. files, user, ...]: ..."), so a
# failure in a busy full run can be diagnosed from the log alone.
# Needs root, apt and a Debian system; exits 77 with the reason otherwise.
# It needs systemd-analyze, man, curl, dpkg-shlibdeps and dpkg-repack
# (scripts/deps.sh --test installs them; systemd need not run) and installs
# nothing but the package under test.
# Usage: e2e_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
step="0. preconditions"
# Every failure names its step, the shared helpers' too.
fail() { echo "FAIL [$step]: $*" >&2; exit 1; }
# A command that fails outside fail() (set -e) names its step and line too.
trap 'echo "FAIL [$step]: line $LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
[ "$(id -u)" = 0 ] || rf_skip "installs a package: needs root (CI runs as root)"
if ! command -v apt-get > /dev/null || ! command -v dpkg > /dev/null; then
  rf_skip "not a Debian system (no apt-get/dpkg)"
fi
# What the checks need: tests install nothing but the package under test.
rf_need_tool systemd-analyze systemd
rf_need_tool man man-db
rf_need_tool curl curl
rf_need_tool dpkg-shlibdeps dpkg-dev
rf_need_tool dpkg-repack dpkg-repack

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300)
# apt's _apt user reads the .deb from here.
chmod 755 "$work"
collector=  # the running collector's pid (not "pid": cleanup has a local of that name)
installed=0
saved_deb=   # the ringflow package that was installed before the test
user_created=0
# restore: the machine as it was: the saved package back (conffiles as they
# were), or no package; the ringflow user and group only if they were there.
restore() {
  if [ -n "$saved_deb" ]; then
    apt-get "${apt_opts[@]}" --allow-downgrades -o Dpkg::Options::=--force-confnew install --reinstall \
      "$saved_deb" > "$work/apt-restore.log" 2>&1 ||
      { tail -20 "$work/apt-restore.log" >&2; echo "FAIL [cleanup]: could not reinstall the saved $saved_deb" >&2; return 1; }
    if [ -f "$work/saved/var-lib-ringflow.tar" ]; then
      rm -rf /var/lib/ringflow
      tar -C / -xpf "$work/saved/var-lib-ringflow.tar" ||
        { echo "FAIL [cleanup]: could not restore /var/lib/ringflow from $work/saved" >&2; return 1; }
    fi
    echo "  restored the ringflow package that was installed before ($(basename "$saved_deb")) and /var/lib/ringflow"
  elif [ "$installed" = 1 ]; then
    apt-get "${apt_opts[@]}" purge ringflow > /dev/null 2>&1 || true
  fi
  if [ "$user_created" = 1 ] && [ -z "$saved_deb" ] && getent passwd ringflow > /dev/null; then
    userdel ringflow || { echo "FAIL [cleanup]: userdel ringflow" >&2; return 1; }
    if getent group ringflow > /dev/null; then groupdel ringflow || true; fi
  fi
}
# Before the shared clean-up: the collector (running as the ringflow user,
# which restore may delete) stopped, then the machine restored. A failed
# restore fails the run (exit in the EXIT trap: the shared clean-up, whose
# status does not count, would not), and keeps $work, which holds the saved
# package.
package_cleanup() {
  trap - ERR
  if [ -n "$collector" ]; then kill -9 "$collector" 2> /dev/null && wait "$collector" 2> /dev/null; fi
  restore && return 0
  echo "=== kept $work" >&2
  exit 1
}
rf_on_cleanup package_cleanup

# A ringflow package installed before the test: saved as it is now (with
# the conffiles as changed by the administrator), put back by restore().
if dpkg-query -W -f='${Status}' ringflow 2> /dev/null | grep -q 'install ok installed'; then
  mkdir -p "$work/saved"
  (cd "$work/saved" && dpkg-repack ringflow) > "$work/repack.log" 2>&1 ||
    { cat "$work/repack.log" >&2; fail "dpkg-repack ringflow (saving the installed package) failed"; }
  saved_deb=$(ls "$work"/saved/ringflow_*.deb)
  # purge removes /var/lib/ringflow (postrm): its data is saved too.
  if [ -d /var/lib/ringflow ]; then
    tar -C / -cpf "$work/saved/var-lib-ringflow.tar" var/lib/ringflow ||
      fail "could not save /var/lib/ringflow"
  fi
  echo "ringflow $(dpkg-query -W -f='${Version}' ringflow) was installed: saved as $(basename "$saved_deb"), put back at the end"
elif dpkg-query -W -f='${Status}' ringflow 2> /dev/null | grep -q 'config-files'; then
  fail "ringflow was removed but its conffiles are kept (dpkg status config-files); this test would purge them: apt purge ringflow, or reinstall it"
fi
if grep -qs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
  fail "dpkg is told to skip man pages here (/etc/dpkg/dpkg.cfg.d: path-exclude=/usr/share/man/*)"
fi

# Everything on the system with "ringflow" in its path, before the package.
snapshot() {
  find /etc /usr /lib /var /opt /srv -xdev -iname '*ringflow*' 2> /dev/null | sort
}
snapshot > "$work/before.txt"
user_before=$(getent passwd ringflow || true)
[ -n "$user_before" ] || user_created=1

########################################################################
step="1. build and install"; echo "$step"
deb=$("$src/scripts/package.sh" "$build" "$work" 2> "$work/package.log") ||
  { cat "$work/package.log" >&2; fail "scripts/package.sh failed"; }
[ -f "$deb" ] || fail "package.sh printed '$deb', which is not a file"
tail -1 "$work/package.log"
version=$(dpkg-deb -f "$deb" Version)
# Over a package already installed: --reinstall for the same version,
# --allow-downgrades for an older one, and the build's own conffiles.
over=()
[ -n "$saved_deb" ] && over=(--reinstall --allow-downgrades -o Dpkg::Options::=--force-confnew)
(cd "$(dirname "$deb")" && apt install "${apt_opts[@]}" "${over[@]}" "./$(basename "$deb")") > "$work/apt-install.log" 2>&1 ||
  { tail -20 "$work/apt-install.log" >&2; fail "apt install ./$(basename "$deb") failed"; }
installed=1
dpkg-query -W -f='${Status} ${Version}\n' ringflow | grep -q "^install ok installed $version$" ||
  fail "dpkg does not list ringflow $version as installed"
echo "  ok  apt install ./$(basename "$deb")"

########################################################################
step="2. files, user, conffile, man pages, unit"; echo "$step"
for f in /usr/bin/ringflow /usr/bin/ringflow-gen; do
  [ -x "$f" ] || fail "$f missing or not executable"
done
for f in /etc/ringflow/netflow.toml /lib/systemd/system/ringflow.service \
  /usr/share/man/man8/ringflow.8.gz /usr/share/man/man1/ringflow-gen.1.gz \
  /usr/share/man/man5/netflow.toml.5.gz /usr/share/doc/ringflow/config.md; do
  [ -f "$f" ] || fail "$f missing"
  dpkg -S "$f" > /dev/null 2>&1 || fail "$f not owned by the package"
done
/usr/bin/ringflow --version | grep -qx "ringflow $version" || fail "ringflow --version: $(/usr/bin/ringflow --version)"
/usr/bin/ringflow-gen --version | grep -qx "ringflow-gen $version" || fail "ringflow-gen --version"
# Every library the binaries need (objdump -p: NEEDED) resolves, and the
# Debian package that ships it (dpkg -S) is in Depends.
depends=$(dpkg-query -W -f='${Depends}' ringflow | tr ',' '\n' | sed 's/^ *//; s/ .*//')
for b in ringflow ringflow-gen; do
  if ldd "/usr/bin/$b" | grep -q 'not found'; then fail "$b: $(ldd "/usr/bin/$b" | grep 'not found')"; fi
  for lib in $(objdump -p "/usr/bin/$b" | awk '$1 == "NEEDED" { print $2 }'); do
    path=$(ldd "/usr/bin/$b" | awk -v l="$lib" '$1 == l { print $3 }')
    [ -n "$path" ] || fail "$b: $lib not resolved by ldd"
    # dpkg knows the path as shipped (/lib/...) or, for a symlink, its target.
    pkg=
    for p in "$path" "$(readlink -f "$path")"; do
      pkg=$(dpkg -S "$p" 2> /dev/null | head -1 | cut -d: -f1 || true)
      [ -z "$pkg" ] || break
    done
    [ -n "$pkg" ] || fail "$b: no Debian package ships $path ($lib)"
    grep -qx "$pkg" <<< "$depends" || fail "$b needs $lib from $pkg, which Depends does not list: $depends"
  done
done
echo "  ok  binaries, man pages, unit, docs; every NEEDED library's package is in Depends"

IFS=: read -r _ _ uid gid _ home shell <<< "$(getent passwd ringflow)" || fail "no user ringflow"
[ "$uid" -lt 1000 ] || fail "ringflow uid $uid is not a system uid"
[ "$(getent group ringflow | cut -d: -f3)" = "$gid" ] || fail "ringflow's primary group is not ringflow"
[ "$home" = /var/lib/ringflow ] || fail "ringflow's home is $home"
case "$shell" in */nologin | /bin/false) ;; *) fail "ringflow has a login shell: $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/lib/ringflow)" = "ringflow:ringflow 750" ] ||
  fail "/var/lib/ringflow: $(stat -c '%U:%G %a' /var/lib/ringflow)"
echo "  ok  system user ringflow (uid $uid), /var/lib/ringflow ringflow:ringflow 750${user_before:+ (the user was there before)}"

dpkg-query -W -f='${Conffiles}\n' ringflow | grep -q '^ /etc/ringflow/netflow.toml [0-9a-f]\{32\}$' ||
  fail "/etc/ringflow/netflow.toml is not a conffile: $(dpkg-query -W -f='${Conffiles}' ringflow)"
/usr/bin/ringflow --check-config /etc/ringflow/netflow.toml > "$work/effective.toml" ||
  fail "the installed config does not validate"
grep -q '^directory = "/var/lib/ringflow" ' "$work/effective.toml" || fail "output is not /var/lib/ringflow"
grep -q '^user = "ringflow" ' "$work/effective.toml" || fail "process.user is not ringflow"
# A changed conffile survives a reinstall (dpkg keeps the admin's version).
echo "# changed by the administrator" >> /etc/ringflow/netflow.toml
(cd "$(dirname "$deb")" && apt-get "${apt_opts[@]}" -o Dpkg::Options::=--force-confold install --reinstall \
  "./$(basename "$deb")") > "$work/apt-reinstall.log" 2>&1 || { tail "$work/apt-reinstall.log" >&2; fail "reinstall"; }
grep -q '^# changed by the administrator$' /etc/ringflow/netflow.toml || fail "reinstall replaced the changed conffile"
echo "  ok  conffile /etc/ringflow/netflow.toml: validates, kept when changed"

for page in "ringflow:/usr/share/man/man8/ringflow.8.gz" "ringflow-gen:/usr/share/man/man1/ringflow-gen.1.gz" \
  "netflow.toml:/usr/share/man/man5/netflow.toml.5.gz"; do
  got=$(man -w "${page%%:*}") || fail "man -w ${page%%:*} found nothing"
  [ "$got" = "${page#*:}" ] || fail "man -w ${page%%:*}: $got, want ${page#*:}"
done
MANWIDTH=80 man ringflow 2> /dev/null | grep -q -- '--check-config' || fail "man ringflow does not render the options"
echo "  ok  man -w ringflow, ringflow-gen, netflow.toml"

unit=/lib/systemd/system/ringflow.service
systemd-analyze verify "$unit" > "$work/verify.txt" 2>&1 || { cat "$work/verify.txt" >&2; fail "systemd-analyze verify"; }
[ ! -s "$work/verify.txt" ] || { cat "$work/verify.txt" >&2; fail "systemd-analyze verify printed warnings"; }
echo "  ok  systemd-analyze verify $unit"
systemd-analyze security --offline=true "$unit" > "$work/security.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for ringflow.service: \([0-9.]*\) .*/\1/p' "$work/security.txt")
[ -n "$score" ] || { cat "$work/security.txt" >&2; fail "systemd-analyze security gave no score"; }
grep -q "exposure level for ringflow.service: $score" "$src/docs/install.md" ||
  fail "docs/install.md does not state the score systemd-analyze security gives now ($score)"
echo "  ok  systemd-analyze security: $score, as docs/install.md says"
[ -L /etc/systemd/system/multi-user.target.wants/ringflow.service ] ||
  fail "the unit was not enabled (deb-systemd-helper)"
echo "  ok  enabled for multi-user.target"

########################################################################
step="3. run the installed collector as the unit does, receive a burst"; echo "$step"
unit_value() { sed -n "s/^$1=//p" "$unit" | tail -1; }
[ "$(unit_value User)" = ringflow ] || fail "the unit's User= is not ringflow"
read -r -a exec_start <<< "$(unit_value ExecStart)"
caps=$(unit_value AmbientCapabilities | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/+/p' | paste -sd, -)
[ -n "$caps" ] || fail "no AmbientCapabilities= in the unit"
nnp=()
[ "$(unit_value NoNewPrivileges)" = yes ] && nnp=(--no-new-privs)
run=$work/run
mkdir -p "$run"
touch -d '-1 second' "$run/marker"
# The installed binary as ExecStart= names it, in its WorkingDirectory=.
ringflow=${exec_start[0]}
RF_WRAP=(env -C "$(unit_value WorkingDirectory)" setpriv --reuid ringflow --regid ringflow --init-groups
  --inh-caps "$caps" --ambient-caps "$caps" "${nnp[@]}")
rf_start_collector run "${exec_start[@]:1}" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0
RF_WRAP=()
collector=$RF_PID port=$RF_PORT murl=$RF_MURL
grep -q "running as ringflow (uid $uid), group ringflow (gid $gid), no capabilities" "$run/stderr" ||
  fail "no privilege line: $(cat "$run/stderr")"
for set in CapInh CapPrm CapEff CapAmb; do
  [ "$(awk -v f="$set:" '$1 == f { print $2 }' "/proc/$collector/status")" = 0000000000000000 ] ||
    fail "$set of the running collector is not empty"
done
echo "  ok  started as ringflow, capabilities cleared (port $port)"
/usr/bin/ringflow-gen --target "127.0.0.1:$port" --exporters 4 --pps 5000 --count 5000 --seed 18 --quiet \
  --truth "$run/truth.tsv"
sent=$(rf_truth_total "$run/truth.tsv" datagrams)
rf_wait 30 "$sent datagrams decoded" rf_metric_is "$murl" ringflow_decode_datagrams_total "$sent" ||
  fail "the collector decoded $(rf_metric "$murl" ringflow_decode_datagrams_total) of $sent datagrams"
rf_stop_collector
collector=
# Only this run's files: a package installed before may have left others.
mapfile -t files < <(find /var/lib/ringflow -maxdepth 1 -name 'flows-*.csv' -newer "$run/marker")
[ "${#files[@]}" -gt 0 ] && [ -f "${files[0]}" ] || fail "no interval file of this run in /var/lib/ringflow"
flows=$(cat "${files[@]}" | awk -F, '$1 == "interval_start" { for (i = 1; i <= NF; i++) c[$i] = i; next }
                                    { f += $c["flows"] } END { printf "%.0f\n", f }')
sent_flows=$(rf_truth_total "$run/truth.tsv" flows)
[ "$flows" = "$sent_flows" ] || fail "interval files hold $flows flows, ringflow-gen sent $sent_flows"
others=$(find /var/lib/ringflow ! -user ringflow)
[ -z "$others" ] || fail "not owned by ringflow: $others"
grep -q 'partial' "$run/stdout" || fail "no text summary of the final interval on stdout"
echo "  ok  $sent datagrams, $flows flows in ${#files[@]} file(s) in /var/lib/ringflow, owned by ringflow"

########################################################################
step="4. purge"; echo "$step"
apt-get "${apt_opts[@]}" purge ringflow > "$work/apt-purge.log" 2>&1 || { tail "$work/apt-purge.log" >&2; fail "apt purge"; }
installed=0
if dpkg-query -W -f='${Status}' ringflow 2> /dev/null | grep -qv 'not-installed'; then
  fail "dpkg still knows ringflow: $(dpkg-query -W -f='${Status}' ringflow)"
fi
snapshot > "$work/after.txt"
left=$(comm -13 "$work/before.txt" "$work/after.txt")
[ -z "$left" ] || fail "left behind after purge: $left"
getent passwd ringflow > /dev/null || fail "the system user was removed (Debian keeps system users)"
echo "  ok  nothing left but the system user ringflow"
step="5. leave the machine as it was"
if [ "$user_created" = 1 ] && [ -z "$saved_deb" ]; then
  userdel ringflow || fail "userdel ringflow"
  if getent group ringflow > /dev/null; then groupdel ringflow || fail "groupdel ringflow"; fi
  user_created=0
  ! getent passwd ringflow > /dev/null || fail "the ringflow user is still there after userdel"
  echo "  ok  the ringflow user and group this test created are removed"
fi
echo "e2e_package: PASS"
