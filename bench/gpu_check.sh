#!/usr/bin/env bash
# Issue 14's GPU figures in one run (about 5 minutes on one H100-class GPU, most of it the network timings):
#   1. network img/s at batch 1 / 8 / 64 in fp32, bf16 and fp16, with the pose drift against fp32 (bench_model.py);
#   2. the pipeline's frames/s on a 1080p clip against the network's alone, batch 64, per precision
#      (bench_pipeline.py): where decoding, detection and cropping on the CPU become the limit;
#   3. the estimate command end to end on the sample clip and on the 2x2 crowd, against pre-cropped people
#      (bench_cli.py).
# Each step's output is kept in OUTPUT_FOLDER (default ./gpu_check), one file per step; a failed step is
# reported and the next one runs. Needs a CUDA build of torch plus the project's inference requirements.
#
#   bash bench/gpu_check.sh [OUTPUT_FOLDER]
# PYTHON picks the interpreter (default python3), THREADS the CPU threads (default 8); DEVICE=cpu runs the same
# steps on the CPU without fp16, as a dry run of the script itself (slow: half an hour on two cores).
set -u
cd "$(dirname "$0")/.."
out=${1:-gpu_check}
python=${PYTHON:-python3}
threads=${THREADS:-8}
device=${DEVICE:-cuda}
precisions="fp32 bf16"
[ "$device" = cuda ] && precisions="fp32 bf16 fp16"
mkdir -p "$out"
export PYTHONUNBUFFERED=1

step() {  # name, command...: runs the command, its output shown and kept as $out/name.txt
    local name=$1
    shift
    echo "== $name: $*"
    local started=$SECONDS
    "$@" > "$out/$name.txt" 2>&1
    local status=$?
    cat "$out/$name.txt"
    echo "== $name: exit $status after $((SECONDS - started)) s"
}

step versions "$python" -c "import sys, torch, numpy, cv2; print(sys.version.split()[0], 'torch', torch.__version__, \
'cuda', torch.version.cuda, 'numpy', numpy.__version__, 'opencv', cv2.__version__); \
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device')"
step nvidia_smi nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
step model "$python" bench/bench_model.py --device "$device" --threads "$threads" --batches 1 8 64 --seconds 4
for precision in $precisions; do
    step "pipeline_$precision" "$python" bench/bench_pipeline.py --device "$device" --precision "$precision" \
        --batch-size 64 --frames 192 --sizes 1920x1080 --threads "$threads"
done
step cli_sample "$python" bench/bench_cli.py --device "$device" --precision bf16 --batch-size 64 --frames 96 \
    --threads "$threads" --repeat 1
step cli_crowd "$python" bench/bench_cli.py --device "$device" --precision bf16 --batch-size 64 --frames 96 \
    --threads "$threads" --repeat 1 --tile 2
