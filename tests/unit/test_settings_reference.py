"""The README's settings reference is generated from the settings classes; secrets may come from files."""

from __future__ import annotations

from pathlib import Path

import pytest
from learnloop_shared import settings_doc
from learnloop_shared.kafka.connection import client_options
from learnloop_shared.settings import ServiceSettings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_readme_settings_reference_is_up_to_date():
    text = README.read_text()
    assert settings_doc.replace_block(text, settings_doc.render()) == text, (
        "README.md's settings reference is out of date: run "
        "`.venv/bin/python -m learnloop_shared.settings_doc --write README.md`"
    )


def test_every_setting_is_documented():
    rendered = settings_doc.render()
    for name in ServiceSettings.model_fields:
        assert f"`LEARNLOOP_{name.upper()}" in rendered, name
    assert "`OTEL_METRICS_EXPORTER`" in rendered and "`LEARNLOOP_FANOUT_BATCH_SIZE`" in rendered


def test_secrets_from_files_replace_plain_values_and_stay_out_of_reprs(tmp_path):
    mongo = tmp_path / "mongo-url"
    mongo.write_text("mongodb://app:s3cret@db.example:27017/?tls=true\n")
    password = tmp_path / "sasl"
    password.write_text("kafka-pass\n")
    s = ServiceSettings(
        auth_secret=SECRET,
        mongo_url_file=mongo,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="app",
        kafka_sasl_password="from-env",
        kafka_sasl_password_file=password,
    )
    assert s.mongo_url.get_secret_value() == "mongodb://app:s3cret@db.example:27017/?tls=true"
    assert client_options(s)["sasl_plain_password"] == "kafka-pass"
    assert "s3cret" not in repr(s) and "kafka-pass" not in repr(s) and SECRET not in repr(s)


@pytest.mark.parametrize("variable", ["LEARNLOOP_MONGO_URL_FILE", "LEARNLOOP_KAFKA_SASL_PASSWORD_FILE"])
def test_an_unreadable_secret_file_stops_start_up_naming_the_variable(variable, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEARNLOOP_AUTH_SECRET", SECRET)
    monkeypatch.setenv(variable, str(tmp_path / "missing"))
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings)
    err = capsys.readouterr().err
    assert variable in err and "cannot read" in err
