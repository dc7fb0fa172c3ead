# Shared by the CLI test scripts (source it after setting nothing): failure counting and the
# check that a command fails as bbans promises: exit code 1 and exactly one line on stderr,
# "bbans: ...". The line is kept in $last_error.
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_error() {  # CMD...
  local err rc; err=$("$@" 2>&1 >/dev/null); rc=$?
  last_error=$err
  [ $rc -eq 1 ] || { bad "expected exit 1 from: $* (got $rc)"; return; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ "$err" == "bbans: "* ]] || bad "expected one error line from: $* (got: $err)"
}
