"""The index store: `embedded` (an index folder, the default) or `postgres` (GOVQA_STORE=postgresql://…).

`open_reader` and `open_target` pick the store from the settings; everything else reads the
`IndexStore` protocol (base.py). The embedded store's names stay importable from here.
"""

from __future__ import annotations

from .base import (  # noqa: F401
    DEFAULT_COLLECTION,
    FORMAT_VERSION,
    DocRecord,
    IndexManifest,
    IndexStore,
    RowFilter,
    StoredChunk,
)
from .embedded import (  # noqa: F401
    EXACT_MAX,
    IVF_NPROBE,
    IVF_TRAIN_PER_LIST,
    IndexReader,
    SearchOnCallingThread,
    _read_vectors,
    build_lock,
    current_generation,
    publish_generation,
    vector_index,
    warm_vectors,
    write_atomic,
    write_generation,
    write_manifest,
)
from .select import live_generation, open_reader, open_target  # noqa: F401
