import os

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(scope="session")
def sample_csv(tmp_path_factory):
    """A small generated catalog in the amazon.csv format."""
    from recsys_assets.sample.generator import generate_catalog, write_catalog

    path = tmp_path_factory.mktemp("input") / "catalog.csv"
    write_catalog(generate_catalog(n_products=60, n_users=150, n_reviews=900, seed=3), path)
    return path


def shared_file(*parts: str) -> str:
    """A file of ../shared/data, or skip the test when it is not there."""
    path = os.path.join(SHARED_DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} is not available")
    return path
