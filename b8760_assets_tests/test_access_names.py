"""Names that become landing prefixes, service accounts and IAM literals: safe ones only."""

import pytest

from b8760_assets.access.names import (
    UnsafeName,
    account_email,
    account_id,
    check_connector_name,
    landing_condition,
    overlapping,
    participant_account_email,
    participant_account_id,
    participant_member,
)
from b8760_assets.config import load_platform
from b8760_assets.settings import SAMPLE_PLATFORM_DIR

SAMPLE_CONNECTORS = list(load_platform(SAMPLE_PLATFORM_DIR).connectors)


def test_the_condition_is_the_seed_s_with_its_trailing_slash() -> None:
    condition = landing_condition("ext_conn1", "landing_zone")
    assert condition.expression == (
        'resource.name.startsWith("projects/_/buckets/landing_zone/objects/ext_conn1/")'
    )
    assert condition.title == "landing folder ext_conn1/"


def test_a_connector_s_account_is_derived_from_its_name() -> None:
    assert account_id("ext_conn1") == "b8760-ext-conn1"
    assert account_email("ext_conn1", "benchmark8760") == (
        "b8760-ext-conn1@benchmark8760.iam.gserviceaccount.com"
    )
    assert participant_member("participant_1", "example.org") == (
        "group:b8760-participant-1@example.org"
    )


@pytest.mark.parametrize(
    "name",
    [
        "ext/conn",  # a slash would put the folder inside another one
        'ext"conn',  # a quote would end the CEL string literal
        "ext'conn",
        "ext\\conn",  # a backslash would escape inside the literal
        "ext*",  # a wildcard means nothing to startsWith, and everything to a reader
        "ext conn",
        "Ext_conn",
        "",
        "1ext",
        "ext-conn",  # hyphens are the account id's separator; names use '_'
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeName, match="is not a connector name"):
        check_connector_name(name, SAMPLE_CONNECTORS)


def test_a_participant_s_download_account_is_derived_from_its_name() -> None:
    assert participant_account_id("participant_1") == "b8760dl-participant-1"
    assert participant_account_email("participant_1", "benchmark8760") == (
        "b8760dl-participant-1@benchmark8760.iam.gserviceaccount.com"
    )


@pytest.mark.parametrize("connector", ["participant_1", "dl_participant_1", "b8760dl"])
def test_no_connector_takes_a_participant_s_account(connector: str) -> None:
    """Connector ids are `b8760-` and the name, whatever the name; participant ids are not."""
    assert account_id(connector) != participant_account_id("participant_1")
    assert not participant_account_id(connector).startswith("b8760-")


def test_a_participant_name_too_long_for_an_account_is_refused() -> None:
    participant_account_id("p" * 22)
    with pytest.raises(UnsafeName, match="participant 'p.*' gives .* at most 22 characters"):
        participant_account_id("p" * 23)


def test_names_that_make_no_valid_service_account_are_refused() -> None:
    check_connector_name("a" * 24)
    with pytest.raises(UnsafeName, match="at most 24 characters"):
        check_connector_name("a" * 25)
    with pytest.raises(UnsafeName, match="does not end in '_'"):
        check_connector_name("ext_")


def test_names_sharing_a_prefix_without_slash_are_fine() -> None:
    """ext_conn1/ is not a prefix of ext_conn10/: the trailing slash separates them, so
    `ext` and `ext_conn` may join a platform that has ext_conn1 and ext_conn10."""
    for name in ("ext", "ext_conn", "ext_conn100", "ext_conn1"):
        check_connector_name(name, SAMPLE_CONNECTORS)


def test_a_folder_inside_another_connector_s_folder_is_found() -> None:
    """Only a name with a '/' can sit inside another's folder; the name rule refuses those
    first, and overlapping states the invariant should that rule ever change."""
    assert overlapping("ext_conn1/x", SAMPLE_CONNECTORS) == "ext_conn1"
    assert overlapping("ext_conn1", ["ext_conn1/x"]) == "ext_conn1/x"
    assert overlapping("ext_conn1", ["ext_conn10", "ext_conn1"]) is None


def test_the_landing_bucket_must_be_safe_in_a_condition() -> None:
    with pytest.raises(UnsafeName, match="not a bucket name"):
        landing_condition("ext_conn1", 'landing"zone')
