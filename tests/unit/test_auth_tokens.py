"""Tokens, the rate limiter and the security settings, without servers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from api.security import RateLimiter, SecuritySettings, Unauthenticated
from api.security.tokens import issue, username_of

SETTINGS = SecuritySettings(jwt_secret="a test key that is long enough for HS256 signing")


def test_a_token_names_its_user_until_the_session_times_out() -> None:
    token = issue("ana", SETTINGS)
    assert username_of(token.access_token, SETTINGS) == "ana"
    assert token.expires_in == 30 * 60
    old = issue("ana", SETTINGS, now=datetime.now(UTC) - timedelta(minutes=31))
    with pytest.raises(Unauthenticated, match="expired"):
        username_of(old.access_token, SETTINGS)


def test_a_token_verified_once_still_expires_on_time() -> None:
    # verified tokens are cached: the cache must not outlive the token
    nearly_over = issue("ana", SETTINGS, now=datetime.now(UTC) - timedelta(minutes=30, seconds=-1.2))
    token = nearly_over.access_token
    assert username_of(token, SETTINGS) == "ana"
    assert username_of(token, SETTINGS) == "ana"
    time.sleep(int(nearly_over.expires_at.timestamp()) - time.time() + 0.05)  # the claim is in whole seconds
    with pytest.raises(Unauthenticated, match="expired"):
        username_of(token, SETTINGS)


def test_a_token_signed_with_another_key_or_tampered_with_is_refused() -> None:
    other = SecuritySettings(jwt_secret="another key, also long enough for HS256 signing")
    with pytest.raises(Unauthenticated, match="invalid"):
        username_of(issue("ana", other).access_token, SETTINGS)
    head, body, signature = issue("ana", SETTINGS).access_token.split(".")
    with pytest.raises(Unauthenticated, match="invalid"):
        username_of(f"{head}.{body}.{signature[::-1]}", SETTINGS)


def test_the_rate_limiter_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.allow("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.allow("a")
    assert 0.9 < wait <= 1.0
    assert limiter.allow("b") == 0.0  # per client
    assert RateLimiter(per_minute=0, burst=1).allow("a") == 0.0  # 0: no limit
    time.sleep(0.05)
    assert limiter.allow("a") > 0


def test_each_worker_process_limits_to_its_share_of_the_budget() -> None:
    limiter = RateLimiter.of_worker(SecuritySettings(rate_limit_per_minute=120, rate_limit_burst=6, workers=3))
    assert [limiter.allow("a") for _ in range(2)] == [0.0, 0.0]  # a third of the burst
    assert 1.4 < limiter.allow("a") <= 1.5  # a third of the rate: 40 a minute


def test_settings_refuse_the_development_secret_in_production_and_bad_networks() -> None:
    with pytest.raises(ValidationError, match="TWINHOOD_JWT_SECRET"):
        SecuritySettings(environment="production")
    with pytest.raises(ValidationError, match="not an IP address"):
        SecuritySettings(ip_blacklist=["10.0.0.0/8", "nonsense"])
    settings = SecuritySettings(
        ip_blacklist="10.0.0.0/8, 192.168.1.7", cors_origins="https://a.example,https://b.example"
    )
    assert [str(n) for n in settings.blacklisted_networks()] == ["10.0.0.0/8", "192.168.1.7/32"]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
