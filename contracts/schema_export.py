"""JSON Schemas of the contracts, for other languages and for review of every contract change in a diff."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.registry import EXPORTED_MODELS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render_schemas() -> dict[str, str]:
    """File name -> schema text, exactly as committed (sorted keys, trailing newline) so diffs stay stable."""
    return {
        f"{model.__name__}.json": json.dumps(model.model_json_schema(mode="validation"), indent=2, sort_keys=True)
        + "\n"
        for model in EXPORTED_MODELS
    }


def export_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
