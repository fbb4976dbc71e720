"""Tables of cells, written two ways: aligned text for the terminal (compare) and Markdown for GitHub
(compare --md, report). A table is a header and rows of the same number of cells; `right` names the
columns of numbers, aligned to the right."""
import json


def is_number(v) -> bool:
    """An int or a float, not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(x, sign: bool = False) -> str:
    """0.9512, 0.000621, 12,345.6 or 3,000 (with sign=True, +0.0122: a change)."""
    plus = "+" if sign else ""
    if isinstance(x, int):
        return f"{x:{plus},}"
    if x != 0 and abs(x) < 0.01:
        return f"{x:{plus}.3g}"
    return f"{x:{plus},.1f}" if abs(x) >= 1000 else f"{x:{plus}.4f}"


def value(v) -> str:
    """A setting's or version's value as a cell: text as it is, None as '–', anything else as JSON."""
    if v is None:
        return "–"
    return v if isinstance(v, str) else json.dumps(v)


def flat(obj: dict, prefix: str = "") -> dict:
    """A nested dict with its inner keys joined by dots: {"a": {"b": 1}} -> {"a.b": 1}."""
    out = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _markdown_cell(cell) -> str:
    return str(cell).replace("|", "\\|").replace("\n", " ") or " "


def markdown(header: list, rows: list, right=()) -> str:
    """A GitHub table: the header, its separator row (`---:` for the columns in `right`), a line per row."""
    lines = ["| " + " | ".join(map(_markdown_cell, header)) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def text(header: list, rows: list, right=(), indent: str = "  ") -> list:
    """The table as lines of text, each column as wide as its widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return [indent + "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip()
            for row in [header, *rows]]
