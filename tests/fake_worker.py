"""A stand-in for `python -m inference estimate ... --progress json`, for the add-on's worker tests.

`fake_python(folder, mode)` writes an executable that the add-on can use as its inference interpreter: it
records its arguments and behaves as $FAKE_WORKER_MODE (or `mode`) says:
  succeed   progress events, then copies $FAKE_WORKER_RESULT to --output and prints `done`
  fail      an `error` event (a user error) and exit status 2, writing nothing
  slow      progress events, then sleeps; SIGTERM ends it like the real CLI (error event, exit 130)
  stubborn  like slow, but ignores SIGTERM (stuck in native code): only a kill ends it
"""
import json
import os
import pathlib
import shutil
import signal
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from contract.worker_protocol import encode_event, make_event  # noqa: E402

USER_ERROR = "The checkpoint /data/bad.ckpt is not a PARE checkpoint: use pare_w_3dpw_checkpoint.ckpt."


def emit(event, **fields):
    print(encode_event(make_event(event, **fields)), flush=True)


def main(argv):
    pathlib.Path(os.environ["FAKE_WORKER_ARGS"]).write_text(json.dumps(argv))
    mode = os.environ.get("FAKE_WORKER_MODE", "succeed")
    output = argv[argv.index("--output") + 1]
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        def cancelled(signum, frame):
            emit("error", message="Cancelled; nothing was written.", kind="cancelled")
            sys.exit(130)
        signal.signal(signal.SIGTERM, cancelled)
    emit("start", input=argv[argv.index("--input") + 1], output=output)
    print("some log text on stderr", file=sys.stderr, flush=True)
    if mode == "fail":
        emit("error", message=USER_ERROR, kind="user")
        return 2
    for done in range(1, 3):
        emit("progress", stage="estimate", done=done, total=2)
    if mode in ("slow", "stubborn"):
        for _ in range(600):
            time.sleep(0.1)
        return 0
    shutil.copyfile(os.environ["FAKE_WORKER_RESULT"], output)
    emit("done", output=output, frames=3, model="pare_hrnet32", body_model="SMPL_NEUTRAL.pkl")
    return 0


def fake_python(folder):
    """An executable to use as the inference interpreter; its arguments land in folder/args.json."""
    wrapper = pathlib.Path(folder) / "fake-python"
    wrapper.write_text(f"#!/bin/sh\nexport FAKE_WORKER_ARGS='{pathlib.Path(folder) / 'args.json'}'\n"
                       f"exec '{sys.executable}' '{__file__}' \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
