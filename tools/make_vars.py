"""Print the Make variables a table of pipeline/params.py declares, as VARIABLE:option pairs.

    python3 tools/make_vars.py pipeline/params.py TRAIN      ->  UNITS:units BATCH_SIZE:batch-size ...

The Makefile reads its forwarded variables this way, so a parameter is declared once, in params.py.
It reads the file's syntax only (the standard library, any Python 3): it runs before `make` has
installed anything. tests/test_params.py checks the result against the tables as the stages load them.
"""
import ast
import sys


def make_vars(source: str, table: str) -> list:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == [table]:
            pairs = []
            for call in node.value.elts:
                make = {k.arg: k.value for k in call.keywords}.get("make")
                if isinstance(make, ast.Constant) and make.value:
                    pairs.append(f"{make.value}:{call.args[0].value.replace('_', '-')}")
            return pairs
    raise SystemExit(f"make_vars: no table {table} in the file")


if __name__ == "__main__":
    path, table = sys.argv[1:3]
    with open(path) as f:
        print(" ".join(make_vars(f.read(), table)))
