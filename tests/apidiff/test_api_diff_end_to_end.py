"""make api-diff on a scratch repository: a spec edit, regenerated, seen from a caller's side."""

from __future__ import annotations

from pathlib import Path

import pytest

from .apidiff_helpers import git, project_repo, run_script

XENDIT_DESCRIPTION = """\
        description:
          type:
            - string
            - 'null'
          minLength: 1
          maxLength: 1000
          description: A custom description for the payment token.
          examples:
            - 'Payment for your order #123'
"""
XENDIT_CREATED = """\
        created:
          type: string
          format: date-time
          description: When the payment token was created (ISO 8601).
"""
NICKNAME = """\
        nickname:
          type: string
          maxLength: 64
          description: A name the end user gave the token.
"""
OPERATION = "specs/xendit.yaml: POST /v3/payment_tokens/{payment_token_id}/cancel (cancelToken)"
ACCEPT_HINT = (
    "To accept them knowingly, add an `API-Break-Accepted: <reason>` trailer to a commit "
    "(or run with ACCEPT_BREAKING=<reason>); see docs/docs-change-loop.md."
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The project in a git repository, on a feature branch off main."""
    repo = project_repo(tmp_path)
    git(repo, "switch", "--quiet", "--create", "feature")
    return repo


def edit_xendit(repo: Path, *replacements: tuple[str, str]) -> None:
    """Edit specs/xendit.yaml and regenerate its client, as `make generate` would."""
    spec = repo / "specs" / "xendit.yaml"
    text = spec.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1
        text = text.replace(old, new)
    spec.write_text(text, encoding="utf-8")
    generated = run_script(repo, "generate.py", "--only", "xendit")
    assert generated.returncode == 0, generated.stderr


def base(repo: Path) -> str:
    return git(repo, "rev-parse", "main").strip()[:12]


def test_removing_a_response_property_is_breaking_and_names_the_attribute(repo: Path) -> None:
    """A field dropped from Xendit's 200 and regenerated: exit 1, the attribute and field named."""
    edit_xendit(repo, (XENDIT_DESCRIPTION, ""))

    result = run_script(repo, "api_diff.py")
    assert result.returncode == 1, result.stderr
    assert result.stdout == (
        f"# API changes: working tree against {base(repo)} (merge base with main)\n"
        "\n"
        "## Python API: tokencancel_xendit_client\n"
        "- **Breaking:** attribute removed: "
        "`tokencancel_xendit_client.models.payment_token.PaymentToken.description` "
        "(was `None | str | Unset = UNSET`)\n"
        "\n"
        f"## Spec: {OPERATION}\n"
        "- **Breaking:** `response 200 body description` removed "
        "(was string, nullable, optional, maxLength 1000, minLength 1)\n"
        "\n"
        f"api-diff: 2 changes, 2 breaking. {ACCEPT_HINT}\n"
    )


def test_adding_an_optional_response_property_passes_and_lists_it(repo: Path) -> None:
    """A new optional field and a new status value: exit 0, both listed in both views."""
    statuses = "        - EXPIRED\n        - CANCELED\n"
    edit_xendit(
        repo,
        (XENDIT_CREATED, NICKNAME + XENDIT_CREATED),
        (statuses, statuses + "        - SUSPENDED\n"),
    )

    result = run_script(repo, "api_diff.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"# API changes: working tree against {base(repo)} (merge base with main)\n"
        "\n"
        "## Python API: tokencancel_xendit_client\n"
        "- attribute added: `tokencancel_xendit_client.models.payment_token.PaymentToken."
        "nickname: str | Unset = UNSET`\n"
        "- enum member added: `tokencancel_xendit_client.models.payment_token_status."
        "PaymentTokenStatus.SUSPENDED = 'SUSPENDED'`\n"
        "\n"
        f"## Spec: {OPERATION}\n"
        "- `response 200 body nickname` added (string, optional, maxLength 64)\n"
        '- `response 200 body status`: enum value `"SUSPENDED"` added\n'
        "\n"
        "api-diff: 4 changes, 0 breaking.\n"
    )


def test_a_commit_trailer_accepts_breaking_changes_knowingly(repo: Path) -> None:
    """An API-Break-Accepted trailer on a commit since the base turns exit 1 into 0, with why."""
    edit_xendit(repo, (XENDIT_DESCRIPTION, ""))
    git(
        repo,
        "commit",
        "--quiet",
        "--all",
        "--message=Xendit dropped description",
        "--message=API-Break-Accepted: Xendit no longer sends it (#42)",
    )
    commit = git(repo, "rev-parse", "--short", "HEAD").strip()

    result = run_script(repo, "api_diff.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(
        f"api-diff: 2 changes, 2 breaking, accepted: Xendit no longer sends it (#42) "
        f"(commit {commit}).\n"
    )
    assert "**Breaking:** attribute removed" in result.stdout  # still shown, only accepted

    unaccepted = run_script(repo, "api_diff.py", "--ref", "HEAD")
    assert unaccepted.returncode == 0
    assert unaccepted.stdout.endswith("api-diff: no change to the public API or the specs\n")


def test_the_ref_can_be_any_commit_and_a_bad_one_is_a_usage_error(repo: Path) -> None:
    """--ref compares with the named commit; an unknown ref exits 2 with one line."""
    (repo / "specs" / "xendit.yaml").write_text("openapi: 3.1.0\npaths: {}\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "--all", "--message=an empty Xendit spec")

    same = run_script(repo, "api_diff.py", "--ref", "HEAD")
    assert (same.returncode, same.stderr) == (0, "")
    assert same.stdout == (
        f"# API changes: working tree against {git(repo, 'rev-parse', 'HEAD')[:12]} (HEAD)\n"
        "\n"
        "api-diff: no change to the public API or the specs\n"
    )
    against_main = run_script(repo, "api_diff.py", "--ref", "main")
    assert against_main.returncode == 1
    assert "- **Breaking:** operation removed\n" in against_main.stdout

    bad = run_script(repo, "api_diff.py", "--ref", "no-such-ref")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == (
        f"api-diff: 'no-such-ref' names no commit, branch or tag in {repo.resolve()}\n"
    )
