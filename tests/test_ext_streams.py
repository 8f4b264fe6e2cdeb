"""_ext/streams.py: a cell's printed text is shown as one box, joined as printed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _streams_module():
    path = ROOT / "_ext" / "streams.py"
    spec = importlib.util.spec_from_file_location("streams", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outputs():
    out = nbformat.v4.new_output
    return [
        out("stream", name="stdout", text="Dropout alone:   "),  # a line in two pieces
        out("stream", name="stdout", text=" {'input': '4.7e-11'}\nmlp:"),
        out("display_data", data={"text/plain": "<Figure>"}),
        out("stream", name="stdout", text=" {'0.W': '4.9e-10'}\n"),
    ]


def test_pieces_of_a_line_are_joined_as_printed() -> None:
    joined = _streams_module().join_streams(_outputs())
    streams = [o for o in joined if o["output_type"] == "stream"]
    assert len(streams) == 1 and len(joined) == 2
    assert streams[0]["text"] == (
        "Dropout alone:    {'input': '4.7e-11'}\nmlp: {'0.W': '4.9e-10'}\n"
    )


def test_the_notebooks_own_outputs_are_left_unchanged() -> None:
    outputs = _outputs()
    _streams_module().join_streams(outputs)
    assert [o.get("text") for o in outputs] == [o.get("text") for o in _outputs()]
