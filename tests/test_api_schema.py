"""The OpenAPI schema: generated without warnings for the foundation's endpoints, served at /api/schema/.

`check --deploy` leaves schema quality to this test (ENABLE_DJANGO_DEPLOY_CHECK is off), so a
schema problem is reported here, with the file that caused it.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOUNDATION = (f"{ROOT}/cets/", f"{ROOT}/entities/")


def test_schema_has_no_warnings_from_the_foundation(tmp_path):
    out = tmp_path / "schema.yml"
    result = subprocess.run([sys.executable, "manage.py", "spectacular", "--skip-checks", "--file", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    ours = [line for line in result.stderr.splitlines() if line.startswith(FOUNDATION)]
    assert ours == []
    schema = out.read_text()
    for path in ("/api/v1/entities/", "/api/v1/units/", "/api/v1/agency-assignments/", "/api/v1/jobs/{id}/",
                 "/api/v1/me/", "EntityStatusEnum", "UnitStatusEnum", "OrganisationKindEnum"):
        assert path in schema, path
