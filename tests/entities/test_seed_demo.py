"""`seed_demo` builds the demo with a broker configured and no worker running: its jobs run in
process (``cets.celery.tasks_in_process``), so nothing waits on a queue nobody reads."""

import os
import subprocess
import sys
from pathlib import Path

from cets.celery import app, tasks_in_process

ROOT = Path(__file__).resolve().parent.parent.parent


def test_seed_demo_completes_with_a_broker_configured_and_no_worker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_TASK_ALWAYS_EAGER")}
    # Nothing listens on port 1: a task sent to this broker could never run (sending it fails).
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", CELERY_BROKER_URL="redis://127.0.0.1:1/0",
               REDIS_URL="redis://127.0.0.1:1/0")
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    # The allocation run its job calculated was approved and issued; the compliance demo set obligations.
    assert "allowances: 2024 true-up issued (26,812,101 t)" in result.stdout
    assert "compliance: 2024 obligations 10 new" in result.stdout
    assert "Demo market ready" in result.stdout
    lines = result.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("user ")):]
    assert table[0].split() == ["user", "role", "acts", "for", "log-in", "starts", "at"]
    assert table[2].split()[0] == "huaneng" and table[2].split()[-2:] == ["password", "/home/"]
    assert len(table) == 2 + 14  # header, rule, every demo user once


def test_tasks_in_process_restores_the_configuration():
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = False
    try:
        with tasks_in_process():
            assert app.conf.task_always_eager and app.conf.task_eager_propagates
        assert not app.conf.task_always_eager and not app.conf.task_eager_propagates
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before


def test_text_table_lines_up_chinese_text():
    from entities.management.commands.seed_demo import text_table

    lines = text_table(("user", "role"), [("mee", "国家主管部门"), ("integrator", "API")]).splitlines()
    assert lines == ["user        role", "----------  ------------", "mee         国家主管部门",
                     "integrator  API"]
