"""check-mdd-amqp, run as Sensu runs it, against the real RabbitMQ broker on loopback.

The module makes its own vhost and user with a password (rabbitmqctl), and its own queue and
exchange there (over AMQP, as that user). RabbitMQ's TLS listener would need a change to the
shared broker's configuration, so TLS is tested through a TLS-terminating forwarder (a trustme
certificate for ``localhost`` only) in front of the real broker, as a load balancer would
stand; a forwarder that holds the broker's first answer back makes the thresholds cross.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import amqp
import amqp.exceptions
import pytest

from mdd.checks import check_amqp
from tests.checks.data_servers import (
    AMQP_PORT,
    HOST,
    forwarding,
    planted_password,
    rabbitmqctl,
    require,
    unique,
    write_password_file,
)
from tests.conftest import load_values, run_argv, run_check
from tests.test_contract import generated_command, parse_back


@dataclass
class Broker:
    port: int
    vhost: str
    user: str
    password: str
    password_file: str
    queue: str
    exchange: str


def connection(broker: Broker) -> amqp.Connection:
    conn = amqp.Connection(
        host=f"{HOST}:{broker.port}",
        userid=broker.user,
        password=broker.password,
        virtual_host=broker.vhost,
        connect_timeout=10,
    )
    conn.connect()
    return conn


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    require(AMQP_PORT, "RabbitMQ")
    vhost, user, password = unique("mdd_vhost"), unique("mdd_app"), planted_password()
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("add_user", user, password)
        rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        path = write_password_file(tmp_path_factory.mktemp("amqp"), password)
        made = Broker(AMQP_PORT, vhost, user, password, path, unique("mdd_q"), unique("mdd_x"))
        conn = connection(made)
        channel = conn.channel()
        channel.queue_declare(made.queue, durable=False, auto_delete=False)
        channel.exchange_declare(made.exchange, "topic", durable=False, auto_delete=False)
        conn.close()
        yield made
    finally:
        rabbitmqctl("delete_vhost", vhost)
        rabbitmqctl("delete_user", user)


def login(broker: Broker, **more: Any) -> dict[str, Any]:
    return {
        "host": HOST,
        "port": broker.port,
        "vhost": broker.vhost,
        "user": broker.user,
        "password": {"file": broker.password_file},
        "timeout": "5s",
        **more,
    }


def assert_no_secret(run: Any, password: str) -> None:
    assert password not in run.command
    assert password not in run.out


def queue_exists(broker: Broker, name: str) -> bool:
    conn = connection(broker)
    try:
        conn.channel().queue_declare(name, passive=True)
        return True
    except amqp.exceptions.NotFound:
        return False
    finally:
        conn.collect()


def test_guest_login_is_ok() -> None:
    require(AMQP_PORT, "RabbitMQ")
    run = run_check("amqp", point="mq", host=HOST, port=AMQP_PORT)
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"AmqpCheck OK: mq: {HOST}:{AMQP_PORT}: logged in to vhost / as guest in "
    )
    assert " | time=" in run.line and run.line.count("|") == 1


def test_queue_and_exchange_exist(broker: Broker) -> None:
    run = run_check("amqp", **login(broker, queue=broker.queue, exchange=broker.exchange))
    assert run.code == 0, run.out
    assert (
        f"logged in to vhost {broker.vhost} as {broker.user}, queue {broker.queue} exists "
        f"(0 messages, 0 consumers) and exchange {broker.exchange} exists in "
    ) in run.line
    assert_no_secret(run, broker.password)


def test_missing_queue_is_critical_and_not_created(broker: Broker) -> None:
    name = unique("mdd_absent")
    run = run_check("amqp", **login(broker, queue=name))
    assert run.code == 2, run.out
    assert f"queue '{name}' does not exist in vhost {broker.vhost}" in run.line
    assert not queue_exists(broker, name)


def test_missing_exchange_is_critical(broker: Broker) -> None:
    name = unique("mdd_absent")
    run = run_check("amqp", **login(broker, queue=broker.queue, exchange=name))
    assert run.code == 2, run.out
    assert f"exchange '{name}' does not exist in vhost {broker.vhost}" in run.line


def test_wrong_password_is_critical_and_never_shown(broker: Broker, tmp_path: Path) -> None:
    wrong = broker.password + "-wrong"
    run = run_check(
        "amqp", **login(broker, password={"file": write_password_file(tmp_path, wrong)})
    )
    assert run.code == 2, run.out
    assert f"login as {broker.user} rejected: ACCESS_REFUSED" in run.line
    assert_no_secret(run, wrong)
    assert_no_secret(run, broker.password)


def test_vhost_without_permission_is_critical(broker: Broker) -> None:
    run = run_check("amqp", **login(broker, vhost="/"))
    assert run.code == 2, run.out
    assert f"vhost / refused to {broker.user}: NOT_ALLOWED" in run.line


def test_unknown_vhost_is_critical(broker: Broker) -> None:
    run = run_check("amqp", **login(broker, vhost="mdd_no_such_vhost"))
    assert run.code == 2, run.out
    assert "vhost mdd_no_such_vhost refused" in run.line and "not found" in run.line


@pytest.mark.parametrize(("crit", "code", "text"), [("5s", 1, "warning"), ("200ms", 2, "critical")])
def test_slow_broker_crosses_thresholds(broker: Broker, crit: str, code: int, text: str) -> None:
    with forwarding(broker.port, delay=0.5) as port:
        run = run_check("amqp", **login(broker, port=port, warn="100ms", crit=crit))
    assert run.code == code, run.out
    assert f"({text} above" in run.line


@pytest.fixture(scope="module")
def tls_context(ca: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)  # not 127.0.0.1: a name mismatch
    return context


def test_tls_with_ca_file_is_ok(broker: Broker, tls_context: ssl.SSLContext, ca_file: str) -> None:
    with forwarding(broker.port, tls=tls_context) as port:
        run = run_check(
            "amqp",
            **login(
                broker, host="localhost", port=port, tls=True, ca_file=ca_file, queue=broker.queue
            ),
        )
    assert run.code == 0, run.out
    assert f"localhost:{port}: logged in to vhost {broker.vhost} as {broker.user} over TLS" in (
        run.line
    )


def test_tls_untrusted_certificate_is_critical(broker: Broker, tls_context: ssl.SSLContext) -> None:
    with forwarding(broker.port, tls=tls_context) as port:
        run = run_check("amqp", **login(broker, host="localhost", port=port, tls=True))
    assert run.code == 2, run.out
    assert "TLS certificate not trusted" in run.line


def test_tls_certificate_for_another_name_is_critical(
    broker: Broker, tls_context: ssl.SSLContext, ca_file: str
) -> None:
    with forwarding(broker.port, tls=tls_context) as port:
        run = run_check("amqp", **login(broker, port=port, tls=True, ca_file=ca_file))
    assert run.code == 2, run.out
    assert "TLS certificate not trusted: IP address mismatch" in run.line


def test_tls_to_a_plain_broker_is_critical(broker: Broker) -> None:
    run = run_check("amqp", **login(broker, tls=True, timeout="2s"))
    assert run.code == 2, run.out
    assert "TLS handshake" in run.line


def test_refused_port_is_critical(closed_port: int) -> None:
    run = run_check("amqp", host=HOST, port=closed_port)
    assert run.code == 2, run.out
    assert f"{HOST}:{closed_port} refused the connection" in run.line


def test_unreadable_password_file_is_unknown(tmp_path: Path) -> None:
    run = run_check("amqp", host=HOST, user="u", password={"file": str(tmp_path / "absent")})
    assert run.code == 3, run.out
    assert "cannot read the password from" in run.line


def test_bad_option_is_unknown() -> None:
    run = run_argv("check-mdd-amqp", "--host", HOST, "--port", "amqp")
    assert run.code == 3, run.out
    assert "bad arguments" in run.line


def test_command_from_a_manifest_parses_back() -> None:
    manifest = {
        "host": "mq.ams1.example.net",
        "port": 5671,
        "vhost": "/platform",
        "user": "platform",
        "password": {"env": "MDD_MQ_PW"},
        "tls": True,
        "ca_file": "/etc/ssl/mq-ca.pem",
        "queue": "deployments",
        "exchange": "events",
        "timeout": "4s",
        "warn": "1s",
        "crit": "3s",
    }
    values = load_values("amqp", **manifest)
    assert check_amqp.validate(values) == []
    parsed = parse_back("amqp", generated_command("amqp", values))
    for name, value in values.items():
        assert getattr(parsed, name) == value, name


def test_validate_rules() -> None:
    values = load_values("amqp", host="h", user="platform", ca_file="/ca.pem")
    problems = dict(check_amqp.validate(values))
    assert problems["user"] == "a user needs a password to log in with"
    assert problems["ca_file"] == "ca_file is used only with tls: true"
