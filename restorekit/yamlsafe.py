"""YAML read safely: no anchors or aliases (a few lines can otherwise expand to gigabytes)."""

from __future__ import annotations

import yaml

from restorekit.errors import InputError


class _NoAliases(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(text: str, *, what: str) -> object:
    """Parse ``text`` as YAML without aliases.

    Raises
    ------
    InputError
        Naming ``what`` and the reason, in one line.
    """
    try:
        return yaml.load(text, Loader=_NoAliases)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise InputError(f"{what} is not valid YAML ({' '.join(str(exc).split())})") from None
