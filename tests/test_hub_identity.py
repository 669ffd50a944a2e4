"""Roles in a course come from hub groups, asked of the hub with the service's own token."""

from __future__ import annotations

import asyncio

import pytest

from d2lgrade.hub.identity import HubIdentity, Identity, Role, group_name, lab_role
from tests import fake_hub


@pytest.fixture(scope="module")
def hub():
    return fake_hub.start(fake_hub.FakeHub("exchange", groups={
        "alice": {"students-d2l"}, "tina": {"tas-d2l", "students-other"}, "ivan": {"instructors-d2l", "instructors"},
    }))


@pytest.fixture()
def identity(hub, monkeypatch):
    for key, value in hub.env().items():
        monkeypatch.setenv(key, value)
    return HubIdentity()


def test_a_course_role_is_the_highest_group_of_that_course():
    tina = Identity("tina", "user", frozenset({"tas-d2l", "students-d2l", "students-other"}))
    assert tina.role_in("d2l") == Role.TA and tina.role_in("other") == Role.STUDENT and tina.role_in("x") == Role.NONE
    assert tina.courses() == {"d2l": Role.TA, "other": Role.STUDENT}
    assert group_name(Role.INSTRUCTOR, "d2l") == "instructors-d2l"


def test_a_service_has_no_role_whatever_its_name():
    assert Identity("instructors-d2l", "service", frozenset({"instructors-d2l"})).role_in("d2l") == Role.NONE


def test_the_lab_set_up_follows_the_hub_wide_groups():
    assert lab_role({"instructors"}) == "instructor" and lab_role({"tas-d2l"}) == "ta"
    assert lab_role({"students-d2l"}) == lab_role(set()) == "student"


def test_the_hub_names_the_owner_and_the_groups(hub, identity):
    found = asyncio.run(identity.identify(hub.token("tina")))
    assert found == Identity("tina", "user", frozenset({"tas-d2l", "students-other"}))


def test_unknown_tokens_and_tokens_without_access_to_the_service_are_nobody(hub, identity):
    assert asyncio.run(identity.identify("")) is None
    assert asyncio.run(identity.identify("not-a-token")) is None
    narrow = hub.token("ivan", scopes=["users:activity!user=ivan"])
    assert asyncio.run(identity.identify(narrow)) is None
