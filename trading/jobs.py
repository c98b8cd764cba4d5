"""Job handlers of the trading app (long work with a progress bar in the portal and admin)."""

import datetime as dt

from cets.common.jobs import job_handler, job_progress

from .models import Product
from .services import bulk_expire
from .services.market import session_close_product


@job_handler("trading.session_close")
def session_close_job(job) -> dict:
    """Close a trading day product by product (each product its own transactions), reporting progress.

    A rerun after a crash redoes only what is left: withdrawn orders stay withdrawn and bars are
    recomputed from the same trades.
    """
    day = dt.date.fromisoformat(job.params["day"])
    products = list(Product.objects.filter(is_active=True).order_by("code"))
    job_progress(job, total=len(products) + 1, done=0, message="bulk proposals")
    result = {"day": str(day), "bulk_expired": bulk_expire(), "products": {}}
    job_progress(job, advance=1)
    for product in products:
        result["products"][product.code] = session_close_product(product=product, day=day)
        job_progress(job, advance=1, message=product.code)
    return result
