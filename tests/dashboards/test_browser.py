"""The dashboards in headless Chromium against a real gateway (uvicorn) on PostgreSQL.

Debian's Chromium (`scripts/chromium.sh` installs it) is driven by Playwright with the flags
of SERVICES.md; Playwright's own browser download is never used. Screenshots go to
`var/artifacts/screenshots/` (ignored by git). Without Chromium the tests skip, or fail when
LIFTMETER_TEST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from billing.review.service import enqueue_review
from gateway.app import create_app
from gateway.keys import create_merchant, issue_key
from liftmeter.runtime import Runtime, open_runtime
from liftmeter.settings import Settings

from billing_support import draft_invoice
from dashboard_support import Arms, seed_experiment, seed_measured_experiment, seed_usage
from support import REQUIRE_SERVICES, ROOT, make_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("LIFTMETER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "var" / "artifacts" / "screenshots"
READ_SCOPES = ["descriptions:write", "conversions:write", "usage:read", "invoices:read"]


@dataclass
class Site:
    url: str
    key_a: str
    key_b: str
    experiment_a: str
    experiment_b: str
    key_c: str
    experiment_c: str


def _serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture
def site(pg_url: str) -> Iterator[Site]:
    settings = _settings(pg_url)
    runtime = open_runtime(settings)
    with runtime.sessions.begin() as session:
        a = create_merchant(session, name="Shop A").id
        b = create_merchant(session, name="Shop B").id
        key_a = issue_key(session, merchant_id=a, name="a", scopes=READ_SCOPES).secret
        key_b = issue_key(session, merchant_id=b, name="b", scopes=READ_SCOPES).secret
        c = create_merchant(session, name="Shop C").id
        key_c = issue_key(session, merchant_id=c, name="c", scopes=READ_SCOPES).secret
    seed_usage(runtime.sessions, a, calls=60, now=datetime.now(UTC))
    exp_a = seed_experiment(
        runtime.sessions, a, periods=[Arms(units=6000), Arms(units=9000), Arms(units=12000)]
    )
    exp_b = seed_experiment(runtime.sessions, b, periods=[Arms(units=4000, holdout_count=1200)])
    exp_c = seed_measured_experiment(runtime.sessions, c)
    with _served(settings, runtime) as url:
        yield Site(url, key_a, key_b, exp_a, exp_b, key_c, exp_c)


@contextmanager
def _served(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """The gateway app under uvicorn until the block ends; then the runtime is closed."""
    url, server, thread = _serve(create_app(settings, runtime=runtime))
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.close()


def _settings(pg_url: str) -> Settings:
    settings = make_settings(pg_url)
    return settings.model_copy(
        update={"gateway": settings.gateway.model_copy(update={"run_relay": False})}
    )


@dataclass
class Console:
    url: str
    finance: str
    key_a: str
    invoice_a: str
    invoice_b: str
    reviewer: str
    review_item: str


@pytest.fixture
def console(pg_url: str) -> Iterator[Console]:
    """Two merchants with an October draft each (plan, ledger, lift result, run), a finance key."""
    settings = _settings(pg_url)
    runtime = open_runtime(settings)
    with runtime.sessions.begin() as session:
        a = create_merchant(session, name="Shop A").id
        b = create_merchant(session, name="Shop B").id
        key_a = issue_key(session, merchant_id=a, name="a", scopes=READ_SCOPES).secret
        finance = issue_key(session, merchant_id=None, name="fin", scopes=["finance"]).secret
        reviewer = issue_key(session, merchant_id=None, name="rev", scopes=["review"]).secret
        review_item = enqueue_review(
            session,
            call_id="call_review_1",
            description_id="desc_review_1",
            merchant_id=a,
            product_id="sku-vit",
            text="Daily vitamin blend that supports your immune system.",
            category="health",
            score=0.47,
            reasons=["sensitive_category:health"],
            model_version="risk-test",
        ).id
    invoice_a = draft_invoice(runtime.sessions, a)
    invoice_b = draft_invoice(runtime.sessions, b)
    with _served(settings, runtime) as url:
        yield Console(url, finance, key_a, invoice_a, invoice_b, reviewer, review_item)


def browser_unavailable(why: str) -> None:
    """Skip, or fail where services are required (CI must not pass by skipping)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"browser tests cannot run: {why}")
    pytest.skip(f"browser tests cannot run: {why}")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        browser_unavailable(f"{CHROMIUM} is missing; install it with scripts/chromium.sh")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        browser_unavailable(f"playwright is not installed ({exc})")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # Responses with an error status (the 403 and 404 the tests ask for) are logged too.
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert not errors, f"errors in the page: {errors}"


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Site | Console, key: str, path: str = "/dashboard/usage") -> None:
    page.goto(site.url + path)
    assert page.url.startswith(site.url + "/dashboard/login")
    shoot(page, "sign-in")
    page.fill("input[name=api_key]", key)
    page.click("#sign-in button[type=submit]")
    page.wait_for_url(site.url + path)


