"""The chart page and the docs page, through the Flask test client: only assets the app serves, a strict content
security policy, plotly.js vendored from the pinned wheel, the security headers on every response."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import ROOT


def test_page_and_its_assets_are_served_with_a_strict_policy(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    # Every directive, exactly: only styles (Plotly writes them) and blob: images (its PNG export) are loosened.
    assert dict(directive.split(" ", 1) for directive in policy.split("; ")) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "http" not in html.replace('lang="en"', "")
    for asset in ("/assets/chart.js", "/assets/chart.css", "/docs/assets/favicon-32x32.png"):
        assert asset in html
        assert client.get(asset).status_code == 200
    assert client.get("/assets/nope.js").status_code == 404


def test_plotly_is_served_by_the_app_gzipped_or_plain(client: FlaskClient) -> None:
    import gzip

    zipped = client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    plain = client.get("/assets/plotly.min.js")
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    assert plain.data.startswith(b"/**\n* plotly.js v")


def test_vendored_plotly_matches_the_pinned_wheel() -> None:
    import gzip
    from importlib import resources

    vendored = ROOT / "cryptopredict/serving/static/vendor/plotly.min.js.gz"
    assert (
        gzip.decompress(vendored.read_bytes())
        == (resources.files("plotly") / "package_data/plotly.min.js").read_bytes()
    )


def test_docs_page_uses_only_assets_the_app_serves(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assets = [part.split('"')[0] for part in page.split('="')[1:] if part.startswith("/docs/assets/")]
    assert len(assets) == 4
    assert "http" not in page.replace("http-equiv", "")
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.data) > 100


def test_docs_assets_do_not_expose_other_files(client: FlaskClient) -> None:
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2f__init__.py").status_code == 404


def test_every_response_has_the_security_headers(client: FlaskClient) -> None:
    for url in ("/bitcoin?date=2024-12-01", "/bitcoin?date=bad", "/nope", "/docs"):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
