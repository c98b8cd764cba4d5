"""Load test of the busy day before the surrender deadline (issue 10, point 6): locust, headless.

Entity users read their holdings and obligations, place and cancel listed orders (sellers list, buyers
cross them) and surrender, through the public REST API with their tokens. Locust is the optional
extra ``load`` (not installed by default). Run it against gunicorn on 127.0.0.1 with PostgreSQL and
Redis, on a database where a replay left open obligations:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cets_load .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python manage.py replay_cycle --entities 300 --out bench/out/load_replay.json
        # (the replay closes the cycle; for a load test stop it before "surrender", or reopen obligations
        #  on a copy: the locust users only need entity users with holdings, cash and open obligations)
    DATABASE_URL=... .venv/bin/python manage.py shell -c "import json; from rest_framework.authtoken.models \
        import Token; from entities.models import User; print(json.dumps([Token.objects.get_or_create(user=u)[0].key \
        for u in User.objects.filter(role='entity', username__startswith='rp')]))" > bench/out/locust_tokens.json
    DATABASE_URL=... REDIS_URL=redis://127.0.0.1:6379/0 SECURE_SSL_REDIRECT=0 \
        .venv/bin/gunicorn cets.wsgi -w 2 -b 127.0.0.1:8001 &
    LOCUST_TOKENS=bench/out/locust_tokens.json .venv/bin/locust -f bench/locustfile.py --headless \
        -u 50 -r 10 -t 2m --host http://127.0.0.1:8001 --csv bench/out/locust
    DATABASE_URL=... .venv/bin/python manage.py check_ledger && .venv/bin/python manage.py verify_audit

Locust prints throughput (req/s), p50/p99 latency and failures per request name; ``--csv`` keeps them.
Listed orders are accepted only inside a trading session (Beijing 9:30-11:30, 13:00-15:00 on trading
days): outside it, widen the products' listed sessions on the load-test database in the admin, or the
order requests fail with ``session_closed`` (counted as failures, by design).
"""

import json
import os
import random
import uuid

from locust import HttpUser, between, task

TOKENS = json.loads(open(os.environ.get("LOCUST_TOKENS", "bench/out/locust_tokens.json")).read())


class EntityUser(HttpUser):
    """One key emitting entity's carbon manager on the day before the deadline."""

    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.client.headers.update({"Authorization": f"Token {random.choice(TOKENS)}",
                                    "Accept-Language": "en"})
        self.product = "CEA22"
        self.price = self._close()

    def _close(self) -> float:
        with self.client.get(f"/api/v1/trading/products/{self.product}/", name="product",
                             catch_response=True) as r:
            if r.status_code == 200:
                return float(r.json().get("previous_close") or 60)
            r.success()
            return 60.0

    def _write(self, url: str, payload: dict | None, name: str):
        """Writes carry an Idempotency-Key, as integrators must; a domain refusal (4xx) is not an error of
        the system under load, so only 5xx and timeouts count as failures."""
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        with self.client.post(url, json=payload or {}, headers=headers, name=name, catch_response=True) as r:
            if r.status_code < 500:
                r.success()
            return r

    @task(6)
    def read_holdings(self):
        self.client.get("/api/v1/registry/holdings/", name="holdings")

    @task(3)
    def read_obligations(self):
        self.client.get("/api/v1/compliance/obligations/?cycle__code=2021-2022", name="obligations")

    @task(2)
    def read_book(self):
        self.client.get(f"/api/v1/trading/products/{self.product}/", name="product")

    @task(3)
    def place_and_cancel(self):
        """List a small sell (or bid) near the close, then cancel what is still open."""
        side = random.choice(["SELL", "BUY"])
        price = round(self.price * random.uniform(0.99, 1.01), 2)
        r = self._write("/api/v1/trading/orders/", {"product": self.product, "side": side, "price": f"{price:.2f}",
                                                    "quantity": str(random.randint(100, 5000))}, "order place")
        if r.status_code == 201:
            order = r.json().get("order", {})
            if order.get("open_quantity"):
                self._write(f"/api/v1/trading/orders/{order['id']}/cancel/", None, "order cancel")

    @task(1)
    def surrender(self):
        """Surrender a slice of what is still owed, from the year's own vintage."""
        r = self.client.get("/api/v1/compliance/obligations/?cycle__code=2021-2022&status=open", name="obligations")
        if r.status_code != 200:
            return
        rows = [o for o in r.json().get("results", []) if int(o.get("remaining_tco2") or 0) > 0]
        if not rows:
            return
        o = random.choice(rows)
        quantity = max(1, min(int(o["remaining_tco2"]), random.randint(1000, 20000)))
        self._write(f"/api/v1/compliance/obligations/{o['id']}/surrender/",
                    {"items": [{"kind": "cea", "vintage": o["year"], "quantity": quantity}]}, "surrender")
