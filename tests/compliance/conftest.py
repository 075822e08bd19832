from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.COMPLIANCE_IMPORT_DIR = tmp_path / "imports"
