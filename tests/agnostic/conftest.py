from tests.runtime.conftest import character, make_runtime  # noqa: F401  (shared fixtures)
