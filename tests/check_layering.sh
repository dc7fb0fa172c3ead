#!/usr/bin/env bash
# The dependency direction of docs/architecture: codec <- src -> models.
# codec/ may not include Eigen, models/ or src/; models/ may not include codec/, src/ or MPI
# (training over MPI reaches models/ through models::ShardExchange only).
set -u
root=${1:-.}
bad=0
check() {  # dir pattern what
  local hits
  hits=$(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' --include='*.inc' "$2" "$root/$1" 2>/dev/null)
  if [ -n "$hits" ]; then echo "layering violation: $1 $3:"; echo "$hits"; bad=1; fi
}
check codec '#\s*include\s*[<"](Eigen|models/|src/|cereal)' "includes Eigen, cereal, models/ or src/"
check codec '(fopen|std::(i|o)?fstream|<fstream>)' "touches files"
check models '#\s*include\s*[<"](codec/|src/|mpi\.h)' "includes codec/, src/ or MPI"
[ $bad -eq 0 ] && echo "layering ok"
exit $bad