def traces_of(page: Any, element_id: str) -> int:
    """Traces plotly drew in the chart `element_id` (waits for its SVG)."""
    page.wait_for_selector(f"#{element_id} .main-svg", timeout=15_000)
    count: int = page.evaluate(f"document.getElementById('{element_id}').data.length")
    return count


def test_sign_in_read_usage_and_lift_then_sign_out(page: Any, site: Site) -> None:
    sign_in(page, site, site.key_a)
    assert page.inner_text("#kpi-calls") == "60"
    assert traces_of(page, "chart-usage-calls") == 2
    assert traces_of(page, "chart-usage-tokens") == 2
    shoot(page, "usage")

    page.click("nav a:has-text('Lift')")
    page.click(f"a[href='/dashboard/lift/{site.experiment_a}']")
    page.wait_for_url(f"{site.url}/dashboard/lift/{site.experiment_a}")
    assert traces_of(page, "chart-lift-relative") == 3
    assert traces_of(page, "chart-lift-revenue") == 4
    assert traces_of(page, "chart-lift-rates") == 2
    assert page.locator("#lift-results tbody tr").count() == 3
    shoot(page, "lift")

    page.click("#sign-out")
    page.wait_for_url(site.url + "/dashboard/login")
    page.goto(site.url + "/dashboard/usage")
    assert page.url.startswith(site.url + "/dashboard/login")


def test_the_latest_period_is_drawn_day_by_day_with_its_band(page: Any, site: Site) -> None:
    sign_in(page, site, site.key_c, f"/dashboard/lift/{site.experiment_c}")
    assert traces_of(page, "chart-lift-daily-rates") == 2
    assert traces_of(page, "chart-lift-daily-relative") == 3
    band = page.locator("#chart-lift-daily-relative path.js-fill")
    assert band.count() >= 1
    assert page.locator("#lift-results tbody tr").count() == 1
    shoot(page, "lift-over-time")


def test_srm_failure_is_plain_to_see(page: Any, site: Site) -> None:
    sign_in(page, site, site.key_b, f"/dashboard/lift/{site.experiment_b}")
    assert "SRM failed" in page.inner_text("#lift-status")
    assert page.inner_text("#kpi-conservative") == "0.00 USD"
    shoot(page, "lift-srm-failed")


def test_a_merchant_cannot_open_another_merchants_page(page: Any, site: Site) -> None:
    sign_in(page, site, site.key_a)
    response = page.goto(f"{site.url}/dashboard/lift/{site.experiment_b}")
    assert response.status == 404
    assert site.experiment_b not in page.content()
    response = page.goto(f"{site.url}/dashboard/usage?merchant_id=mer_other")
    assert response.status == 404


def test_posts_without_the_csrf_token_are_refused(page: Any, site: Site) -> None:
    sign_in(page, site, site.key_a)
    status = page.evaluate(
        "fetch('/dashboard/logout', {method: 'POST', body: new URLSearchParams()})"
        ".then(r => r.status)"
    )
    assert status == 403

    # A form on another site that posts to the dashboards: the browser withholds the
    # SameSite=Lax session cookie and the token is missing, so the session survives.
    evil = "http://evil.test/"
    form = (
        f"<form id=f method=post action='{site.url}/dashboard/logout'></form>"
        "<script>document.getElementById('f').submit()</script>"
    )
    page.route(evil, lambda route: route.fulfill(content_type="text/html", body=form))
    page.goto(evil)
    page.wait_for_url(f"{site.url}/dashboard/**")
    page.goto(site.url + "/dashboard/usage")
    assert page.url == site.url + "/dashboard/usage"
    assert page.inner_text("#kpi-calls") == "60"


