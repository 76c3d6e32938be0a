"""Java client .properties files become librdkafka settings."""

import os

import pytest

from gradstream import kafka_settings, read_properties


def test_properties_files_are_read_as_java_reads_them(tmp_path):
    f = tmp_path / "a.properties"
    f.write_text("# comment\n! also a comment\n  a=1\nb : two words \nc three\nd=x\\\n   y\ne=tab\\there\\u0041\n"
                 "f\\=g=h\nempty=\n")
    assert read_properties(f) == {"a": "1", "b": "two words ", "c": "three", "d": "xy", "e": "tab\thereA",
                                  "f=g": "h", "empty": ""}


def test_a_secured_client_file_becomes_librdkafka_settings(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    secrets = tmp_path / "secrets.properties"
    value = os.urandom(8).hex()  # a throwaway value, made here
    secrets.write_text(f"pw={value}\n")
    f = credentials / "worker.properties"
    f.write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                 "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                 f'username="worker" password="${{file:{secrets}:pw}}";\n'
                 "ssl.truststore.type=PKCS12\nssl.truststore.location=/x/truststore.p12\n"
                 "config.providers=file\nssl.endpoint.identification.algorithm=\n")
    s = kafka_settings(f, bootstrap_servers="127.0.0.1:9093", client_id="w0")
    assert s == {"security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "worker",
                 "sasl.password": value, "ssl.endpoint.identification.algorithm": "none",
                 "ssl.ca.location": os.path.normpath(str(tmp_path / "tls" / "ca.crt")),
                 "bootstrap.servers": "127.0.0.1:9093", "client.id": "w0"}


def test_what_librdkafka_cannot_use_is_refused_with_the_reason(tmp_path, monkeypatch):
    f = tmp_path / "c.properties"
    f.write_text("security.protocol=SSL\nssl.truststore.location=/x/t.p12\n")
    with pytest.raises(ValueError, match="librdkafka cannot read.*ca_location="):
        kafka_settings(f)
    assert kafka_settings(f, ca_location="/ca.pem")["ssl.ca.location"] == "/ca.pem"
    f.write_text("security.protocol=SASL_SSL\nsasl.jaas.config=com.example.Kerberos required;\n")
    with pytest.raises(ValueError, match="no username"):
        kafka_settings(f, ca_location="/ca.pem")
    monkeypatch.setenv("GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    assert kafka_settings() == {"bootstrap.servers": "kafka:9092"}
