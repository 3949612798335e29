import pytest
from hypothesis import given
from hypothesis import strategies as st

from restorekit.errors import InvalidUidError
from restorekit.uids import is_uid, parse_uid, to_archive_form, to_file_form


def test_both_forms_parse_to_the_same_uid():
    a = parse_uid("uid://A001/X12a3/X80e")
    f = parse_uid("uid___A001_X12a3_X80e")
    assert a == f
    assert a.archive == "uid://A001/X12a3/X80e"
    assert a.file == "uid___A001_X12a3_X80e"
    assert str(f) == "uid://A001/X12a3/X80e"


def test_conversions():
    assert to_file_form("uid://A002/Xcf92df/X3453") == "uid___A002_Xcf92df_X3453"
    assert to_archive_form("uid___A002_Xcf92df_X3453") == "uid://A002/Xcf92df/X3453"
    assert to_file_form("uid___A002_Xcf92df_X3453") == "uid___A002_Xcf92df_X3453"
    assert parse_uid("  uid://A001/X12a3/X80e\n").archive == "uid://A001/X12a3/X80e"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "uid://A001/X12a3",
        "uid://A001/X12a3/X80e/X1",
        "uid://B001/X12a3/X80e",
        "uid://A001/X12g3/X80e",
        "uid://A001/12a3/X80e",
        "uid:/A001/X12a3/X80e",
        "uid__A001_X12a3_X80e",
        "uid://A001/X12a3/X80e' OR '1'='1",
        "uid://A001/X12a3/X" + "0" * 80,
        "2017.1.01347.S",
        None,
        42,
    ],
)
def test_bad_values_raise_a_message_naming_them(bad):
    with pytest.raises(InvalidUidError) as info:
        parse_uid(bad, what="MOUS uid")
    message = str(info.value)
    assert repr(bad)[:40] in message
    assert "MOUS uid" in message and "uid://A001/X12a3/X80e" in message
    assert "\n" not in message
    assert not is_uid(bad)


part = st.from_regex(r"[AX][0-9a-fA-F]{1,8}", fullmatch=True)


@given(part, part, part)
def test_round_trip(a, b, c):
    archive = f"uid://{a}/{b}/{c}"
    assert to_archive_form(to_file_form(archive)) == archive
    assert parse_uid(archive).parts == (a, b, c)


def test_read_uid_file(tmp_path):
    from restorekit.errors import InputError
    from restorekit.uids import read_uid_file

    path = tmp_path / "mous.txt"
    path.write_text("# seed\nuid://A001/X12a3/X80e  # curveball\n\nuid___A001_X1284_X265f\n")
    assert read_uid_file(str(path)) == ["uid://A001/X12a3/X80e", "uid://A001/X1284/X265f"]
    path.write_text("uid://A001/X12a3/X80e\nuid://nope\n")
    with pytest.raises(InputError, match=r"mous.txt, line 2: .*'uid://nope'"):
        read_uid_file(str(path))
    with pytest.raises(InputError, match="cannot read"):
        read_uid_file(str(tmp_path / "missing.txt"))