def test_finance_finalizes_an_invoice_and_exports_it(page: Any, console: Console) -> None:
    sign_in(page, console, console.finance, "/dashboard/invoices")
    assert page.locator("#invoices tbody tr").count() == 2
    shoot(page, "invoices")
    page.click(f"a[href='/dashboard/invoices/{console.invoice_a}']")
    page.wait_for_url(f"{console.url}/dashboard/invoices/{console.invoice_a}")
    assert page.inner_text("#invoice-number") == "—"
    total = page.inner_text("#invoice-total")
    page.click("#invoice-lines summary:has-text('lift result')")
    assert page.locator("#invoice-lines a.lift-link").is_visible()
    shoot(page, "invoice-draft")

    page.fill("#finalize-form input[name=reason]", "October closed")
    page.click("#finalize")
    page.wait_for_url(f"{console.url}/dashboard/invoices/{console.invoice_a}?done=finalized")
    assert re.fullmatch(r"INV-\d{4}-\d{6}", page.inner_text("#invoice-number"))
    assert page.inner_text("#invoice-status") == "finalized"
    audit = page.inner_text("#invoice-audit")
    assert "invoice.finalize" in audit
    assert "October closed" in audit
    assert page.locator("#finalize-form").count() == 0
    assert page.inner_text("#invoice-total") == total
    shoot(page, "invoice-finalized")

    href = page.get_attribute("#export-csv", "href")
    text = page.evaluate("(url) => fetch(url).then(r => r.text())", href)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["kind"] == "total"
    assert Decimal(rows[-1]["amount"]) == Decimal(total.replace(",", ""))
    assert rows[0]["invoice_number"] == page.inner_text("#invoice-number")

    page.click("#invoice-lines summary:has-text('lift result')")
    page.click("#invoice-lines a.lift-link")
    page.wait_for_url(f"{console.url}/dashboard/lift/**")
    assert page.locator("#lift-results").count() == 1


def test_finalizing_a_finalized_invoice_shows_the_refusal(page: Any, console: Console) -> None:
    path = f"/dashboard/invoices/{console.invoice_a}"
    sign_in(page, console, console.finance, path)
    stale = page.context.new_page()  # a second tab still showing the draft
    stale.goto(console.url + path)
    page.click("#finalize")
    page.wait_for_url(f"{console.url}{path}?done=finalized")
    number = page.inner_text("#invoice-number")

    stale.click("#finalize")
    stale.wait_for_selector("#action-error")
    assert "invoice_not_draft" in stale.inner_text("#action-error")
    assert stale.inner_text("#invoice-number") == number
    assert stale.locator("#invoice-audit tbody tr").count() == 1
    shoot(stale, "invoice-refused")
    stale.close()


def test_a_merchant_cannot_open_another_merchants_invoice(page: Any, console: Console) -> None:
    sign_in(page, console, console.key_a, "/dashboard/invoices")
    assert page.locator("#invoices tbody tr").count() == 1
    page.click(f"a[href='/dashboard/invoices/{console.invoice_a}']")
    page.wait_for_url(f"{console.url}/dashboard/invoices/{console.invoice_a}")
    assert page.locator("#invoice-actions").count() == 0
    response = page.goto(f"{console.url}/dashboard/invoices/{console.invoice_b}")
    assert response.status == 404
    assert console.invoice_b not in page.content()
    shoot(page, "invoice-not-found")


def test_a_reviewer_approves_an_output_from_the_queue(page: Any, console: Console) -> None:
    sign_in(page, console, console.reviewer, "/dashboard/review")
    item = page.locator(f"#item-{console.review_item}")
    assert "sensitive_category:health" in item.inner_text()
    assert "risk score 0.47" in item.inner_text()
    shoot(page, "review-queue")
    item.locator("input[name=note]").fill("claims are fine")
    item.locator("button[value=approve]").click()
    page.wait_for_url(f"{console.url}/dashboard/review?done=approve")
    assert "Approved" in page.inner_text("#action-done")
    assert page.locator(f"#item-{console.review_item}").count() == 0
    page.select_option("#review-filters select[name=status]", "approved")
    page.click("#review-filters button[type=submit]")
    page.wait_for_url(f"{console.url}/dashboard/review?status=approved")
    assert "claims are fine" in page.inner_text(f"#item-{console.review_item}")
    shoot(page, "review-approved")
