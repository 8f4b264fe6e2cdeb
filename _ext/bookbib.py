"""Bibliography entries labelled like the citations in the text: "Cohen et al., 2017".

The text cites author-year (``bibtex_reference_style: author_year`` in ``_config.yml``);
pybtex's stock styles label the list with numbers or alpha codes ([CATvS17]). This style
labels every entry of the reference list with the same "Author, Year" / "Author and
Author, Year" / "Author et al., Year" the reader saw in the text, sorted by author and
year.
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    words = person.prelast_names + person.last_names
    return " ".join(words).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author", [])
            names = [_surname(p) for p in people]
            if len(names) > 2:
                who = f"{names[0]} et al."
            else:
                who = " and ".join(names) or entry.fields.get("title", "?")
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "bookbib-author-year"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "bookbib-author-year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "bookbib", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
