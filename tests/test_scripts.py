"""Reading delivered scripts: the parser's view of the fix calls."""

import ast

import pytest

from restorekit.sources.scripts import parse_script


@pytest.mark.parametrize(
    "source",
    [
        "fixsyscaltimes(vis = 'a.ms')# SACM/JAO - Fixes\n",
        "try:\n    fixplanets(vis='é.ms',\n        field='2', fixuvw=T)  # SACM/JAO - Fixes\n"
        "finally:\n    pass\n",
        "if x:\r\n    fixsyscaltimes(vis='b.ms')\r\nelse:\r\n    fixsyscaltimes('c.ms')\r\n",
        "def f():\n    with open('x'):\n        fixsyscaltimes(vis=['α', 'β'])\n",
    ],
)
def test_fix_source_is_the_parsers_segment(source):
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    expected = sorted(
        " ".join(ast.get_source_segment(source, c).split())
        for c in calls
        if getattr(c.func, "id", "").startswith("fix")
    )
    parsed = parse_script(source)
    assert sorted(f.text for f in parsed.fixes) == expected and expected
