"""What start-up built stays out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from jinguo_shared.cli.serving import freeze_startup_heap


class Built:
    """Stands for start-up's modules, routes and schemas: objects the collector tracks."""


def test_a_full_collection_skips_what_startup_built() -> None:
    built_at_startup = [Built() for _ in range(100_000)]
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(built_at_startup)
        assert not any(isinstance(found, Built) for found in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
    assert any(isinstance(found, Built) for found in gc.get_objects(generation=2))
