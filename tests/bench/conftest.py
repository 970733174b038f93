from tests.models.conftest import _fake_openai_server, fake_openai  # noqa: F401  (shared fixtures)
