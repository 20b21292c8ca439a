"""The Python view of api-diff on small synthetic packages: what counts as breaking a caller."""

from __future__ import annotations

from pathlib import Path

from .apidiff_helpers import api_diff, write_tree

OLD = {
    "overlay/tokencancel/__init__.py": """
        from ._client import Client
        from ._kinds import Outcome, Settings

        __all__ = ["Client", "Outcome", "Settings", "cancel", "narrow", "widen", "LIMIT"]

        LIMIT = 10


        def cancel(token: str, *, reason: str = "") -> str:
            return token


        def widen(token: str) -> None:
            pass


        def narrow(token: str | int) -> None:
            pass
    """,
    "overlay/tokencancel/_client.py": """
        class Client:
            def cancel(self, token: str) -> str:
                return token

            def close(self) -> None:
                pass
    """,
    "overlay/tokencancel/_kinds.py": """
        from enum import StrEnum

        import attrs


        class Outcome(StrEnum):
            CANCELLED = "cancelled"
            PENDING = "pending"
            GONE = "gone"


        @attrs.frozen
        class Settings:
            key: str
            region: str = "id"
            timeout: float | None = None
    """,
}

NEW = {
    "overlay/tokencancel/__init__.py": """
        from ._client import Client
        from ._kinds import Outcome, Settings

        __all__ = ["Client", "Outcome", "Settings", "cancel", "narrow", "widen", "LIMIT"]

        LIMIT = 20


        def cancel(token: str, *, reason: str = "", dry_run: bool = False) -> str:
            return token


        def widen(token: str | int) -> None:
            pass


        def narrow(token: str) -> None:
            pass
    """,
    "overlay/tokencancel/_client.py": """
        class Client:
            def cancel(self, token: str, provider: str) -> str:
                return token
    """,
    "overlay/tokencancel/_kinds.py": """
        from enum import StrEnum

        import attrs


        class Outcome(StrEnum):
            CANCELLED = "cancelled"
            PENDING = "processing"
            EXPIRED = "expired"


        @attrs.frozen
        class Settings:
            key: str
            secret: str
            region: str = "id"
            timeout: float = 15.0
            retries: int = 2
    """,
}


def test_each_kind_of_change_is_listed_and_judged_for_a_caller(tmp_path: Path) -> None:
    """griffe's breakages plus the additions and annotation changes it leaves out, exactly."""
    old = api_diff.load_packages(write_tree(tmp_path / "old", OLD))
    new = api_diff.load_packages(write_tree(tmp_path / "new", NEW))

    changes = api_diff.python_changes(old, new)

    assert {change.section for change in changes} == {"tokencancel"}
    assert [(change.breaking, change.text) for change in changes] == [
        (True, "enum member removed: `tokencancel.Outcome.GONE` (was `'gone'`)"),
        (True, "enum value changed: `tokencancel.Outcome.PENDING`: `'pending'` -> `'processing'`"),
        (True, "function removed: `tokencancel.Client.close` (was `(self) -> None`)"),
        (True, "parameter type changed: `tokencancel.narrow(token)`: `str | int` -> `str`"),
        (True, "required constructor argument added: `tokencancel.Settings(secret)`"),
        (True, "required parameter added: `tokencancel.Client.cancel(provider)`"),
        (True, "type changed: `tokencancel.Settings.timeout`: `float | None` -> `float`"),
        (False, "attribute added: `tokencancel.Settings.retries: int = 2`"),
        (False, "attribute added: `tokencancel.Settings.secret: str`"),
        (False, "enum member added: `tokencancel.Outcome.EXPIRED = 'expired'`"),
        (False, "optional parameter added: `tokencancel.cancel(dry_run)`: `bool = False`"),
        (False, "parameter type changed: `tokencancel.widen(token)`: `str` -> `str | int`"),
        (False, "value changed: `tokencancel.LIMIT`: `10` -> `20`"),
        (False, "value changed: `tokencancel.Settings.timeout`: `None` -> `15.0`"),
    ]


def test_identical_trees_have_no_change(tmp_path: Path) -> None:
    """The same source in two places is no change at all (nothing is keyed on file paths)."""
    old = api_diff.load_packages(write_tree(tmp_path / "old", OLD))
    new = api_diff.load_packages(write_tree(tmp_path / "new", OLD))
    assert api_diff.python_changes(old, new) == []


def test_a_package_that_disappears_is_breaking_and_a_new_one_is_not(tmp_path: Path) -> None:
    """Whole packages count too: the overlay gone breaks every caller."""
    with_overlay = api_diff.load_packages(write_tree(tmp_path / "old", OLD))
    without = api_diff.load_packages(tmp_path / "empty")
    assert [(c.breaking, c.text) for c in api_diff.python_changes(with_overlay, without)] == [
        (True, "package removed: `tokencancel`")
    ]
    assert [(c.breaking, c.text) for c in api_diff.python_changes(without, with_overlay)] == [
        (False, "package added: `tokencancel`")
    ]
