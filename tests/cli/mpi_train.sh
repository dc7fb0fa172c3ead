#!/usr/bin/env bash
# bbans train over MPI with two local ranks: the model file and the checkpoint are byte for byte
# those of one process with the same --shards (and --threads: the checkpoint records it), a run
# resumed under MPI equals the straight run, a checkpoint of an MPI run resumes in one process,
# only rank 0 prints and writes, and a refused run prints one bbans line and fails on every rank.
# usage: mpi_train.sh BBANS MPIEXEC SAMPLES_DIR
set -u
cli_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bbans=$(realpath "$1"); mpiexec=$2; samples=$(realpath "$3")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; cd "$work"
source "$cli_dir/lib.sh"
idx_head() {  # FILE COUNT OUT: the first COUNT images of an IDX file
  head -c $((16 + $2 * 784)) "$1" > "$3"
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 0 0 $(($2 / 256)) $(($2 % 256)))" | dd of="$3" bs=1 seek=4 conv=notrunc status=none
}
# 300 images in minibatches of 32: the last one has 12 images.
idx_head "$samples/mnist-test-1000-images-idx3-ubyte" 300 train.idx
idx_head "$samples/fashion-mnist-test-first1000-images-idx3-ubyte" 60 test.idx
tiny=(--latent 4 --encoder-hidden 16 --decoder-hidden 16 --channels 2 --head-hidden 8 --components 2 --batch-size 32 --calibration 50 --threads 1)
# Two local ranks, whatever the machine's cores and user (CI runs as root); shared memory
# without the single-copy mechanism some containers forbid.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi2=("$mpiexec" -np 2 --allow-run-as-root --oversubscribe)
train() { "$bbans" train --corpus train.idx --test test.idx "${tiny[@]}" "$@"; }
mpi_train() { "${mpi2[@]}" "$bbans" train --corpus train.idx --test test.idx "${tiny[@]}" "$@"; }

# One process, then two ranks, 2 epochs, 2 and 3 shards (3: rank 0 has one shard, rank 1 two).
for shards in 2 3; do
  train -o one$shards.bbm --epochs 2 --shards $shards -q || bad "one-process train ($shards shards) failed"
  mpi_train -o two$shards.bbm --epochs 2 --shards $shards > two$shards.out 2> two$shards.err || bad "mpirun -np 2 train ($shards shards) failed: $(cat two$shards.err)"
  cmp -s one$shards.bbm two$shards.bbm || bad "the model of 2 ranks differs from one process's ($shards shards)"
  cmp -s one$shards.bbm.ckpt two$shards.bbm.ckpt || bad "the checkpoint of 2 ranks differs from one process's ($shards shards)"
  [ "$(grep -c '^bbans train: ' two$shards.err)" -eq 1 ] || bad "not exactly one rank printed the run's first line: $(cat two$shards.err)"
  [ "$(grep -c '^wrote two' two$shards.err)" -eq 1 ] || bad "not exactly one rank wrote the model: $(cat two$shards.err)"
  grep -q "2 MPI ranks, $shards shards" two$shards.err || bad "the first line does not name the ranks: $(head -n 1 two$shards.err)"
done
[ "$(ls | grep -c '^two2')" -eq 5 ] || bad "the MPI run wrote other files than the model, card and checkpoint: $(ls)"

# Resume under MPI from the checkpoint of epoch 1; and an MPI checkpoint resumed by one process.
mpi_train -o r.bbm --epochs 1 --shards 2 -q || bad "mpirun: first epoch failed"
mpi_train -o r.bbm --resume r.bbm.ckpt --epochs 2 -f -q || bad "mpirun --resume failed"
cmp -s r.bbm one2.bbm && cmp -s r.bbm.ckpt one2.bbm.ckpt || bad "the run resumed under MPI differs from the straight run"
mpi_train -o s.bbm --epochs 1 --shards 2 -q || bad "mpirun: first epoch failed"
train -o s.bbm --resume s.bbm.ckpt --epochs 2 -f -q || bad "one-process --resume of an MPI checkpoint failed"
cmp -s s.bbm one2.bbm || bad "an MPI checkpoint resumed by one process differs from the straight run"

# Refusals: fewer shards than ranks (checked on every rank), an existing model (checked by rank
# 0, the one that writes). One bbans line (mpirun adds its own report), non-zero exit, no files.
expect_mpi_error() {  # WANT ARGS...: fails, exactly one "bbans:" line on stderr, that one
  local want=$1; shift
  mpi_train "$@" > /dev/null 2> err.txt && bad "mpirun train $* succeeded"
  [ "$(grep -c '^bbans: ' err.txt)" -eq 1 ] || bad "not one bbans error line from mpirun train $*: $(cat err.txt)"
  grep -q "^bbans: $want" err.txt || bad "mpirun train $*: $(grep '^bbans: ' err.txt)"
}
expect_mpi_error "2 ranks need at least as many shards per minibatch, and the run has 1 (--shards)" -o x.bbm --epochs 1 --shards 1
[ -e x.bbm ] || [ -e x.bbm.ckpt ] || [ -e x.bbm.md ] && bad "a refused MPI run wrote files"
expect_mpi_error "one2.bbm.ckpt: a checkpoint already exists" -o one2.bbm --epochs 1
expect_mpi_error "Could not convert: --shards = two" -o y.bbm --shards two  # a usage error: printed once, not once a rank
[ -e y.bbm ] && bad "a refused MPI run wrote a model"

if [ $fails -eq 0 ]; then echo "mpi train: all checks passed"; else echo "mpi train: $fails checks failed"; exit 1; fi
