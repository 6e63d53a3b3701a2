"""Whether the files that hold secrets are private: the rule both faces warn with.

The config may hold the OAuth application's `client_secret` and each repository's
`webhook_secret`; the data dir holds the tokens (`tokens.json`) and the webhook journal. pac-tui
writes its own files 0600 in a 0700 directory, but a config written by hand, an editor, a copy or
a umask can leave them open. Anyone who can read the config can act as the OAuth application and
forge webhooks; anyone who can write in the data dir can swap the tokens or the journal.

So: a config holding a secret must not be readable by group or others; the data dir and every
file in it must belong to the user and be writable by nobody else, and the files readable by
nobody else. Each file that breaks the rule gives one warning naming the file and the command
that fixes it. Nothing is checked on Windows, where modes do not say who may read a file.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from pac_tui.core.config.model import Config

_GROUP_OTHERS_READ = stat.S_IRGRP | stat.S_IROTH
_GROUP_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def permission_warnings(config: Config, data_dir: Path, *, uid: int | None = None) -> list[str]:
    """One warning per file that breaks the rule (the config, the data dir, the files in it),
    each with the exact command that fixes it; [] when all is well or on Windows.

    `uid` is the user the files must belong to (default: this process's).
    """
    if sys.platform == "win32":
        return []
    uid = os.getuid() if uid is None else uid
    warnings = []
    if config.path is not None:
        warnings += _config_warning(config, config.path)
    warnings += _data_dir_warnings(data_dir, uid)
    return warnings


def _config_warning(config: Config, path: Path) -> list[str]:
    held = secrets_held(config)
    mode = _mode(path)
    if not held or mode is None or not mode & _GROUP_OTHERS_READ:
        return []
    return [
        f"{path} holds {' and '.join(held)} and is readable by {_who(mode, stat.S_IRGRP)} "
        f"(mode {mode:04o}); fix: chmod 600 {shlex.quote(str(path))}"
    ]


def secrets_held(config: Config) -> list[str]:
    """The config keys that hold a secret in this config: `client_secret`, `webhook_secret`,
    `webhook_signing_token`."""
    held = []
    if any(app.client_secret for app in config.gitlab.values()):
        held.append("client_secret")
    if any(repo.webhook_secret for repo in config.repositories):
        held.append("webhook_secret")
    if any(repo.webhook_signing_token for repo in config.repositories):
        held.append("webhook_signing_token")
    return held


def _data_dir_warnings(data_dir: Path, uid: int) -> list[str]:
    try:
        info = data_dir.stat()
    except OSError:
        return []  # not made yet: pac-tui makes it 0700
    warnings = []
    if stat.S_ISDIR(info.st_mode):
        warning = _private(data_dir, info, uid, _GROUP_OTHERS_WRITE, "700", "the data dir ")
        if warning:
            warnings.append(warning)
        try:
            entries = sorted(data_dir.iterdir())
        except OSError:
            entries = []
        for entry in entries:
            try:
                entry_info = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(entry_info.st_mode):
                bits = _GROUP_OTHERS_READ | _GROUP_OTHERS_WRITE
                warning = _private(entry, entry_info, uid, bits, "600", "")
                if warning:
                    warnings.append(warning)
    return warnings


def _private(path: Path, info: os.stat_result, uid: int, bits: int, fix: str, what: str) -> str:
    """The warning for `path` if it does not belong to `uid` or has any of `bits`, else ""."""
    mode = stat.S_IMODE(info.st_mode)
    quoted = shlex.quote(str(path))
    problems, fixes = [], []
    if info.st_uid != uid:
        problems.append(f"belongs to another user (uid {info.st_uid})")
        fixes.append(f"sudo chown {shlex.quote(_user_name(uid))} {quoted}")
    if mode & bits:
        open_to = []
        if mode & _GROUP_OTHERS_READ & bits:
            open_to.append(f"readable by {_who(mode, stat.S_IRGRP)}")
        if mode & _GROUP_OTHERS_WRITE & bits:
            open_to.append(f"writable by {_who(mode, stat.S_IWGRP)}")
        problems.append(f"is {' and '.join(open_to)} (mode {mode:04o})")
        fixes.append(f"chmod {fix} {quoted}")
    if not problems:
        return ""
    return f"{what}{path} {' and '.join(problems)}; fix: {' && '.join(fixes)}"


def _who(mode: int, group_bit: int) -> str:
    """'group', 'others' or 'group and others', for the read (or write) bit `group_bit`."""
    other_bit = group_bit >> 3  # S_IRGRP → S_IROTH, S_IWGRP → S_IWOTH
    who = [name for name, bit in (("group", group_bit), ("others", other_bit)) if mode & bit]
    return " and ".join(who)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _user_name(uid: int) -> str:
    import pwd  # not on Windows, which is never checked

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
