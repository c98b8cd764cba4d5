"""Order placement over HTTP (issue 7, point 11, third bullet), both sides from one run.

gunicorn (2 sync workers, persistent DB connections) on 127.0.0.1 serves the real trading API and a
bare DRF create view inserting one row (bench/bench_trading_http_urls.py). 4 client threads with
keep-alive connections send, for ``--seconds`` each:

1. POST /api/v1/trading/orders/ (token auth): random limit orders around 80.00 on CEA23, matched
   and settled through the service layer;
2. POST /bench/bare/ (token auth): one row inserted.

Prints requests/s and p50/p99 latency of each. Uses the scratch database of bench_trading.py.

Usage: python bench/bench_trading_http.py [--seconds 15]
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_trading as base  # noqa: E402  (sets DATABASE_URL and the settings module first)

PORT = 8765
CLIENTS = 4


def client_loop(token: str, path: str, body_for, seconds: float, latencies: list, errors: list, seed: int):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept-Language": "en"}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        conn.request("POST", path, body=json.dumps(body_for(rng)), headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status not in (200, 201, 400, 409):
            errors.append(response.status)
    conn.close()


def run(tokens, path, body_for, seconds) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    errors: list[int] = []
    threads = [threading.Thread(target=client_loop, args=(tokens[i], path, body_for, seconds, latencies, errors, i))
               for i in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return len(latencies) / elapsed, p50, p99, len(errors)


def order_body(rng):
    return {"product": "CEA23", "side": rng.choice(("BUY", "SELL")), "price": f"{rng.randint(7950, 8050) / 100:.2f}",
            "quantity": rng.randint(1, 1000)}


def bare_body(rng):
    return {"kind": "bench", "params": {"n": rng.randint(1, 10**6)}}


def wait_for_server() -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/api/v1/trading/products/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    base.setup_django()
    base.reset()
    participants = base.make_participants()
    from rest_framework.authtoken.models import Token

    tokens = [Token.objects.get_or_create(user_id=user_id)[0].key for user_id, _account in participants]
    # gunicorn on plain HTTP: no redirect to HTTPS (on by default when DEBUG is off).
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench_trading_http_site", "CONN_MAX_AGE": "600",
           "SECURE_SSL_REDIRECT": "0"}
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([str(root / ".venv/bin/gunicorn"), "cets.wsgi:application", "-w", "2", "-b",
                               f"127.0.0.1:{PORT}", "--pythonpath", str(root / "bench"), "--log-level", "warning"],
                              cwd=root, env=env)
    try:
        wait_for_server()
        rate, p50, p99, errors = run(tokens, "/api/v1/trading/orders/", order_body, args.seconds)
        print(f"HTTP order placement (match + settle), {CLIENTS} clients: {rate:,.0f} req/s, p50 {p50:.0f} ms, "
              f"p99 {p99:.0f} ms, {errors} errors")
        bare, b50, b99, berrors = run(tokens, "/bench/bare/", bare_body, args.seconds)
        print(f"bare DRF create view (one row), {CLIENTS} clients: {bare:,.0f} req/s, p50 {b50:.0f} ms, "
              f"p99 {b99:.0f} ms, {berrors} errors")
        print(f"placement / bare = {rate / bare:.2f}x (target >= 1.5x, p99 < 100 ms)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
