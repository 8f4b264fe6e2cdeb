"""EMNIST for a network, in one import: the public face of four small modules.

``from nnlib.data import load_emnist, train_val_split, to_float32`` is all a chapter or
a script needs. Each name is defined, documented and tested in the module of its idea;
read (or monkeypatch) it there:

=======================  ==========================================================
``nnlib.emnist``         reading NIST's archive: :func:`load_emnist`, :class:`EMNIST`,
                         :class:`DataSource`, :data:`OFFICIAL_COUNTS`, member names
``nnlib.download``       finding the archive (argument, ``NNLIB_EMNIST_PATH``, the
                         emnist cache) or downloading it with a verified SHA-256
``nnlib.preprocessing``  :func:`to_float32`, :func:`train_val_split`
``nnlib.batching``       :func:`iterate_minibatches`
``nnlib.idx``            the IDX file format inside the archive
=======================  ==========================================================
"""

from .batching import iterate_minibatches
from .download import (
    ARCHIVE_SHA256,
    EMNIST_CACHE_FILE,
    ENV_VAR,
    NIST_URL,
    ORIGINS,
    DownloadError,
    download_emnist,
    download_file,
    download_urls,
    emnist_cache_path,
    ensure_emnist,
    file_sha256,
    locate_archive,
    missing_data_message,
    resolve_archive,
)
from .emnist import (
    EMNIST,
    GET_A_GOOD_COPY,
    IMAGE_SHAPE,
    MAX_MEMBER_BYTES,
    OFFICIAL_COUNTS,
    SPLITS,
    DataSource,
    MissingMemberError,
    load_emnist,
    mapping_name,
    member_name,
    parse_mapping,
    upright,
)
from .preprocessing import to_float32, train_val_split

__all__ = [
    "ARCHIVE_SHA256",
    "EMNIST",
    "EMNIST_CACHE_FILE",
    "ENV_VAR",
    "GET_A_GOOD_COPY",
    "IMAGE_SHAPE",
    "MAX_MEMBER_BYTES",
    "NIST_URL",
    "OFFICIAL_COUNTS",
    "ORIGINS",
    "SPLITS",
    "DataSource",
    "DownloadError",
    "MissingMemberError",
    "download_emnist",
    "download_file",
    "download_urls",
    "emnist_cache_path",
    "ensure_emnist",
    "file_sha256",
    "iterate_minibatches",
    "load_emnist",
    "locate_archive",
    "mapping_name",
    "member_name",
    "missing_data_message",
    "parse_mapping",
    "resolve_archive",
    "to_float32",
    "train_val_split",
    "upright",
]
