"""The dashboard pages through the real gateway app on real PostgreSQL (httpx TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import plotly
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from dashboards.auth import SESSION_COOKIE
from gateway.app import create_app
from liftmeter.audit import record_audit
from metering.ledger import UsageQuery, usage_totals

from dashboard_support import (
    Arms,
    csrf_of,
    figure_data,
    figure_traces,
    secret_of,
    seed_experiment,
    seed_measured_experiment,
    seed_usage,
    sign_in,
)
from gateway_harness import Harness, harness_with
from support import make_settings


@dataclass
class Shop:
    gw: Harness
    merchant_a: str
    key_a: str
    merchant_b: str
    key_b: str
    finance: str
    experiment_a: str
    experiment_b: str


@pytest.fixture
def shop(pg_url: str) -> Iterator[Shop]:
    with harness_with(make_settings(pg_url)) as gw:
        a, headers_a = gw.merchant("Shop A")
        b, headers_b = gw.merchant("Shop B")
        finance = secret_of(gw.staff("finance"))
        now = datetime.now(UTC)
        seed_usage(gw.runtime.sessions, a, calls=40, now=now)
        seed_usage(gw.runtime.sessions, b, calls=7, now=now)
        exp_a = seed_experiment(
            gw.runtime.sessions,
            a,
            periods=[Arms(units=6000), Arms(units=9000), Arms(units=12000)],
        )
        exp_b = seed_experiment(
            gw.runtime.sessions,
            b,
            periods=[Arms(units=4000, holdout_count=1200)],
            name="B's test",
        )
        gw.client.cookies.clear()
        yield Shop(gw, a, secret_of(headers_a), b, secret_of(headers_b), finance, exp_a, exp_b)


class TestSignIn:
    def test_pages_redirect_to_sign_in_without_a_session(self, shop: Shop) -> None:
        r = shop.gw.client.get("/dashboard/usage", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/dashboard/login?next=/dashboard/usage"

    def test_session_cookie_is_httponly_lax_and_holds_no_secret(self, shop: Shop) -> None:
        client = shop.gw.client
        form = client.get("/dashboard/login")
        r = client.post(
            "/dashboard/login",
            data={"api_key": shop.key_a, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/dashboard" in cookie
        assert shop.key_a not in cookie

    def test_unknown_key_is_refused_on_the_form(self, shop: Shop) -> None:
        client = shop.gw.client
        form = client.get("/dashboard/login")
        r = client.post(
            "/dashboard/login", data={"api_key": "lmk_nope", "csrf_token": csrf_of(form.text)}
        )
        assert r.status_code == 401
        assert "Unknown or revoked API key" in r.text
        assert SESSION_COOKIE not in client.cookies

    def test_sign_in_post_without_its_token_is_refused(self, shop: Shop) -> None:
        client = shop.gw.client
        client.get("/dashboard/login")
        r = client.post("/dashboard/login", data={"api_key": shop.key_a})
        assert r.status_code == 403
        assert "csrf_rejected" in r.text

    def test_a_key_without_read_scopes_cannot_sign_in(self, shop: Shop) -> None:
        r = shop.gw.client.post(
            "/v1/keys",
            json={"name": "w", "merchant_id": shop.merchant_a, "scopes": ["descriptions:write"]},
            headers=shop.gw.admin,
        )
        form = shop.gw.client.get("/dashboard/login")
        r = shop.gw.client.post(
            "/dashboard/login",
            data={"api_key": r.json()["secret"], "csrf_token": csrf_of(form.text)},
        )
        assert r.status_code == 403
        assert "cannot open the dashboards" in r.text

    def test_sign_out_needs_the_csrf_token_and_ends_the_session(self, shop: Shop) -> None:
        client = shop.gw.client
        token = sign_in(client, shop.key_a)
        assert client.post("/dashboard/logout", data={}).status_code == 403
        assert client.post("/dashboard/logout", data={"csrf_token": "x" * 43}).status_code == 403
        r = client.post("/dashboard/logout", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/dashboard/usage", follow_redirects=False).status_code == 303

    def test_revoking_the_key_ends_its_sessions(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        keys = client.get("/v1/keys", headers=shop.gw.admin).json()
        key_id = next(k["id"] for k in keys if k["merchant_id"] == shop.merchant_a)
        revoked = client.post(f"/v1/keys/{key_id}/revoke", headers=shop.gw.admin)
        assert revoked.status_code == 200
        assert client.get("/dashboard/usage", follow_redirects=False).status_code == 303

    def test_a_tampered_cookie_is_no_session(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        value = client.cookies[SESSION_COOKIE]
        body, mac = value.split(".")
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, body[:-2] + "xx." + mac, path="/dashboard")
        assert client.get("/dashboard/usage", follow_redirects=False).status_code == 303

    def test_the_session_cookie_does_not_authenticate_the_api(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        assert (
            client.get("/v1/usage?from=2026-01-01T00:00Z&to=2026-01-02T00:00Z").status_code == 401
        )

    def test_sign_in_returns_to_the_page_asked_for_with_its_query(self, shop: Shop) -> None:
        client = shop.gw.client
        r = client.get("/dashboard/usage?days=7&granularity=hour", follow_redirects=False)
        assert (
            r.headers["location"]
            == "/dashboard/login?next=/dashboard/usage%3Fdays%3D7%26granularity%3Dhour"
        )
        sign_in(client, shop.key_a, "/dashboard/usage?days=7&granularity=hour")

    def test_a_configured_secret_is_shared_by_every_gateway_process(self, shop: Shop) -> None:
        settings = shop.gw.runtime.settings
        gateway = settings.gateway.model_copy(
            update={"dashboard_session_secret": SecretStr("k" * 40), "run_relay": False}
        )
        shared = settings.model_copy(update={"gateway": gateway})
        first = TestClient(create_app(shared, runtime=shop.gw.runtime))
        second = TestClient(create_app(shared, runtime=shop.gw.runtime))
        other = TestClient(create_app(settings, runtime=shop.gw.runtime))
        sign_in(first, shop.key_a)
        for client in (second, other):
            client.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE], path="/dashboard")
        assert second.get("/dashboard/usage", follow_redirects=False).status_code == 200
        assert other.get("/dashboard/usage", follow_redirects=False).status_code == 303

    def test_sign_in_never_redirects_off_site(self, shop: Shop) -> None:
        client = shop.gw.client
        form = client.get("/dashboard/login")
        r = client.post(
            "/dashboard/login",
            data={
                "api_key": shop.key_a,
                "csrf_token": csrf_of(form.text),
                "next": "//evil.example/dashboard",
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/dashboard/usage"


class TestUsagePage:
    def test_totals_and_charts_match_the_ledger(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        r = client.get("/dashboard/usage?days=2")
        now = datetime.now(UTC)
        with shop.gw.runtime.sessions() as session:
            totals = usage_totals(
                session,
                UsageQuery(
                    start=now - timedelta(days=3),
                    end=now + timedelta(hours=1),
                    merchant_id=shop.merchant_a,
                ),
            )
        assert totals["calls"] == 40
        assert f'<strong id="kpi-calls">{totals["calls"]:,}</strong>' in r.text
        assert figure_traces(r.text, "chart-usage-calls") == 2
        assert figure_traces(r.text, "chart-usage-tokens") == 2
        assert "vllm-deepseek" in r.text
        assert "review" in r.text
        assert "Content-Security-Policy" in r.headers
        assert r.headers["cache-control"] == "no-store"

    def test_a_merchant_cannot_read_another_merchants_usage(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        r = client.get(f"/dashboard/usage?merchant_id={shop.merchant_b}")
        assert r.status_code == 404
        assert "text/html" in r.headers["content-type"]
        assert 'name="merchant_id"' not in client.get("/dashboard/usage").text

    def test_finance_picks_a_merchant_or_sees_all(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.finance)
        everyone = client.get("/dashboard/usage?days=2")
        assert '<strong id="kpi-calls">47</strong>' in everyone.text
        assert f'<option value="{shop.merchant_b}"' in everyone.text
        only_b = client.get(f"/dashboard/usage?days=2&merchant_id={shop.merchant_b}")
        assert '<strong id="kpi-calls">7</strong>' in only_b.text

    @pytest.mark.parametrize("query", ["days=3", "days=abc", "days=30&granularity=hour"])
    def test_bad_parameters_name_the_parameter(self, shop: Shop, query: str) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        r = client.get(f"/dashboard/usage?{query}")
        assert r.status_code == 400
        assert "(days)" in r.text or "(granularity)" in r.text


class TestLiftPages:
    def test_overview_lists_only_own_experiments_with_status(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a, "/dashboard/lift")
        r = client.get("/dashboard/lift")
        assert shop.experiment_a in r.text
        assert shop.experiment_b not in r.text

    def test_detail_shows_intervals_over_time(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a, "/dashboard/lift")
        r = client.get(f"/dashboard/lift/{shop.experiment_a}")
        assert r.status_code == 200
        assert figure_traces(r.text, "chart-lift-rates") == 2
        assert figure_traces(r.text, "chart-lift-relative") == 3  # band upper, lower, estimate
        assert figure_traces(r.text, "chart-lift-revenue") == 4
        assert figure_traces(r.text, "chart-lift-categories") == 1
        assert r.text.count('<tr id="result-') == 3  # one row per stored result
        assert r.text.count("<tr>") >= 1 + 3  # headers, categories

    def test_detail_shows_the_latest_period_day_by_day(self, shop: Shop) -> None:
        client = shop.gw.client
        merchant, headers = shop.gw.merchant("Shop D")
        exp = seed_measured_experiment(shop.gw.runtime.sessions, merchant)
        client.cookies.clear()
        sign_in(client, secret_of(headers), "/dashboard/lift")
        r = client.get(f"/dashboard/lift/{exp}")
        assert r.status_code == 200
        assert figure_traces(r.text, "chart-lift-daily-rates") == 2  # treatment, holdout
        assert figure_traces(r.text, "chart-lift-daily-relative") == 3  # band and estimate
        daily = figure_data(r.text, "chart-lift-daily-relative")
        upper, lower, estimate = daily["data"]
        assert lower["fill"] == "tonexty"
        assert len(upper["x"]) == len(lower["x"]) == len(estimate["x"]) > 1
        assert all(
            lo <= e <= hi for lo, e, hi in zip(lower["y"], estimate["y"], upper["y"], strict=True)
        )
        rates = figure_data(r.text, "chart-lift-daily-rates")["data"]
        assert [t["name"] for t in rates] == ["treatment", "holdout"]
        assert len(rates[0]["x"]) == 30  # every day of September
        # the per-category lift of the stored result (segments by category)
        assert figure_traces(r.text, "chart-lift-categories") == 1
        for name in ("apparel", "home", "toys"):
            assert f"<tr><td>{name}</td>" in r.text
        assert r.text.count('id="lift-results"') == 1

    def test_srm_failure_is_shown_and_nothing_is_billable(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_b, "/dashboard/lift")
        r = client.get(f"/dashboard/lift/{shop.experiment_b}")
        assert "SRM failed: nothing billed" in r.text
        assert '<strong id="kpi-conservative">0.00 USD</strong>' in r.text

    def test_insufficient_data_is_shown(self, shop: Shop) -> None:
        client = shop.gw.client
        merchant, headers = shop.gw.merchant("Shop C")
        exp = seed_experiment(
            shop.gw.runtime.sessions, merchant, periods=[Arms(units=300)], name="small"
        )
        client.cookies.clear()
        sign_in(client, secret_of(headers), "/dashboard/lift")
        r = client.get(f"/dashboard/lift/{exp}")
        assert "Insufficient data: nothing billed" in r.text

    def test_another_merchants_experiment_is_not_found(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a, "/dashboard/lift")
        assert client.get(f"/dashboard/lift/{shop.experiment_b}").status_code == 404
        assert client.get("/dashboard/lift/exp_missing").status_code == 404

    def test_finance_sees_every_merchants_experiment(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.finance, "/dashboard/lift")
        overview = client.get("/dashboard/lift").text
        assert shop.experiment_a in overview
        assert shop.experiment_b in overview
        assert client.get(f"/dashboard/lift/{shop.experiment_b}").status_code == 200


class TestAuditPage:
    def test_finance_reads_the_audit_log(self, shop: Shop) -> None:
        with shop.gw.runtime.sessions.begin() as session:
            record_audit(
                session,
                actor="key_finance",
                action="invoice.void",
                subject_type="invoice",
                subject_id="inv_1",
                merchant_id=shop.merchant_a,
                reason="duplicate <invoice>",
            )
        client = shop.gw.client
        sign_in(client, shop.finance, "/dashboard/audit")
        r = client.get("/dashboard/audit?subject_type=invoice")
        assert "invoice.void" in r.text
        assert "duplicate &lt;invoice&gt;" in r.text
        assert "No audit entries" in client.get("/dashboard/audit?subject_type=plan").text

    def test_merchants_cannot_open_it(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        assert client.get("/dashboard/audit").status_code == 403
        assert 'href="/dashboard/audit"' not in client.get("/dashboard/usage").text


class TestStaticAndErrors:
    def test_plotly_is_served_from_the_installed_package(self, shop: Shop) -> None:
        r = shop.gw.client.get("/dashboard/static/plotly.min.js")
        assert r.status_code == 200
        shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        assert r.content == shipped.read_bytes()
        assert shop.gw.client.get("/dashboard/static/dashboards.css").status_code == 200
        assert shop.gw.client.get("/dashboard/static/../app.py").status_code == 404

    def test_unknown_pages_are_html_and_the_api_keeps_json(self, shop: Shop) -> None:
        client = shop.gw.client
        sign_in(client, shop.key_a)
        page = client.get("/dashboard/nothing-here")
        assert page.status_code == 404
        assert "text/html" in page.headers["content-type"]
        api = client.get("/v1/nothing-here")
        assert api.status_code == 404
        assert api.json()["error"]["code"]

    def test_pages_are_not_in_the_openapi_schema(self, shop: Shop) -> None:
        paths = shop.gw.client.get("/openapi.json").json()["paths"]
        assert not [p for p in paths if p.startswith("/dashboard")]


def test_pages_work_on_the_embedded_sqlite_store(sqlite_url: str) -> None:
    with harness_with(make_settings(sqlite_url)) as gw:
        merchant, headers = gw.merchant("Demo shop")
        seed_usage(gw.runtime.sessions, merchant, calls=12, now=datetime.now(UTC))
        experiment = seed_experiment(gw.runtime.sessions, merchant, periods=[Arms(units=6000)] * 2)
        sign_in(gw.client, secret_of(headers))
        usage = gw.client.get("/dashboard/usage?days=2&granularity=hour")
        assert '<strong id="kpi-calls">12</strong>' in usage.text
        assert figure_traces(usage.text, "chart-usage-calls") == 2
        lift = gw.client.get(f"/dashboard/lift/{experiment}")
        assert figure_traces(lift.text, "chart-lift-relative") == 3
