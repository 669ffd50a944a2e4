"""Hub groups that follow hub.toml both ways: JupyterHub's ``load_groups`` only ever adds members.

A TA taken out of hub.toml would otherwise stay in ``tas-<course>`` in the hub's database, and the exchange and the
grader, which read roles from the hub, would still let them collect and grade. So, before the hub starts (its
config runs this), every course group and hub-wide role group loses the members hub.toml no longer lists; a course
removed from hub.toml leaves its groups empty. Groups of any other name (made by an admin) are left alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from d2lgrade.hub.identity import COURSE_ID, GROUP_PREFIXES


def managed(group: str) -> bool:
    """A group hub.toml decides: ``students``/``tas``/``instructors``, alone or with ``-<course>``."""
    prefix, dash, course = group.partition("-")
    return prefix in GROUP_PREFIXES and (not dash or bool(COURSE_ID.match(course)))


def prune_groups(db: Path, groups: dict[str, dict[str, list[str]]]) -> list[tuple[str, str]]:
    """Remove from the hub's database (before the hub opens it) each (group, user) that ``groups`` (the
    ``load_groups`` of hub.toml) does not list; the pairs removed. A hub that never ran has nothing to prune."""
    if not db.exists():
        return []
    connection = sqlite3.connect(db)
    try:
        with connection:  # one transaction
            rows = connection.execute("SELECT g.id, g.name, u.id, u.name FROM user_group_map AS m JOIN groups AS g "
                                      "ON g.id = m.group_id JOIN users AS u ON u.id = m.user_id").fetchall()
            stale = [(gid, group, uid, user) for gid, group, uid, user in rows
                     if managed(group) and user not in groups.get(group, {}).get("users", [])]
            connection.executemany("DELETE FROM user_group_map WHERE group_id = ? AND user_id = ?",
                                   [(gid, uid) for gid, _, uid, _ in stale])
    finally:
        connection.close()
    return [(group, user) for _, group, _, user in stale]
