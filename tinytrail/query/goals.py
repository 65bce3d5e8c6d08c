"""Which configured goals a goal filter names (by display name, `is` or `contains`)."""

from __future__ import annotations

from tinytrail.query.model import Filter, Goal


def selected_goals(goals: tuple[Goal, ...], node: Filter) -> list[Goal]:
    chosen: list[Goal] = []
    for goal in goals:
        name = goal.display_name if node.case_sensitive else goal.display_name.lower()
        for clause in node.clauses:
            text = str(clause) if node.case_sensitive else str(clause).lower()
            hit = name == text if node.op == "is" else text in name
            if hit and goal not in chosen:
                chosen.append(goal)
    return chosen
