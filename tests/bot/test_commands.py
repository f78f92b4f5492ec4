import pytest

from bot.commands import parse_command


@pytest.mark.parametrize(
    ("text", "name", "arg"),
    [
        ("help", "help", ""),
        ("/start", "help", ""),
        ("/role@opora_bot devops", "role", "devops"),
        ("role QA", "role", "qa"),
        ("lang ru", "lang", "ru"),
        ("new", "new", ""),
        ("человек", "human", ""),
        ("/human", "human", ""),
    ],
)
def test_commands_are_parsed(text, name, arg):
    command = parse_command(text)
    assert command is not None and (command.name, command.arg) == (name, arg)


@pytest.mark.parametrize(
    "text", ["how do I get help with helm hooks?", "roles in rbac", "", "newer versions"]
)
def test_questions_are_not_commands(text):
    assert parse_command(text) is None
