#!/usr/bin/env python3
# descent train --lr-schedule (issue 16 item 5): a run checkpointed halfway and resumed ends
# bitwise where the uninterrupted run ends (the schedule is a function of the epoch or step
# index), per epoch and per batch; a resume with another schedule is refused; the JSON names
# the schedule and the last rate (torch's rate for the last index); misuse exits 2.
# The rates and trajectories themselves are checked against torch by tests/test_lr_schedule.cpp.
#   python3 tests/cli/lr_schedule.py /path/to/descent
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import main_of  # noqa: E402


def main(checks):
    check, run = checks.check, checks.run
    base = ["train", "--quiet", "--json", "--data", "synthetic:n=300,d=4,seed=3", "--optimizer", "adam",
            "--lr", "0.2"]
    for per, extra in (("epoch", []), ("batch", ["--batch-size", "64", "--shuffle"])):
        flags = base + extra + ["--lr-schedule", "warmup-cosine:3,15,0.001", "--lr-schedule-per", per]
        rc, out, err = run(*flags, "--epochs", "20")
        whole = json.loads(out) if rc == 0 else {}
        rc1, _, err1 = run(*flags, "--epochs", "9", "--checkpoint", per + ".ckpt", "--checkpoint-every", "1")
        rc2, out2, err2 = run(*flags, "--epochs", "20", "--checkpoint", per + ".ckpt", "--resume", per + ".ckpt")
        resumed = json.loads(out2) if rc2 == 0 else {}
        check("resume_bitwise_per_" + per,
              rc == rc1 == rc2 == 0 and whole["final_weights"] == resumed["final_weights"] and
              whole["losses"] == resumed["losses"] and whole["final_lr"] == resumed["final_lr"],
              (rc, rc1, rc2, err, err1, err2))
        # The last rate: warmup-cosine's index 19 (per epoch) or 19 * 5 + 4 (per batch: 5
        # batches of 64 rows in 300), from the closed form the recursion follows (to rounding).
        k = 19 if per == "epoch" else 19 * 5 + 4
        want = 0.001 + (0.2 - 0.001) * (1 + math.cos(math.pi * (k - 3) / 15)) / 2
        check("final_lr_per_" + per, rc == 0 and abs(whole["final_lr"] - want) <= 1e-12 and
              whole["lr_schedule"] == "warmup-cosine:3,15,0.001,0.3333333333333333" and
              whole["lr_schedule_per"] == per, (whole.get("final_lr"), want))
    rc, out, err = run(*base, "--epochs", "20", "--lr-schedule", "cosine:15", "--checkpoint",
                       "epoch.ckpt", "--resume", "epoch.ckpt")
    check("resume_with_another_schedule_refused", rc != 0 and "lr_schedule" in err, (rc, err))
    for args, what in ((["--lr-schedule", "cosine:0"], "T_MAX must be an integer >= 1"),
                       (["--lr-schedule-per", "batch"], "needs --lr-schedule"),
                       (["--lr-schedule", "step:2,0.5", "--lr-schedule-per", "week"], "epoch or batch"),
                       (["--optimizer", "newton-cg", "--lr-schedule", "step:2,0.5"], "no learning rate")):
        rc, out, err = run("train", "--quiet", "--epochs", "2", *args)
        check("usage: " + " ".join(args), rc == 2 and what in err and len(err.splitlines()) == 1, (rc, err))


if __name__ == "__main__":
    main_of(main)
