"""The pytest plugin shipped with the package: fixtures that start a sandbox only when used.

Each test runs a small test suite in a fresh pytest process (pytester), where the plugin is
loaded from its installed `pytest11` entry point, exactly as in a user's project.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# The inner runs load this plugin and pytest's own; other installed plugins (schemathesis alone
# takes seconds to import) have nothing to do with what is tested and stay off.
INNER = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")


def test_the_fixture_gives_a_running_sandbox_for_the_session(pytester: pytest.Pytester) -> None:
    # Two tests share one sandbox: a token created by the first is seen by the second; the env
    # fixture sets the client's variables; the sandbox cancels over HTTP. (Its module and thread
    # are there once used: the checks of the next test but one can fail.)
    pytester.makepyfile(
        """
        import os
        import sys
        import threading
        import httpx2

        def test_create_and_cancel(tokencancel_sandbox, tokencancel_sandbox_env):
            assert "tokencancel_sandbox._sandbox" in sys.modules
            assert [t for t in threading.enumerate() if t.name.startswith("tokencancel")]
            token_id = tokencancel_sandbox.create_token("xendit", token_id="pt-" + "1" * 36)
            assert os.environ["XENDIT_BASE_URL"] == tokencancel_sandbox_env["XENDIT_BASE_URL"]
            assert os.environ["TOKENCANCEL_OUTCOME_RULES"].endswith("outcome-rules.toml")
            response = httpx2.post(
                os.environ["XENDIT_BASE_URL"] + f"/v3/payment_tokens/{token_id}/cancel",
                auth=(os.environ["XENDIT_SECRET_KEY"], ""),
            )
            assert response.json()["status"] == "CANCELED"

        def test_same_sandbox_later(tokencancel_sandbox):
            assert tokencancel_sandbox.token_status("xendit", "pt-" + "1" * 36) == "CANCELED"
            assert set(tokencancel_sandbox.credentials) == {"kbank", "solidgate", "xendit"}
            tokencancel_sandbox.reset()
            assert tokencancel_sandbox.token_status("xendit", "pt-" + "1" * 36) is None
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=2)


def test_the_env_fixture_leaves_no_variable_behind(pytester: pytest.Pytester) -> None:
    # After a test using tokencancel_sandbox_env, os.environ is as it was.
    pytester.makepyfile(
        """
        import os

        def test_uses_env(tokencancel_sandbox_env):
            assert "KBANK_BASE_URL" in os.environ

        def test_after():
            assert "KBANK_BASE_URL" not in os.environ
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=2)


def test_a_session_that_does_not_use_it_starts_and_imports_nothing(
    pytester: pytest.Pytester,
) -> None:
    # The plugin is loaded, yet no sandbox thread runs and the sandbox's server, spec and
    # dependency modules were never imported.
    pytester.makepyfile(
        """
        import sys
        import threading

        def test_nothing_started(request):
            assert request.config.pluginmanager.hasplugin("tokencancel_sandbox")
            assert "tokencancel_sandbox.pytest_plugin" in sys.modules
            for module in ("tokencancel_sandbox._sandbox", "tokencancel_sandbox._spec",
                           "tokencancel_sandbox._server", "tokencancel_sandbox._tls"):
                assert module not in sys.modules, module
            assert not [t for t in threading.enumerate() if t.name.startswith("tokencancel")]
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=1)


def test_config_and_tls_are_chosen_by_overriding_fixtures(pytester: pytest.Pytester) -> None:
    # A conftest.py overriding tokencancel_sandbox_config and _tls gets that sandbox: here the
    # unknown vocabulary over https, with the CA in the env.
    pytester.makeconftest(
        """
        import pytest
        from tokencancel_sandbox import SandboxConfig

        @pytest.fixture(scope="session")
        def tokencancel_sandbox_config():
            return SandboxConfig(vocabulary="unknown")

        @pytest.fixture(scope="session")
        def tokencancel_sandbox_tls():
            return True
        """
    )
    pytester.makepyfile(
        """
        import ssl
        import httpx2

        def test_configured(tokencancel_sandbox):
            env = tokencancel_sandbox.env()
            assert env["XENDIT_BASE_URL"].startswith("https://")
            context = ssl.create_default_context(cafile=env["TOKENCANCEL_CA_BUNDLE"])
            response = httpx2.post(
                env["XENDIT_BASE_URL"] + "/v3/payment_tokens/pt-" + "0" * 36 + "/cancel",
                auth=(env["XENDIT_SECRET_KEY"], ""),
                verify=context,
            )
            assert response.status_code == 404
            assert response.json()["error_code"] != "DATA_NOT_FOUND"
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=1)


def test_without_the_extra_the_fixture_fails_with_the_install_command(
    pytester: pytest.Pytester,
) -> None:
    # The plugin loads without the extra; a test using the fixture errors with one clear line.
    pytester.makeconftest("import sys\nsys.modules['openapi_core'] = None\n")
    pytester.makepyfile("def test_needs_it(tokencancel_sandbox):\n    pass\n")
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "tokencancel_sandbox: the tokencancel sandbox needs its optional dependencies" in output
    assert "pip install 'tokencancel[sandbox]'" in output
    assert "Traceback" not in output
    assert "During handling" not in output
