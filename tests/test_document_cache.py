"""The document cache keeps documents and the readers' readings of them."""

import dataclasses

from restorekit.evidence.gather import _MANIFEST, _SCRIPT
from restorekit.sources.document_cache import DocumentCache
from restorekit.sources.scripts import parse_script

SCRIPT = "hifa_restoredata(vis=['a'], session=['session_1'], ocorr_mode='ca')\n"


def test_a_reading_is_kept_and_served_while_the_reader_is_unchanged(tmp_path):
    cache = DocumentCache(tmp_path)
    script = parse_script(SCRIPT)
    cache.put_parsed("x.py", len(SCRIPT), _SCRIPT, script)
    assert cache.get_parsed("x.py", len(SCRIPT), _SCRIPT) == script and cache.hits == 1
    assert cache.get_parsed("x.py", len(SCRIPT) + 1, _SCRIPT) is None  # another size
    changed = dataclasses.replace(_SCRIPT, modules=("scripts", "manifest"))
    assert changed.key != _SCRIPT.key  # another reader's code: another form
    assert cache.get_parsed("x.py", len(SCRIPT), changed) is None
    assert _MANIFEST.key.startswith("manifest-") and _SCRIPT.key.startswith("script-")


def test_readings_json_cannot_hold_or_that_are_damaged_are_read_again(tmp_path):
    cache = DocumentCache(tmp_path)
    text = "hifa_restoredata(vis=['a'], session=['s'], spw=(1, 2))\n"  # a tuple: JSON has none
    cache.put_parsed("t.py", len(text), _SCRIPT, parse_script(text))
    assert not list(tmp_path.glob("*.json"))
    cache.put_parsed("x.py", len(SCRIPT), _SCRIPT, parse_script(SCRIPT))
    (kept,) = tmp_path.glob("*.json")
    kept.write_text('{"restore": ')
    assert cache.get_parsed("x.py", len(SCRIPT), _SCRIPT) is None
