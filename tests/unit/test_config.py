import pytest

from kaifang.config import DEFAULT_SECRET, Environment, InsecureSettingsError, Settings


def test_default_secret_refused_in_production():
    with pytest.raises(InsecureSettingsError):
        Settings(environment=Environment.PRODUCTION)


def test_short_secret_refused_in_production():
    with pytest.raises(InsecureSettingsError):
        Settings(environment=Environment.PRODUCTION, secret_key="short")


def test_default_secret_allowed_for_demo_and_development():
    assert Settings(environment=Environment.DEMO).secret_key == DEFAULT_SECRET
    assert Settings(environment=Environment.DEVELOPMENT).secret_key == DEFAULT_SECRET


def test_settings_read_from_environment(monkeypatch):
    monkeypatch.setenv("KAIFANG_ENVIRONMENT", "production")
    monkeypatch.setenv("KAIFANG_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("KAIFANG_JURISDICTION", "chongqing")
    settings = Settings()
    assert settings.environment == Environment.PRODUCTION
    assert settings.jurisdiction == "chongqing"
