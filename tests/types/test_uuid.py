"""stringToUuid / createUniqueUuid must give the ids TypeScript ElizaOS gives, byte for byte.

The expected values below were measured, not derived: `npm i @elizaos/core@1.7.2` into a scratch directory,
then a Node ESM script ran `stringToUuid(input)` and `createUniqueUuid({agentId}, input)` from that package on
each input and printed the results, which are pasted here unchanged.
"""

from __future__ import annotations

import pytest

from elizapy.types.uuid import create_unique_uuid, is_uuid, string_to_uuid

ELIZA_ID = "b850bc30-45f8-0041-a00a-83df46d8555d"

# (input, stringToUuid(input)) as printed by @elizaos/core 1.7.2 on Node.
TS_STRING_VECTORS = [
    ("Eliza", ELIZA_ID),
    ("", "da39a3ee-5e6b-0b0d-b255-bfef95601890"),
    ("hello world", "f0355dd5-2823-054c-ae66-a0b12842c215"),
    ("café", "45e5e470-a49b-0045-9408-15b56a06b646"),
    ("日本語のテキスト", "4f1fc8ef-e8cb-0531-9d15-a072e9b8314d"),
    ("🤖 agent", "e9b2c756-928f-040f-b7a5-939c2d632163"),
    # encodeURIComponent leaves these alone; a percent-encoder with a different safe set would not.
    ("-_.!~*'()", "5d7fefa5-2f91-0fb1-b734-f27d1226ba15"),
    # ...and escapes these, which a URI (not component) encoder would keep.
    ("a+b=c&d?e/f#g", "6e068a39-d13f-0efe-b7cb-9e533f70a6b4"),
    ("100%", "c35a02a1-4edf-05e2-a3a6-7491f7e5fda6"),
    ("not-a-uuid-1234", "bee028db-0a4c-0b25-92b2-d8786a56a9e5"),
    ("  leading and trailing  ", "255337b1-e071-0865-a9ef-6a4b7d319e54"),
    ("line\nbreak\ttab", "37eb1637-c760-04e7-af37-d9c01b53a29f"),
    ("\u00f1\u0301 combining", "324b0e9d-ff04-0eeb-afbf-4ff57cfdca6d"),
    # Unicode normalisation matters: the same visible "ñ", precomposed vs decomposed, gives different ids.
    ("\u00f1 precomposed", "872fb6f8-382c-0ccd-a68c-6880d33d9766"),
    ("n\u0303 decomposed", "d78f9f3d-ed78-0333-b2c1-7d85f1e52771"),
    ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "4f5c7442-7288-0b46-a74d-b063f133cfb8"),
]

# Numbers: TS calls toString() first.
TS_NUMBER_VECTORS = [
    (42, "92cfceb3-9d57-0914-ad8b-14d0e37643de"),
    (0, "b6589fc6-ab0d-082c-b120-99d1c2d40ab9"),
    (-7, "565e8bd1-01bd-0025-b6fe-79ba40584a15"),
]

# createUniqueUuid({agentId: stringToUuid("Eliza")}, base) as printed by @elizaos/core 1.7.2.
TS_UNIQUE_VECTORS = [
    ("user-123", "29252887-6363-0554-a128-e116d42ddbf6"),
    ("discord:987654321", "02ac3a72-1dd9-08de-a9f5-6f27e1506b71"),
    ("Eliza", "b28cdf86-a523-085a-9f13-12ed6b0a083a"),
    ("🤖", "27c98b69-e54c-0cd2-bafe-8a0af476baa5"),
]


def test_eliza_reference_id() -> None:
    assert string_to_uuid("Eliza") == ELIZA_ID


@pytest.mark.parametrize(("text", "expected"), TS_STRING_VECTORS)
def test_string_to_uuid_matches_typescript(text: str, expected: str) -> None:
    assert string_to_uuid(text) == expected


@pytest.mark.parametrize(("number", "expected"), TS_NUMBER_VECTORS)
def test_numbers_hash_like_their_decimal_string(number: int, expected: str) -> None:
    assert string_to_uuid(number) == expected
    assert string_to_uuid(str(number)) == expected


@pytest.mark.parametrize("already", [ELIZA_ID, ELIZA_ID.upper()])
def test_a_uuid_is_returned_unchanged_including_case(already: str) -> None:
    # TS returns the validated input as is: upper case stays upper case.
    assert string_to_uuid(already) == already


@pytest.mark.parametrize(("base", "expected"), TS_UNIQUE_VECTORS)
def test_create_unique_uuid_matches_typescript(base: str, expected: str) -> None:
    assert create_unique_uuid(ELIZA_ID, base) == expected


def test_create_unique_uuid_maps_the_agent_to_itself() -> None:
    assert create_unique_uuid(ELIZA_ID, ELIZA_ID) == ELIZA_ID


def test_shape_of_generated_ids() -> None:
    for text, _ in TS_STRING_VECTORS:
        value = string_to_uuid(text)
        assert is_uuid(value)
        assert value[14] == "0"  # version nibble cleared, as in TS
        assert value[19] in "89ab"  # RFC 4122 variant


@pytest.mark.parametrize("bad", [None, True, ["Eliza"], b"Eliza"])
def test_non_string_input_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        string_to_uuid(bad)  # type: ignore[arg-type]
