"""Show a cell's printed text as one output box, exactly as the kernel printed it.

The kernel sends what a cell has printed in pieces (ipykernel flushes every 0.2 s,
wherever that falls, even inside one ``print``), and each piece would be a box of its
own. myst-nb's ``nb_merge_streams`` joins them, but strips each piece and starts a new
line after it, so a line sent in two pieces is shown broken in two. nbval, which
compares the outputs, joins the pieces as they are; with this extension the book does
the same. (Sphinx loads it from ``_config.yml``: ``local_extensions``.)
"""

from __future__ import annotations

from typing import Any

from myst_nb.core import render

_myst_nb_coalesce = render.coalesce_streams


def join_streams(outputs: list[Any]) -> list[Any]:
    """Join each stream's pieces (stdout, stderr) into its first piece, text unchanged;
    then let myst-nb do the rest (carriage returns, stdout before stderr)."""
    joined: list[Any] = []
    first: dict[str, Any] = {}
    for output in outputs:
        if output["output_type"] != "stream":
            joined.append(output)
        elif output["name"] in first:
            first[output["name"]]["text"] += output["text"]
        else:  # a copy: the notebook's own outputs stay as they are
            first[output["name"]] = type(output)(output)
            joined.append(first[output["name"]])
    return _myst_nb_coalesce(joined)


def setup(app: Any) -> dict[str, bool]:
    render.coalesce_streams = join_streams
    return {"parallel_read_safe": True, "parallel_write_safe": True}
