"""Can a resident submit at all? An exact test that some plan within every line's limits and
steps meets the balance rule, with the numbers when none does.

The method. A line that is not locked takes the values `amount + k * step` for whole k between
its min and max (and not below 0 unless it is an offset), so it moves the balance (revenue minus
spending; a fixed envelope has no revenue lines and keeps the city's spending as its revenue)
by `c * step` for c in a range of whole numbers [lo, hi]. Writing c = lo + d, with d in [0, n]
and n = hi - lo, the balance is `lowest + T` where `lowest` is the balance with every line at
its worst end and T = sum(d_i * step_i) is a bounded subset sum. The rule asks for the balance
in a window [-tolerance, tolerance] ("balanced") or [-tolerance, +inf) (the other rules), i.e.
T in [A, B]. Lines with the same step are merged first (their counts add). Then, repeatedly:

1. Range: T lies in [0, M], M = sum(n_i * step_i); clip the window to it. Empty: unreachable.
2. Grid: every T is a multiple of g = gcd(steps); round A up and B down to multiples of g.
   Empty: unreachable (the balance moves in multiples of g and none lands in the window).
3. Widening: for a line with step s <= (B - A) + g, every t of the other lines' sums in
   [A - n*s, B] reaches the window with some k in [0, n] (k = ceil((A - t) / s): t + k*s is
   below A + s and on the grid, so at most A + s - g <= B), and conversely. So the line is
   removed and the window becomes [A - n*s, B]: an equivalence, not an estimate.

When no line can be removed (every remaining step is wider than the window), a bitset over
the window's multiples of g decides the remaining bounded subset sum exactly (counts split in
powers of two; the mirror T <-> M - T keeps the bitset on the shorter side). It is capped at
DP_MAX_BITS; beyond it the answer is "undecided", reported as such, never guessed. A witness
plan (the nearest the rule allows, moving as few steps as the method finds) comes out of the
same steps in reverse, for the demo generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from budget_sim.model.budget import BalanceRule, Budget
from budget_sim.money import format_money

DP_MAX_BITS = 1 << 27  # 128 Mbit (16 MB) per layer: the exact fallback's bound
COMPLETE_MAX_BITS = 1 << 20  # completing one demo plan stays within milliseconds
MIXED_LINES = 16  # lines a plan completion may move both ways (demo plans)
WITNESS_MAX_BITS = 1 << 28  # total bits kept to rebuild a plan from the fallback


@dataclass(frozen=True)
class _Line:
    id: str
    name: str
    sign: int  # +1 revenue, -1 spending: how raising the line moves the balance
    step: int
    k_low: int  # whole steps from the amount: lowest and highest allowed
    k_high: int
    k_now: int  # where the plan being completed stands


@dataclass(frozen=True)
class Reach:
    """Whether a plan within the rules exists, and the figures behind the answer (cents)."""

    reachable: bool | None  # None: undecided (the exact fallback exceeded its bound)
    reason: str  # "", "range", "grid", "combination" or "undecided"
    start: int  # the balance of the plan examined (the city's figures by default)
    low: int  # lowest and highest balance any plan reaches
    high: int
    window: tuple[int, int | None]  # what the rule allows; None: no upper bound
    grid: int  # gcd of the adjustable lines' steps (0: no adjustable line)
    nearest: tuple[int | None, int | None] = (None, None)  # grid balances either side
    limiting: tuple[str, ...] = ()  # lines at the limit that would have to move further
    locked_total: int = 0  # how much of the balance locked lines hold, cents (signed)

    def message(self, symbol: str = "$") -> str:
        """The answer in plain words with its numbers; "" when reachable."""
        if self.reachable:
            return ""

        def m(cents: int) -> str:
            if cents % 100 == 0:
                return format_money(cents, symbol)
            sign = "-" if cents < 0 else ""
            return f"{sign}{symbol}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"

        low, high = self.window
        wanted = (
            f"revenue minus spending between {m(low)} and {m(high)}"
            if high is not None
            else f"revenue minus spending of at least {m(low)}"
        )
        head = (
            f"no resident can submit: the rule (rules.balance, rules.tolerance) needs {wanted}, "
            f"and the city's figures stand at {m(self.start)}"
        )
        if self.reason == "range":
            side = "highest" if self.high < low else "lowest"
            reach = self.high if self.high < low else self.low
            text = (
                f"{head}; with every line at its limit the {side} a plan reaches is {m(reach)} "
                f"(achievable range {m(self.low)} to {m(self.high)})"
            )
            if self.limiting:
                text += f"; the lines that move it most: {'; '.join(self.limiting)}"
            if self.locked_total:
                text += f"; locked lines hold {m(abs(self.locked_total))}"
            return (
                text + ". Widen min/max (or rules.min_change_percent, max_change_percent), "
                "unlock lines, or raise rules.tolerance."
            )
        if self.reason == "grid":
            near = [v for v in self.nearest if v is not None]
            needed = min(abs(v) for v in near)
            return (
                f"{head}; every change moves it in multiples of {m(self.grid)} (the greatest "
                f"common divisor of the lines' steps), so the nearest a plan gets is "
                f"{' or '.join(m(v) for v in near)}, outside the rule. Set rules.tolerance to "
                f"at least {m(needed)}, or give a line a smaller step."
            )
        if self.reason == "undecided":
            return (
                f"{head}; the steps are too many and too uneven to prove that some combination "
                f"of whole steps lands within the rule (achievable range {m(self.low)} to "
                f"{m(self.high)}, steps in multiples of {m(self.grid)}). Raise rules.tolerance "
                "to at least half the smallest step and check again."
            )
        return (
            f"{head}; the achievable range is {m(self.low)} to {m(self.high)}, but no "
            f"combination of whole steps (all multiples of {m(self.grid)}) lands within the "
            "rule. Raise rules.tolerance or give a line a smaller step."
        )


def _lines(budget: Budget, plan: dict[str, int] | None) -> tuple[list[_Line], int, int]:
    """Adjustable lines, the balance of `plan` (default: the city's figures), locked total."""
    frame = budget.lines
    fixed_envelope = not (frame["kind"] == "revenue").any()
    balance = locked_total = 0
    lines = []
    columns = ("id", "department", "program", "kind", "amount", "min", "max", "step")
    for row in frame.select(*columns, "locked", "offset").iter_rows(named=True):
        sign = 1 if row["kind"] == "revenue" else -1
        amount = row["amount"]
        value = amount if plan is None else plan.get(row["id"], amount)
        balance += sign * value + (amount if fixed_envelope else 0)
        step = row["step"]
        if row["locked"] or row["min"] >= row["max"] or not step:
            locked_total += sign * amount if row["locked"] else 0
            continue
        k_low, k_high = (row["min"] - amount) // step, (row["max"] - amount) // step
        if not row["offset"] and amount + k_low * step < 0:
            k_low = -(amount // step)
        k_now = (value - amount) // step
        name = f"{row['department']}: {row['program']}"
        lines.append(_Line(row["id"], name, sign, step, k_low, k_high, k_now))
    return lines, balance, locked_total


def _window(budget: Budget) -> tuple[int, int | None]:
    tolerance = budget.rules.tolerance
    upper = tolerance if budget.rules.balance is BalanceRule.BALANCED else None
    return -tolerance, upper


def reachability(budget: Budget) -> Reach:
    """Whether some plan within every line's limits and steps meets the balance rule, starting
    from the city's figures (see the module's docstring for the method)."""
    lines, start, locked_total = _lines(budget, None)
    window = _window(budget)
    lows = [_low(line) for line in lines]
    counts = [ln.k_high - ln.k_low for ln in lines]
    lowest = start + sum(c * ln.step for c, ln in zip(lows, lines, strict=True))
    highest = lowest + sum(n * ln.step for n, ln in zip(counts, lines, strict=True))
    grid = 0
    for line in lines:
        grid = gcd(grid, line.step)
    figures = {
        "start": start,
        "low": lowest,
        "high": highest,
        "window": window,
        "grid": grid,
        "locked_total": locked_total,
    }
    low_ok, high_ok = window
    if low_ok <= start and (high_ok is None or start <= high_ok):
        return Reach(True, "", **figures)
    if highest < low_ok or (high_ok is not None and lowest > high_ok):
        raising = highest < low_ok
        reach = sorted(lines, key=lambda ln: -(ln.k_high - ln.k_low) * ln.step)[:3]
        names = tuple(
            f"{ln.name} ({'raised to its max' if (ln.sign > 0) == raising else 'cut to its min'})"
            for ln in reach
        )
        return Reach(False, "range", limiting=names, **figures)
    if grid and _grid_empty(start, grid, window):
        below = start + ((low_ok - start) // grid) * grid
        if below >= low_ok:
            below -= grid
        above = below + grid
        while high_ok is not None and above <= high_ok:
            above += grid
        return Reach(False, "grid", nearest=(below, above), **figures)
    upper = None if high_ok is None else high_ok - lowest
    found = _solve([ln.step for ln in lines], counts, low_ok - lowest, upper)
    if found is None:  # the fallback's bound: a plan found the other way still proves it
        found = complete(budget, {}) is not None or None
    if found is None:
        return Reach(None, "undecided", **figures)
    return Reach(found is not False, "" if found is not False else "combination", **figures)


def complete(budget: Budget, plan: dict[str, int]) -> dict[str, int] | None:
    """`plan` (on every line's grid, within its limits) moved just enough to meet the balance
    rule, or None when none was found. Moves lines only in the helpful direction first (exact
    for such moves), then a few steps either way on the lines with the finest steps (bounded,
    to stay fast: `reachability` is the exact test of whether any plan exists)."""
    lines, start, _ = _lines(budget, plan)
    low_ok, high_ok = _window(budget)
    if low_ok <= start and (high_ok is None or start <= high_ok):
        return dict(plan)
    raise_it = start < low_ok  # the balance must go up; else down (mirror the problem)
    direction = 1 if raise_it else -1
    need_low = low_ok - start if raise_it else start - high_ok  # type: ignore[operator]
    need_high = (
        None
        if raise_it and high_ok is None
        else (
            high_ok - start if raise_it else start - low_ok  # type: ignore[operator]
        )
    )
    helpful = [
        (ln.k_high - ln.k_now) if ln.sign == direction else (ln.k_now - ln.k_low) for ln in lines
    ]
    steps = [ln.step for ln in lines]
    found = _solve(steps, helpful, need_low, need_high, COMPLETE_MAX_BITS)
    moves = None
    if isinstance(found, list):
        moves = [direction * d for d in found]
    else:
        moves = _mixed(lines, start, (low_ok, high_ok))
        if moves is None:
            return None
    values = dict(plan)
    amounts = {row.id: row.amount for row in budget.line_rules}
    for line, move in zip(lines, moves, strict=True):  # move: steps in balance direction
        if move:
            values[line.id] = amounts[line.id] + (line.k_now + line.sign * move) * line.step
    return values


def _mixed(lines: list[_Line], start: int, window: tuple[int, int | None]) -> list[int] | None:
    """Moves (whole steps, balance direction) of at most `radius` steps either way on the
    MIXED_LINES lines with the finest steps that bring `start` into `window`, or None."""
    finest = set(sorted(range(len(lines)), key=lambda i: lines[i].step)[:MIXED_LINES])
    for radius in (2, 8):
        lows, counts = [], []
        for index, line in enumerate(lines):
            low = max(_low(line), -radius) if index in finest else 0
            high = min(_low(line) + line.k_high - line.k_low, radius) if index in finest else 0
            lows.append(low)
            counts.append(high - low)
        lowest = start + sum(c * ln.step for c, ln in zip(lows, lines, strict=True))
        upper = None if window[1] is None else window[1] - lowest
        steps = [ln.step for ln in lines]
        found = _solve(steps, counts, window[0] - lowest, upper, COMPLETE_MAX_BITS)
        if isinstance(found, list):
            return [c + d for c, d in zip(lows, found, strict=True)]
    return None


def _low(line: _Line) -> int:
    """Steps (in balance direction) from where the line stands to its balance-lowering end."""
    return line.sign * ((line.k_low if line.sign > 0 else line.k_high) - line.k_now)


def _grid_empty(start: int, grid: int, window: tuple[int, int | None]) -> bool:
    low, high = window
    first = start + -((start - low) // grid) * grid  # smallest start + j*grid >= low
    return high is not None and first > high


def _solve(
    steps: list[int], counts: list[int], low: int, high: int | None, max_bits: int = DP_MAX_BITS
) -> list[int] | bool | None:
    """Whole d_i in [0, counts_i] with sum(d_i * steps_i) in [low, high] (high None: no bound),
    small sums first: the list; True when one exists but is too large to rebuild; False when
    none exists; None when undecided."""
    by_step: dict[int, list[int]] = {}
    for index, step in enumerate(steps):
        if counts[index] > 0:
            by_step.setdefault(step, []).append(index)
    items = {step: sum(counts[i] for i in members) for step, members in by_step.items()}
    total = sum(step * n for step, n in items.items())
    high = total if high is None else min(high, total)
    low = max(low, 0)
    removed: list[tuple[int, int]] = []  # (step, window low when it was removed)
    while low <= high and items:
        grid = 0
        for step in items:
            grid = gcd(grid, step)
        low, high = -(-low // grid) * grid, (high // grid) * grid
        fits = [step for step in items if step <= high - low + grid]
        if low > high or not fits:
            break
        step = max(fits)
        removed.append((step, low))
        count = items.pop(step)
        total -= step * count
        low, high = max(low - step * count, 0), min(high, total)
    if low > high:
        return False
    chosen: dict[int, int] = {}
    if items:
        found = _bitset(items, low, high, max_bits)
        if not isinstance(found, dict):
            return found
        chosen = found
    elif low > 0:
        return False
    t = sum(step * d for step, d in chosen.items())
    for step, w_low in reversed(removed):
        k = max(0, -(-(w_low - t) // step))
        chosen[step] = k
        t += k * step
    result = [0] * len(steps)
    for step, members in by_step.items():
        left = chosen.get(step, 0)
        for index in members:
            result[index] = min(left, counts[index])
            left -= result[index]
    return result


def _bitset(
    items: dict[int, int], low: int, high: int, max_bits: int
) -> dict[int, int] | bool | None:
    """Exact bounded subset sum over multiples of the gcd: bit t of an int is "t * grid is a
    sum". Mirrored (T -> total - T) when that keeps the bitset shorter."""
    grid = 0
    for step in items:
        grid = gcd(grid, step)
    total = sum(step * n for step, n in items.items())
    mirrored = total - low < high
    if mirrored:
        low, high = total - high, total - low
    size = high // grid + 1
    if size > max_bits:
        return None
    mask = (1 << size) - 1
    pieces = []  # (step, how many of it) in powers of two
    for step, n in sorted(items.items()):
        part = 1
        while n > 0:
            take = min(part, n)
            pieces.append((step, take))
            n -= take
            part *= 2
    keep = size * len(pieces) <= WITNESS_MAX_BITS
    bits, layers = 1, []
    for step, take in pieces:
        if keep:
            layers.append(bits)
        bits |= (bits << (step * take // grid)) & mask
    window = bits >> (low // grid)
    if not window:
        return False
    if not keep:
        return True  # reachable, but too large to rebuild a plan
    t = low // grid + ((window & -window).bit_length() - 1)
    chosen: dict[int, int] = {}
    for (step, take), before in zip(reversed(pieces), reversed(layers), strict=True):
        if not (before >> t) & 1:
            t -= step * take // grid
            chosen[step] = chosen.get(step, 0) + take
    if mirrored:
        chosen = {step: n - chosen.get(step, 0) for step, n in items.items()}
    return chosen
