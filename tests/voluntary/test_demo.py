import io

import pytest

from entities import demo as entities_demo
from voluntary import demo
from voluntary.models import CreditUse, Issuance, Project

pytestmark = pytest.mark.django_db


def test_demo_registers_an_offshore_wind_project_with_an_issuance_and_is_idempotent():
    out = io.StringIO()
    base = entities_demo.seed(out)
    first = demo.seed(out, base)
    demo.seed(out, base)
    project = first["project"]
    assert project.state == Project.State.REGISTERED and project.methodology.code == "CCER-01-002-V01"
    # 1,826,500 MWh verified x 0.656525 tCO2/MWh (southern grid) = 1,199,142 t, split over 2022 and 2023
    assert list(Issuance.objects.values_list("vintage", "quantity")) == [(2023, 599571), (2022, 599571)]
    assert Project.objects.count() == 1 and CreditUse.objects.get().quantity == 1000
