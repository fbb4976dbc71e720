"""Summarise `mutmut results --all true` (read on stdin) over the mutants `make mutation` runs.

Prints the counts per status, "mutation score: NN%" (killed and timed out over all mutants checked),
and every mutant that was not killed. Usage: mutmut results --all true | python tools/mutation_score.py PATTERN...
With --not-checked first, prints only the names of the mutants not checked yet, on one line (what
`make mutation-resume` passes to mutmut to finish an interrupted run).
"""
import fnmatch
import sys
from collections import Counter


def main(args):
    pending = args[:1] == ["--not-checked"]
    patterns = args[1:] if pending else args
    statuses = {}
    for line in sys.stdin:
        name, sep, status = line.strip().rpartition(": ")
        if sep and any(fnmatch.fnmatch(name, p) for p in patterns):
            statuses[name] = status
    if pending:
        print(" ".join(sorted(name for name, status in statuses.items() if status == "not checked")))
        return 0
    counts = Counter(statuses.values())
    checked = sum(n for s, n in counts.items() if s not in ("not checked", "skipped"))
    caught = counts["killed"] + counts["timeout"]
    print(", ".join(f"{s}: {n}" for s, n in sorted(counts.items())) + f"; {len(statuses)} mutants")
    print(f"mutation score: {100 * caught / checked:.1f}% ({caught} of {checked})" if checked else "no mutants checked")
    for name, status in sorted(statuses.items()):
        if status not in ("killed", "timeout", "not checked"):
            print(f"  {status}: {name}")
    return 0 if checked else 1


if __name__ == "__main__":
    given = sys.argv[1:]
    sys.exit(main(given if set(given) - {"--not-checked"} else [*given, "*"]))
