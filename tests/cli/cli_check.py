# What the Python CLI tests share (tests/cli/*.py): running descent, named checks that print
# "ok"/"FAIL" lines, and a scratch directory removed at the end.
import os
import shutil
import subprocess
import sys
import tempfile


class Checks:
    def __init__(self, descent):
        self.descent = os.path.abspath(descent)
        self.failures = []

    def check(self, name, ok, detail=""):
        print(("ok    " if ok else "FAIL  ") + name + ("" if ok else "\n        " + str(detail)))
        if not ok:
            self.failures.append(name)

    def run(self, *args, stdin=None):
        """descent ARGS: (exit status, stdout, stderr)."""
        p = subprocess.run([self.descent, *args], capture_output=True, text=True, input=stdin)
        return p.returncode, p.stdout, p.stderr

    def summary(self):
        """Prints the verdict; the exit status for sys.exit."""
        print("\n%s" % ("failed: " + ", ".join(self.failures) if self.failures else "all passed"))
        return 1 if self.failures else 0


def in_scratch_dir(prefix, body):
    """Runs body() in a new temporary directory, removed afterwards; returns its result."""
    work = tempfile.mkdtemp(prefix=prefix)
    here = os.getcwd()
    os.chdir(work)
    try:
        return body()
    finally:
        os.chdir(here)
        shutil.rmtree(work, ignore_errors=True)


def main_of(body):
    """The scripts' entry: body(Checks(argv[1])) in a scratch directory, then the verdict."""
    checks = Checks(sys.argv[1])
    in_scratch_dir("descent-cli.", lambda: body(checks))
    sys.exit(checks.summary())
