"""Print what each named mutant changes, read from the mutants mutmut runs (mutants/pipeline/*.py).

`mutmut show NAME` can number a function's mutants differently from the files mutmut runs, so this reads
the mutant's own function and diffs it against the function's unmutated copy in the same file.
Usage: python tools/mutant_diff.py pipeline.generate.x_generate__mutmut_5 ... (names as `mutmut results` prints)
"""
import ast
import difflib
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def functions(module):
    source = (Path("mutants") / (module.replace(".", "/") + ".py")).read_text()
    # The signature too (a mutant can change a default), with the function's own name left out.
    return {node.name: ast.get_source_segment(source, node).replace(node.name, "", 1).splitlines()
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}


def changed_lines(name):
    module, _, mutant = name.rpartition(".")
    found = functions(module)
    original = found[mutant.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"]
    diff = difflib.unified_diff(original, found[mutant], lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("---", "+++")]


def main(names):
    for name in names:
        print(f"== {name}")
        print("\n".join(changed_lines(name)))
    return 0 if names else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
