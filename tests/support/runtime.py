"""Declarations shared by the runtime tests: a small integration with three scenarios."""

from __future__ import annotations

from flowintegrations import (
    DataModel,
    Header,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)

GREET_OUT = "ai.flowx.test.plugin.greet.v1"
GREET_IN = "ai.flowx.test.engine.receive.greet.v1"

GREET = Scenario(
    "Greet",
    "greet",
    topics=(TopicBinding(GREET_OUT, GREET_IN),),
    output_model=DataModel(
        (Property.string("name", mandatory=True), Property.number("times")),
        additional_properties=False,
    ),
    input_model=DataModel((Property.string("greeting", mandatory=True),)),
    headers=(
        Header("processInstanceId", mandatory=True),
        Header("jwt", secret=True, propagate=False),
    ),
)

ANSWER = Scenario(
    "Answer or fail politely",
    "answer",
    topics=(
        TopicBinding("ai.flowx.test.plugin.answer.v1", "ai.flowx.test.engine.receive.answer.v1"),
        TopicBinding(
            "ai.flowx.prod.plugin.answer.v1",
            "ai.flowx.prod.engine.receive.answer.v1",
            environment="prod",
        ),
    ),
    output_model=DataModel((Property.string("question", mandatory=True),)),
    input_model=DataModel((Property.string("answer"), Property.string("error"))),
    error_reply=True,
)

NOTIFY = Scenario(
    "Notify (fire and forget)",
    "notify",
    topics=(TopicBinding("ai.flowx.test.plugin.notify.v1"),),
    output_model=DataModel((Property.string("text", mandatory=True),)),
)

DEMO = Integration("Demo plugin", "demo", scenarios=(GREET, ANSWER, NOTIFY))

HEADERS = {"processInstanceId": "1001", "processInstanceUuid": "uuid-1001"}
