import io, time
import pytest
from entities import demo as entities_demo
from voluntary import demo

@pytest.mark.django_db
def test_time():
    out = io.StringIO()
    base = entities_demo.seed(out)
    t = time.perf_counter(); demo.seed(out, base); first = time.perf_counter() - t
    t = time.perf_counter(); demo.seed(out, base); second = time.perf_counter() - t
    print(f"\nDEMO first {first:.2f}s second {second:.2f}s")
