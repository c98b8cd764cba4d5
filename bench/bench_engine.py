"""Throughput of the matching engine alone: random limit orders per second.

The stream imitates a busy CEA session: prices around CNY 80.00 (8,000 fen) within +-50 ticks, both
sides equally likely, 1 to 10,000 t, a few hundred owners (so self-trade prevention is exercised).
The stream is generated before the clock starts; only ``submit_limit`` calls are timed. The machine
is noisy (PERFORMANCE.md: repeats differ by up to 2x), so ``--check`` compares one run against the
target and is meant for a quiet machine.

Usage: python bench/bench_engine.py [--orders N] [--seed S] [--check]
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trading.engine import Order, OrderBook, Side  # noqa: E402

TARGET = 300_000
CENTRE_FEN = 8_000
SPREAD_TICKS = 50
OWNERS = 500


def make_stream(count: int, seed: int) -> list[Order]:
    """The seeded order stream; the same arguments always give the same orders."""
    rng = random.Random(seed)
    sides = (Side.BUY, Side.SELL)
    return [
        Order(
            number,
            sides[rng.getrandbits(1)],
            CENTRE_FEN + rng.randint(-SPREAD_TICKS, SPREAD_TICKS),
            rng.randint(1, 10_000),
            rng.randrange(OWNERS),
        )
        for number in range(1, count + 1)
    ]


def run(orders: list[Order]) -> tuple[float, int, OrderBook]:
    """Submit every order to a fresh book; return elapsed seconds, fill count and the book."""
    book = OrderBook()
    submit = book.submit_limit
    fills = 0
    start = time.perf_counter()
    for order in orders:
        fills += len(submit(order))
    return time.perf_counter() - start, fills, book


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {TARGET} orders/s")
    args = parser.parse_args()

    orders = make_stream(args.orders, args.seed)
    elapsed, fills, book = run(orders)
    rate = args.orders / elapsed
    print(f"fills: {fills}, open orders at end: {len(book)}, best bid/ask: {book.best_bid()}/{book.best_ask()}")
    print(f"orders/s: {rate:,.0f}")
    print(f"engine: {args.orders} orders in {elapsed:.3f} s = {rate:.0f} orders/s (target {TARGET})")
    return 1 if args.check and rate < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
