"""`python -m contracts export`: write the JSON Schemas to contracts/schemas/."""

from __future__ import annotations

import sys

from contracts.schema_export import export_schemas


def main(argv: list[str]) -> int:
    if argv[:1] != ["export"]:
        print("usage: python -m contracts export", file=sys.stderr)
        return 2
    for path in export_schemas():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
